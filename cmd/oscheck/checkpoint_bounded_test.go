package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/proc"
	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/processor/output"
)

// partialsChangelog is the parse stage's changelog topic under the default
// group.
const partialsChangelog = parseGroup + "-partials-changelog"

// TestParseCheckpointsBounded: under exactly_once_v2, the one input
// partition gets 60 consecutive windows of 2 s with 220 os_type values each
// (max-os-types 300), all within the grace of 10 minutes, so the parse stage
// holds every one of them open and its checkpoint of the partition, written
// in every transaction, holds all their counts. Once the checkpoint of the
// whole input is committed, oscheck is killed (SIGKILL) and started again
// (same group and instance id), so the partition is restored from that
// checkpoint; then a line past every window's end + grace closes them all.
// os-check must hold every window with its true count exactly once, and no
// record of the changelog may be larger than 256 KiB.
//
// Observed: a checkpoint is one JSON value with every open window's counts,
// so it grows with the windows held open: 13,200 (os_type, window) counts of
// 24-byte names made a checkpoint of 386,320 bytes. A few times more and it
// is over the producer's 1 MB limit and cannot be written at all.
func TestParseCheckpointsBounded(t *testing.T) {
	const (
		windows = 60  // consecutive windows held open on the partition
		osTypes = 220 // os_type values per window, under max-os-types 300
	)
	window := 2 * time.Second
	grace := 10 * time.Minute
	brokers := startBroker(t, 1, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC) // a window's start
	want := make(map[truth.Key]int64)
	line := func(at time.Time, os string, counted bool) *kgo.Record {
		if counted {
			want[truth.Key{OS: os, Start: at.Truncate(window).UnixMilli()}]++
		}
		return &kgo.Record{Topic: "access_log", Partition: 0, Value: lineAt(at, os)}
	}
	osName := func(i int) string { return fmt.Sprintf("checkpoint.os-%010d", i) } // 24 bytes

	// Every window gets each os_type once, half of them at its first second
	// and half at its second. The watermark ends 2 minutes past the first
	// window's start: within its grace, so no window closes.
	var recs []*kgo.Record
	for w := range windows {
		for i := range osTypes {
			at := start.Add(time.Duration(w)*window + time.Duration(i%2)*time.Second)
			recs = append(recs, line(at, osName(i), true))
		}
	}
	produce(t, brokers, recs)
	lines := int64(len(recs))

	httpAddr := freeAddr(t)
	p, _ := serviceProcess(t, "oscheck", "--brokers", brokers[0], "--window", window.String(), "--grace",
		grace.String(), "--idle-timeout", "10m", "--max-os-types", "300", "--processing-guarantee", "exactly_once_v2",
		"--instance-id", "checkpoint-0", "--http-addr", httpAddr)

	// The parse stage has committed the whole input, and with it (the same
	// transaction) the checkpoint of every window it holds open.
	awaitCheckpointCommitted(t, brokers, lines, time.Minute)

	if err := p.Signal(syscall.SIGKILL, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}

	// One line past the last window's end + grace closes every window; its
	// own window stays open: not in the truth.
	end := start.Add(windows*window + grace + 10*time.Second)
	produce(t, brokers, []*kgo.Record{line(end, "android", false)})

	awaitFinals(t, brokers, output.KStreams, window, want, time.Minute)
	// Every report applied and every final committed: the record of the open
	// window at end is the only one not.
	settle(t, brokers, 1, time.Minute)

	// (a) Every window exact, once.
	finalsMatch(t, readAll(t, brokers, "os-check"), window, want, false)

	// (b) No checkpoint over the bound.
	values := readAll(t, brokers, partialsChangelog)
	if len(values) == 0 {
		t.Fatalf("%s is empty", partialsChangelog)
	}
	// (c) The last checkpoint, in one record, deleted the pieces of the
	// ones before (compaction would keep them for ever).
	last := make(map[string][]byte)
	for _, r := range values {
		last[string(r.Key)] = r.Value
	}
	for key, v := range last {
		if bytes.Contains([]byte(key), []byte("#")) && v != nil {
			t.Errorf("%s: piece %q is not deleted by the last checkpoint", partialsChangelog, key)
		}
	}
	recordsBounded(t, partialsChangelog, values, fmt.Sprintf(
		"a checkpoint grows with the windows its input partition holds open (here %d windows of %d os types)",
		windows, osTypes))
}

// awaitCheckpointCommitted waits until the parse group has committed input
// partition 0 through its first lines records, and then checks that the
// changelog, read committed, holds a checkpoint of the partition at that
// offset: the offset and the checkpoint commit in one transaction.
func awaitCheckpointCommitted(t *testing.T, brokers []string, lines int64, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var (
		committed map[int32]int64
		last      error
	)
	if err := proc.WaitFor(ctx, timeout, "group "+parseGroup+" to commit access_log to its end", func() bool {
		committed, last = committedOffsets(ctx, adm, parseGroup, "access_log")
		return last == nil && committed[0] >= lines
	}); err != nil {
		t.Fatalf("%v: committed %v, last error: %v; the group: %s", err, committed, last, describeGroup(adm, parseGroup))
	}

	var found *kgo.Record
	pieces := 0
	for _, r := range readAll(t, brokers, partialsChangelog) {
		if bytes.Contains(r.Key, []byte("#")) {
			pieces++ // a piece of a checkpoint written in pieces
			continue
		}
		var cp struct {
			Next int64 `json:"next"`
		}
		if err := json.Unmarshal(r.Value, &cp); err != nil {
			t.Fatalf("%s record at %d@%d: %v", partialsChangelog, r.Partition, r.Offset, err)
		}
		if cp.Next == committed[0] {
			found = r
		}
	}
	if found == nil {
		t.Fatalf("%s holds no checkpoint at offset %d, which the parse group has committed", partialsChangelog,
			committed[0])
	}
	t.Logf("the checkpoint of input partition 0 at offset %d is committed: %d bytes (key %q, offset %d), %d pieces in the changelog",
		committed[0], len(found.Value), found.Key, found.Offset, pieces)
}
