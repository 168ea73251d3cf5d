package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/processor/classify"
	"github.com/oscheck/oscheck/processor/decode"
	"github.com/oscheck/oscheck/topology"
)

// TestMain lets the test binary serve as the baselines' worker, as the bench
// binary does: the harness runs os.Executable() with "worker".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := worker(ctx, os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench worker:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testOptions(t *testing.T, args ...string) options {
	t.Helper()
	o, err := parseOptions(append([]string{"--dir", t.TempDir()}, args...))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// exactThroughput runs the throughput mode and fails unless oscheck's output
// was one right record per window; it returns the report.
func exactThroughput(t *testing.T, o options) *bytes.Buffer {
	t.Helper()
	var out bytes.Buffer
	exact, err := throughput(context.Background(), o, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !exact {
		t.Fatal("oscheck's output was not exactly one right record per window")
	}
	return &out
}

// A small throughput run of every contender: the output of oscheck under
// either guarantee must be one right record per window, and the naive design's many records per window
// must end on the right counts. No figure is asserted: this is a shared,
// noisy machine.
func TestThroughputSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs several processes")
	}
	o := testOptions(t, "--lines", "30000", "--runs", "1", "--span", "20s")
	out := exactThroughput(t, o)
	for _, c := range o.contenders {
		if !regexp.MustCompile(`(?m)^\s+1\s+` + c + `\s+\d+`).Match(out.Bytes()) {
			t.Errorf("no result row for %s", c)
		}
	}
	m := regexp.MustCompile(`no: (\d+) per window, last right in (\d+)/(\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatal("no verdict on the naive design")
	}
	if m[1] == "1" || m[2] != m[3] {
		t.Errorf("naive design: %s records per window, last right in %s of %s windows; want many, and all right", m[1], m[2], m[3])
	}
	for _, c := range []string{"oscheck-alo", "naive", "noop", "noop-tuned"} {
		if !regexp.MustCompile(`(?m)^\s+oscheck/` + c + `\s+\d+\.\d\d$`).Match(out.Bytes()) {
			t.Errorf("no ratio oscheck/%s in the report", c)
		}
	}
}

// A sparse input, a record every two seconds of event time, closes a window
// with nearly every record, and each close reports to every slot. Such a
// flood of reports once deadlocked the parse stage (see
// processor.TestParserEmitsOutsideItsLock) and, coalesced by neither stage,
// cost a window-table write per report: 400 records/s. It must stay exact.
func TestThroughputSparse(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs several processes")
	}
	exactThroughput(t, testOptions(t, "--lines", "10000", "--span", "20000s", "--runs", "1", "--contenders", "oscheck", "--timeout", "60s"))
}

// The flood contender on a small flood: its output must be one right record
// per window of the flood's truth, and the report must compare it with
// oscheck.
func TestThroughputFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs several processes")
	}
	out := exactThroughput(t, testOptions(t, "--lines", "30000", "--span", "20s", "--flood", "20000", "--runs", "1", "--contenders", "oscheck,oscheck-flood"))
	for _, re := range []string{
		`(?m)^flood input: access_log_flood: .* 20000 with distinct os_type values .* 20000 late .*, 70000 records; \d+ results, 20000 late, \d+ counted as other by max-os-types \(16\)$`,
		`(?m)^\s+1\s+oscheck-flood\s+\d+\s.*\syes$`,
		`(?m)^\s+oscheck-flood/oscheck\s+\d+\.\d\d  events/s .*, \d+\.\d\d counting access_log's lines only; peak RSS \d+\.\d MB against \d+\.\d$`,
	} {
		if !regexp.MustCompile(re).Match(out.Bytes()) {
			t.Errorf("nothing in the report matches %s", re)
		}
	}
}

// Both guarantees in one command, as the README compares them.
func TestLatencyShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs several processes")
	}
	o := testOptions(t, "--mode", "latency", "--rate", "5000", "--duration", "10s", "--guarantees", "exactly_once_v2,at_least_once")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out bytes.Buffer
	exact, err := latency(ctx, o, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !exact {
		t.Fatal("os-check was not exactly one right record per window")
	}
	for _, g := range o.guarantees {
		if !regexp.MustCompile(`oscheck ` + string(g) + `,[^\n]*\n[^\n]*read_committed reader, over \d+ records of windows closed by event time:\n\s+p50 \S+\s+p99 \S+\s+max`).Match(out.Bytes()) {
			t.Errorf("no latency distribution for %s in the report", g)
		}
	}
}

