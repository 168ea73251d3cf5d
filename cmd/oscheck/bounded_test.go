package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/processor/output"
)

// maxStateRecord bounds every record of the topics that hold oscheck's
// state: a window table value must not grow with the windows that wait on a
// lagging input partition, nor a checkpoint with the windows it holds open.
const maxStateRecord = 256 << 10

// windowTable is the window table's changelog topic under the default group.
const windowTable = windowGroup + "-table"

// TestWindowTableValuesBounded: input partition 1 has one line in the first
// window and then nothing, while partition 0 closes 160 windows of 2 s with
// 200 os_type values each (max-os-types 300). Every one of those windows
// waits on partition 1, so their counts wait in the window table: 80 windows
// per slot (2 slots). Once the table holds them all, oscheck is killed
// (SIGKILL) and started again (same group and instance id), so the slots are
// restored from the changelog; then partition 1 moves past every window and
// partition 0 closes its last one. os-check must hold every window with its
// true count (once under exactly_once_v2), and no value in the table's
// changelog may be larger than 256 KiB.
//
// Observed: a slot value holds the counts of every window waiting in it, so
// it grows with the lag: 16,000 (os_type, window) counts made slot values of
// about 400 KB (about 800 KB under at_least_once, whose slots also keep the
// updates of the reports not committed yet). A few times more and a slot is
// over the producer's 1 MB limit and cannot be written at all.
func TestWindowTableValuesBounded(t *testing.T) {
	for _, guarantee := range []string{"exactly_once_v2", "at_least_once"} {
		t.Run(guarantee, func(t *testing.T) { windowTableValuesBounded(t, guarantee) })
	}
}

func windowTableValuesBounded(t *testing.T, guarantee string) {
	const (
		windows = 160 // consecutive windows partition 0 closes
		osTypes = 200 // os_type values per window on partition 0, under max-os-types 300
	)
	window := 2 * time.Second
	brokers := startBroker(t, 2, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC) // a window's start
	want := make(map[truth.Key]int64)
	line := func(p int32, at time.Time, os string, counted bool) *kgo.Record {
		if counted {
			want[truth.Key{OS: os, Start: at.Truncate(window).UnixMilli()}]++
		}
		return &kgo.Record{Topic: "access_log", Partition: p, Value: lineAt(at, os)}
	}
	osName := func(i int) string { return fmt.Sprintf("scanner.os-%09d", i) } // 20 bytes

	// Partition 1: one line in the first window. Partition 0: every window
	// gets each os_type once, half of them at its first second and half at
	// its second; then a line 10 s past the last window closes them all
	// (grace 1 s) and stays open itself.
	recs := []*kgo.Record{line(1, start, "android", true)}
	for w := range windows {
		for i := range osTypes {
			at := start.Add(time.Duration(w)*window + time.Duration(i%2)*time.Second)
			recs = append(recs, line(0, at, osName(i), true))
		}
	}
	closer := start.Add(windows*window + 10*time.Second)
	recs = append(recs, line(0, closer, "android", true))
	produce(t, brokers, recs)

	httpAddr := freeAddr(t)
	p, _ := serviceProcess(t, "oscheck", "--brokers", brokers[0], "--window", window.String(), "--grace", "1s",
		"--idle-timeout", "10m", "--max-os-types", "300", "--processing-guarantee", guarantee,
		"--instance-id", "bounded-0", "--http-addr", httpAddr)

	// The table holds every window of partition 0, not final: the view
	// behind /windows reads it as a restore does (read committed).
	awaitWaitingWindows(t, httpAddr, osName(0), windows, time.Minute)
	// oscheck_state_bytes shows them: each of the windows' os types takes
	// its name's bytes at least.
	held := windows * osTypes * len(osName(0))
	awaitStateBytes(t, httpAddr, held, time.Minute)

	if err := p.Signal(syscall.SIGKILL, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	// Restored from the changelog.
	awaitStateBytes(t, httpAddr, held, time.Minute)

	// Partition 1 gets a line in every later window and then one at end,
	// past them all; partition 0 one at end too, which closes its last
	// window. The window at end stays open: not in the truth.
	end := closer.Add(10 * time.Second)
	recs = nil
	for w := 1; w < windows; w++ {
		recs = append(recs, line(1, start.Add(time.Duration(w)*window), "ios", true))
	}
	recs = append(recs, line(1, end, "android", false), line(0, end, "android", false))
	produce(t, brokers, recs)

	awaitFinals(t, brokers, output.KStreams, window, want, time.Minute)
	// Every report applied, every final and table write committed: the
	// records of the open window at end are the only ones not.
	settle(t, brokers, 1, time.Minute)

	// (a) Every window exact; once under exactly_once_v2, identical repeats
	// allowed under at_least_once.
	finalsMatch(t, readAll(t, brokers, "os-check"), window, want, guarantee == "at_least_once")

	// (b) No table value over the bound.
	isolation := kgo.ReadCommitted()
	if guarantee == "at_least_once" {
		isolation = kgo.ReadUncommitted()
	}
	values := readAll(t, brokers, windowTable, kgo.FetchIsolationLevel(isolation))
	if len(values) == 0 {
		t.Fatalf("%s is empty", windowTable)
	}
	recordsBounded(t, windowTable, values, fmt.Sprintf(
		"a slot value grows with the windows waiting on a lagging input partition (here %d windows of %d os types wait on partition 1)",
		windows, osTypes))
}

// recordsBounded logs the largest of a topic's records and fails if any is
// larger than maxStateRecord; why says what would make them so.
func recordsBounded(t *testing.T, topic string, records []*kgo.Record, why string) {
	t.Helper()
	var largest *kgo.Record
	over := 0
	for _, r := range records {
		if largest == nil || len(r.Value) > len(largest.Value) {
			largest = r
		}
		if len(r.Value) > maxStateRecord {
			over++
		}
	}
	t.Logf("%s: %d records, the largest %d bytes (key %q, partition %d, offset %d)", topic, len(records),
		len(largest.Value), largest.Key, largest.Partition, largest.Offset)
	if over > 0 {
		t.Errorf("%s: %d of its %d records are larger than %d bytes (%d KiB), the largest %d bytes (key %q, "+
			"partition %d, offset %d): %s", topic, over, len(records), maxStateRecord, maxStateRecord>>10,
			len(largest.Value), largest.Key, largest.Partition, largest.Offset, why)
	}
}

// awaitWaitingWindows waits until /windows at httpAddr answers, for os, n
// windows not final yet, each reported by one partition.
func awaitWaitingWindows(t *testing.T, httpAddr, os string, n int, timeout time.Duration) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(timeout); ; time.Sleep(100 * time.Millisecond) {
		waiting, err := waitingWindows(httpAddr, os)
		if err == nil && waiting == n {
			return
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%d windows waiting", waiting)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the window table does not hold the %d windows of %s waiting on partition 1 after %v: %s",
				n, os, timeout, last)
		}
	}
}

