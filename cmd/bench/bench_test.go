package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"
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