// The flood topic's lines, without a broker: the backlog's lines as they
// are, n with distinct sane os_type values at the stream's event time and n
// late ones, each decoding to the time and os_type they are counted under;
// its truth has every normal line counted as access_log's does but for the
// os_type values max-os-types folds into other, and the late lines late.
func TestFloodInput(t *testing.T) {
	const n, lines, partitions = 3000, 12000, 6
	o := testOptions(t, "--lines", strconv.Itoa(lines), "--span", "20s", "--flood", strconv.Itoa(n))
	if !slices.Contains(o.contenders, "oscheck-flood") {
		t.Errorf("--flood without --contenders runs %v, not oscheck-flood", o.contenders)
	}
	e := &env{o: o}
	normal, flood := truth.NewCounter(benchWindow, benchGrace), boundedCounter()
	names := make(map[string]bool)
	dec := decode.NewDecoder("os_type")
	var req decode.Request
	var records, seen [3]int
	var last [partitions]int64 // event time of each partition's last normal line
	fl, err := eachLine(e.backlog(), n, func(p int32, v []byte, ts int64, os string, kind floodKind) error {
		records[kind]++
		flood.Add(p, ts, os)
		if kind == floodNone {
			normal.Add(p, ts, os)
			last[p] = ts
			return nil
		}
		if names[os] || !classify.IsOSType(os) {
			t.Fatalf("os_type %q repeated or not sane", os)
		}
		names[os] = true
		if err := dec.Decode(v, &req); err != nil || req.Time != ts || string(req.OSParam) != os {
			t.Fatalf("flood line %s decodes to time %d, os_type %q (%v); want %d, %q", v, req.Time, req.OSParam, err, ts, os)
		}
		if records[floodNone] < partitions {
			t.Fatalf("a flood line after %d lines, before every partition had one", records[floodNone])
		}
		if d := last[p] - ts; kind == floodDistinct && d > benchGrace.Milliseconds() || kind == floodLate && d < 9*time.Minute.Milliseconds() {
			t.Fatalf("%v line %d ms behind its partition's last line", kind, d)
		}
		seen[kind]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if records != [3]int{lines, n, n} || fl.distinct != n || fl.late != n || seen[floodDistinct] != n || seen[floodLate] != n {
		t.Fatalf("%v lines of each kind (distinct %d, late %d), want %d normal, %d distinct, %d late", records, fl.distinct, fl.late, lines, n, n)
	}
	if normal.Late != 0 || flood.Late != n {
		t.Errorf("late: %d in access_log, %d in the flood; want 0 and %d", normal.Late, flood.Late, n)
	}
	kept := map[string]bool{}
	for _, b := range classify.BucketNames() {
		kept[b] = true
	}
	var total [2]int64
	var others, scans int64
	extras := make(map[int64]int) // window: os types that are not buckets
	for k, c := range flood.Counts {
		total[1] += c
		switch {
		case k.OS == classify.Other:
			others += c - normal.Counts[k]
		case kept[k.OS] && c != normal.Counts[k]:
			t.Errorf("%v: %d, but %d in access_log: the flood changed a bucket's count", k, c, normal.Counts[k])
		case strings.HasPrefix(k.OS, "scan"):
			scans++
			if c != 1 {
				t.Errorf("%v: %d records", k, c)
			}
		}
		if !kept[k.OS] {
			extras[k.Start]++
		}
	}
	for _, c := range normal.Counts {
		total[0] += c
	}
	if total[1] != total[0]+n {
		t.Errorf("the flood's truth counts %d records, access_log's %d: want %d more", total[1], total[0], n)
	}
	if others != int64(flood.Folded) || scans+int64(flood.Folded) < n || flood.Folded == 0 {
		t.Errorf("%d more records of other than in access_log, %d scan results, %d folded", others, scans, flood.Folded)
	}
	windows := int((o.span + benchWindow - 1) / benchWindow)
	if scans > int64(windows*partitions*topology.DefaultConfig().MaxOSTypes) || len(extras) > windows+1 {
		t.Errorf("%d scan results in %d windows", scans, len(extras))
	}
	for w, x := range extras {
		if x > partitions*topology.DefaultConfig().MaxOSTypes {
			t.Errorf("window %d has %d os types besides the buckets, more than max-os-types per partition", w, x)
		}
	}
	t.Logf("%d results (%d in access_log), %d scan results, %d folded", len(flood.Counts), len(normal.Counts), scans, flood.Folded)
}

// Without --flood nothing changes: the contenders, and the flood contender
// needs the flood.
func TestFloodOptions(t *testing.T) {
	o := testOptions(t)
	if slices.Contains(o.contenders, "oscheck-flood") || o.flood != 0 {
		t.Errorf("default contenders %v, flood %d", o.contenders, o.flood)
	}
	if _, err := parseOptions([]string{"--contenders", "oscheck,oscheck-flood"}); err == nil {
		t.Error("oscheck-flood without --flood accepted")
	}
	if o := testOptions(t, "--flood", "10", "--contenders", "oscheck"); !slices.Equal(o.contenders, []string{"oscheck"}) {
		t.Errorf("--flood with --contenders oscheck runs %v", o.contenders)
	}
}