// awaitStateBytes waits until oscheck_state_bytes of the window table is at
// least n.
func awaitStateBytes(t *testing.T, httpAddr string, n int, timeout time.Duration) {
	t.Helper()
	var got float64
	for deadline := time.Now().Add(timeout); ; time.Sleep(100 * time.Millisecond) {
		if got = scrapeIfUp(httpAddr, "oscheck_state_bytes", `store="window-table"`); got >= float64(n) {
			t.Logf("oscheck_state_bytes{store=\"window-table\"} %.0f", got)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("oscheck_state_bytes{store=\"window-table\"} is %.0f after %v, want at least %d", got, timeout, n)
		}
	}
}

// scrapeIfUp returns the value of a metric with labels, 0 if the service
// does not answer (yet) or has none.
func scrapeIfUp(httpAddr, name, labels string) float64 {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0
	}
	prefix := name + "{" + labels + "} "
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// waitingWindows returns how many windows of os /windows answers that are not
// final, reported by one partition.
func waitingWindows(httpAddr, os string) (int, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + httpAddr + "/windows?last=10000&os=" + os)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("/windows: %s", resp.Status)
	}
	var answer windowsAnswer
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return 0, fmt.Errorf("/windows: %w", err)
	}
	n := 0
	for _, w := range answer.Windows {
		if !w.Final && w.Reported == 1 {
			n++
		}
	}
	return n, nil
}

// finalsMatch fails the test unless recs, os-check's records in the order
// read, hold every window of want with its count and nothing else; with
// mayRepeat a window may come more than once with the same count.
func finalsMatch(t *testing.T, recs []*kgo.Record, window time.Duration, want map[truth.Key]int64, mayRepeat bool) {
	t.Helper()
	v := truth.Compare(finals(t, recs, window), want)
	if v.OnePerWindow() || (mayRepeat && v.Exact()) {
		if v.DuplicatesIdentical > 0 {
			t.Logf("os-check: %d identical repeats of finals", v.DuplicatesIdentical)
		}
		return
	}
	t.Errorf("os-check (%d records) is not the ground truth (%d windows): %d missing, %d with a wrong count, "+
		"%d unexpected, %d identical and %d conflicting duplicates; problems: %v", len(recs), v.Expected, v.Missing,
		v.WrongCount, v.Unexpected, v.DuplicatesIdentical, v.DuplicatesConflicted, v.Problems)
}
