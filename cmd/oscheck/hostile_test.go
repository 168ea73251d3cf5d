package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/processor/output"
)

// lineAt is referenceLine at time at, with os_type osType.
func lineAt(at time.Time, osType string) []byte {
	l := strings.Replace(referenceLine, "14/Aug/2019:08:49:48 +0800", at.Format("02/Jan/2006:15:04:05 -0700"), 1)
	return []byte(strings.Replace(l, "os_type=android", "os_type="+osType, 1))
}

// countOn produces recs (with extra producer options), runs the service on
// them (2 s windows, 1 s grace, 500 ms idle timeout) until the test ends,
// and checks that os-check holds want, read committed; it returns the
// service's HTTP address.
func countOn(t *testing.T, brokers []string, recs []*kgo.Record, want map[truth.Key]int64, extra ...kgo.Opt) (httpAddr string) {
	t.Helper()
	produce(t, brokers, recs, extra...)
	httpAddr = freeAddr(t)
	service(t, "--brokers", brokers[0], "--window", "2s", "--grace", "1s", "--idle-timeout", "500ms",
		"--http-addr", httpAddr, "--format", "kstreams")
	awaitFinals(t, brokers, output.KStreams, 2*time.Second, want, time.Minute)
	checkFinals(t, readAll(t, brokers, "os-check"), 2*time.Second, want)
	return httpAddr
}

// headerOf returns the value of r's header key ("" if none).
func headerOf(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// reasonOf returns a dead letter's reason header.
func reasonOf(r *kgo.Record) string { return headerOf(r, "reason") }

// TestEmptyAndNullRecords produces a tombstone (a NULL value) and an empty
// value between two lines: both must reach the dead-letter topic with reason
// "empty" and be counted as malformed, and the lines around them counted.
// (goka drops NULL values by default, and marks them done: they vanished.)
func TestEmptyAndNullRecords(t *testing.T) {
	brokers := startBroker(t, 1, "access_log")
	at := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	line := lineAt(at, "android")
	want := map[truth.Key]int64{{OS: "android", Start: at.Truncate(2 * time.Second).UnixMilli()}: 2}
	addr := countOn(t, brokers, []*kgo.Record{
		{Topic: "access_log", Key: []byte("a"), Value: line},
		{Topic: "access_log", Key: []byte("tombstone"), Value: nil},
		{Topic: "access_log", Key: []byte("empty"), Value: []byte{}},
		{Topic: "access_log", Key: []byte("b"), Value: line},
	}, want)

	dead := consume(t, brokers, "os-check-streams-dlq").waitFor(2, 30*time.Second)
	keys := make(map[string]bool)
	for _, r := range dead {
		keys[string(r.Key)] = true
		if len(r.Value) != 0 {
			t.Errorf("dead letter %q holds %q, want it empty as it came", r.Key, r.Value)
		}
		if reason := reasonOf(r); !strings.HasPrefix(reason, "empty") {
			t.Errorf("dead letter %q has reason %q, want empty", r.Key, reason)
		}
	}
	if len(dead) != 2 || !keys["tombstone"] || !keys["empty"] {
		t.Errorf("dead-letter topic holds %d records with keys %v, want the tombstone and the empty record", len(dead), keys)
	}
	if n := scrape(t, addr, "oscheck_records_malformed_total")[`reason="empty"`]; n != 2 {
		t.Errorf("oscheck_records_malformed_total{reason=\"empty\"} = %v, want 2", n)
	}
}

// TestFutureRecord puts one line dated 2099 in the middle of a partition's
// lines from 2019: it must go to the dead-letter topic with reason "future",
// and every line after it must count (before, it moved the partition's event
// time to 2099, and every later line was late).
func TestFutureRecord(t *testing.T) {
	brokers := startBroker(t, 1, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	want := make(map[truth.Key]int64)
	var recs []*kgo.Record
	for i := range 200 {
		at := start.Add(time.Duration(i) * 100 * time.Millisecond)
		recs = append(recs, &kgo.Record{Topic: "access_log", Value: lineAt(at, "android")})
		want[truth.Key{OS: "android", Start: at.Truncate(2 * time.Second).UnixMilli()}]++
		if i == 50 {
			recs = append(recs, &kgo.Record{Topic: "access_log", Key: []byte("2099"), Value: lineAt(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), "android")})
		}
	}
	addr := countOn(t, brokers, recs, want)
	dead := consume(t, brokers, "os-check-streams-dlq").waitFor(1, 30*time.Second)
	if len(dead) != 1 || string(dead[0].Key) != "2099" || !strings.HasPrefix(reasonOf(dead[0]), "future") {
		var got []string
		for _, r := range dead {
			got = append(got, fmt.Sprintf("%s: %s", r.Key, reasonOf(r)))
		}
		t.Fatalf("dead-letter topic holds %q, want the 2099 line with reason future", got)
	}
	if n := sum(scrape(t, addr, "oscheck_records_late_total")); n != 0 {
		t.Errorf("oscheck_records_late_total = %v, want 0", n)
	}
	if n := scrape(t, addr, "oscheck_records_malformed_total")[`reason="future"`]; n != 1 {
		t.Errorf("oscheck_records_malformed_total{reason=\"future\"} = %v, want 1", n)
	}
}

// TestScannerOSTypes sends 1,100 distinct os_type values in one window, as a
// scanner would, then a new legitimate value in the next window. The first
// window counts the first max-os-types (16) values under their own names and
// the rest as other; the next window counts the new value under its name.
// (Before, a partition that had seen 1,024 distinct values in the process's
// lifetime counted every new one as other until a restart.)
func TestScannerOSTypes(t *testing.T) {
	brokers := startBroker(t, 1, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	want := make(map[truth.Key]int64)
	first, next := start.UnixMilli(), start.Add(2*time.Second).UnixMilli()
	var recs []*kgo.Record
	for i := range 1100 {
		os := fmt.Sprintf("v%d", i)
		recs = append(recs, &kgo.Record{Topic: "access_log", Value: lineAt(start, os)})
		if i >= 16 {
			os = "other"
		}
		want[truth.Key{OS: os, Start: first}]++
	}
	for range 5 {
		recs = append(recs, &kgo.Record{Topic: "access_log", Value: lineAt(start.Add(2*time.Second), "harmonyos")})
	}
	want[truth.Key{OS: "harmonyos", Start: next}] = 5
	addr := countOn(t, brokers, recs, want)
	if n := sum(scrape(t, addr, "oscheck_records_folded_total")); n != 1084 {
		t.Errorf("oscheck_records_folded_total = %v, want 1084", n)
	}
}

// deadLetterOfOversized puts the record key, value (1.5 MB of it, in key or
// value; the input topic allows 3 MB) between two lines, and returns its
// dead letter once the lines around it have counted. It cannot be written
// whole (1 MB is the producer's and the dead-letter topic's limit). (Before,
// the write failed, the transaction aborted, and every replay failed again:
// the partition stalled for good.)
func deadLetterOfOversized(t *testing.T, key, value []byte) *kgo.Record {
	t.Helper()
	brokers := startBroker(t, 1, "access_log")
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	limit := "3000000"
	if _, err := kadm.NewClient(cl).AlterTopicConfigs(context.Background(),
		[]kadm.AlterConfig{{Name: "max.message.bytes", Value: &limit}}, "access_log"); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	at := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	want := map[truth.Key]int64{{OS: "android", Start: at.Truncate(2 * time.Second).UnixMilli()}: 2}
	countOn(t, brokers, []*kgo.Record{
		{Topic: "access_log", Value: lineAt(at, "android")},
		{Topic: "access_log", Key: key, Value: value},
		{Topic: "access_log", Value: lineAt(at, "android")},
	}, want, kgo.ProducerBatchMaxBytes(4<<20))
	dead := consume(t, brokers, "os-check-streams-dlq").waitFor(1, 30*time.Second)
	if len(dead) != 1 {
		t.Fatalf("dead-letter topic holds %d records, want 1", len(dead))
	}
	return dead[0]
}

// TestOversizedRecord: a 1.5 MB value goes to the dead-letter topic as its
// first 256 KiB with a header saying so and where the whole record is.
func TestOversizedRecord(t *testing.T) {
	huge := bytes.Repeat([]byte("garbage "), 1_500_000/8)
	d := deadLetterOfOversized(t, []byte("huge"), huge)
	truncated := headerOf(d, "truncated")
	if !bytes.Equal(d.Value, huge[:256<<10]) || !strings.Contains(truncated, "1500000 bytes") || !strings.Contains(truncated, "offset 1") {
		t.Errorf("dead letter: %d bytes, truncated header %q; want the first 256 KiB and a header naming the size and offset", len(d.Value), truncated)
	}
}

// TestOversizedKey: a 1.5 MB key goes as its first 4 KiB, with the header.
func TestOversizedKey(t *testing.T) {
	hugeKey := bytes.Repeat([]byte("k"), 1_500_000)
	d := deadLetterOfOversized(t, hugeKey, []byte("not an access log"))
	if !bytes.Equal(d.Key, hugeKey[:4<<10]) || headerOf(d, "truncated") == "" || string(d.Value) != "not an access log" {
		t.Errorf("dead letter: key of %d bytes, value %q, truncated header %q; want the key's first 4 KiB, the value whole and the header",
			len(d.Key), d.Value, headerOf(d, "truncated"))
	}
}

// TestOwnedTopicWithOtherPartitionCount: the repartition topic exists with
// 2 partitions and the window table with 3 (one created by hand, or
// deleted and created again). Slot keys, checkpoints and the window table
// all assume one count, so the service must refuse to start, naming the
// topic and how to repair it, instead of silently misrouting reports. (The
// input may have more partitions than they: it grew.)
func TestOwnedTopicWithOtherPartitionCount(t *testing.T) {
	brokers := startBroker(t, 4, "access_log")
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(context.Background(), 2, -1, nil, "os-check-streams-partials-repartition"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(context.Background(), 3, -1, nil, "os-check-streams-window-table"); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = run(ctx, []string{"run", "--brokers", brokers[0], "--http-addr", ""}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "os-check-streams-window-table") ||
		!strings.Contains(err.Error(), "3 partitions") || !strings.Contains(err.Error(), "--group") {
		t.Fatalf("got %v, want an error naming the topic, its 3 partitions and a new --group as the repair", err)
	}
}

// TestInputGrowsWhileRunning raises access_log from 2 to 4 partitions while
// the service runs and a window is open, then writes lines to all four,
// the new partitions' first ones into that open window. The service must
// run on and count the new partitions from then on: every window exact,
// the open one with the new partitions' lines too (under exactly_once_v2,
// each final once). The old partitions close the open window long before
// the parse stage reads the new ones: a window stage that finalised it with
// the sources it knew wrote it short. (Before, the service stopped; before
// that, it wrote half counts without a word.) Under at_least_once, which
// has no commit to check the input's partitions before, the lines go
// out once the service has logged the growth.
func TestInputGrowsWhileRunning(t *testing.T) {
	t.Run("exactly_once_v2", func(t *testing.T) { inputGrows(t, "exactly_once_v2") })
	t.Run("at_least_once", func(t *testing.T) { inputGrows(t, "at_least_once") })
}

func inputGrows(t *testing.T, guarantee string) {
	brokers := startBroker(t, 2, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	want := make(map[truth.Key]int64)
	batch := func(from time.Time, seconds, partitions int) []*kgo.Record {
		var recs []*kgo.Record
		for i := range seconds * 10 {
			at := from.Add(time.Duration(i) * 100 * time.Millisecond)
			for p := range partitions {
				recs = append(recs, &kgo.Record{Topic: "access_log", Partition: int32(p), Value: lineAt(at, "android")})
				want[truth.Key{OS: "android", Start: at.Truncate(2 * time.Second).UnixMilli()}]++
			}
		}
		return recs
	}
	// Both partitions reach 9.9 s: with grace 1 s, [8 s, 10 s) stays open.
	produce(t, brokers, batch(start, 10, 2))

	logs := new(syncBuffer)
	launch := func() (stop func() error, done <-chan error) {
		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error, 1)
		go func() {
			errs <- run(ctx, []string{"run", "--brokers", brokers[0], "--window", "2s", "--grace", "1s", "--http-addr", "",
				"--idle-timeout", "10s",
				"--processing-guarantee", guarantee}, io.Discard, logs)
		}()
		return sync.OnceValue(func() error { cancel(); return <-errs }), errs
	}
	stop, done := launch()
	defer func() { _ = stop() }()
	defer func() {
		if t.Failed() {
			t.Logf("service log:\n%s", logs.String())
		}
	}()
	// Windows closed by the lines' own times: an idle close (after 10 s
	// without lines) would close every window up to the wall clock.
	before := func(end time.Duration) map[truth.Key]int64 {
		closed := make(map[truth.Key]int64)
		for k, n := range want {
			if k.Start < start.Add(end).UnixMilli() {
				closed[k] = n
			}
		}
		return closed
	}
	awaitFinals(t, brokers, output.KStreams, 2*time.Second, before(8*time.Second), time.Minute)

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kadm.NewClient(cl).CreatePartitions(context.Background(), 2, "access_log"); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	for guarantee == "at_least_once" && !strings.Contains(logs.String(), "gained partitions") {
		time.Sleep(50 * time.Millisecond)
	}
	// From 9 s on all four: the new partitions' first lines fall in the
	// open window, which the old partitions' lines then close.
	produce(t, brokers, batch(start.Add(9*time.Second), 20, 4))
	awaitFinals(t, brokers, output.KStreams, 2*time.Second, before(26*time.Second), time.Minute)
	select {
	case err := <-done:
		t.Fatalf("oscheck run ended with %v after the input grew", err)
	default:
	}

	// Restarted, it carries on from the new partitions' checkpoints
	// (under exactly_once_v2) and offsets, in the window the lines left
	// open: the changelog keeps its two partitions, each now holding two
	// input partitions' checkpoints.
	if err := stop(); err != nil {
		t.Errorf("oscheck run ended with %v", err)
	}
	stop, _ = launch()
	produce(t, brokers, batch(start.Add(29*time.Second), 10, 4))
	awaitFinals(t, brokers, output.KStreams, 2*time.Second, want, time.Minute)
	if err := stop(); err != nil {
		t.Errorf("oscheck run ended with %v", err)
	}
	seen := make(map[truth.Key]int)
	for _, r := range readAll(t, brokers, "os-check") {
		w, err := output.KStreams.Decode(r.Key, r.Value, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		k := truth.Key{OS: w.OSType, Start: w.Start}
		if n := want[k]; w.Count != n {
			t.Errorf("window %s@%d: final count %d, true count %d", w.OSType, w.Start, w.Count, n)
		}
		if seen[k]++; seen[k] == 2 && guarantee == "exactly_once_v2" {
			t.Errorf("window %s@%d: final written more than once", w.OSType, w.Start)
		}
	}
}

// TestTopicTakesTooSmallRecords: the dead-letter topic exists with
// max.message.bytes 100000, below the 256 KiB of a record oscheck copies
// there. The service must refuse to start, naming the topic and the
// setting, instead of failing on the first large malformed record, and on
// every retry of it.
func TestTopicTakesTooSmallRecords(t *testing.T) {
	brokers := startBroker(t, 1, "access_log")
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	small := "100000"
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 1, -1, map[string]*string{"max.message.bytes": &small},
		"os-check-streams-dlq"); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = run(ctx, []string{"run", "--brokers", brokers[0], "--http-addr", ""}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "os-check-streams-dlq") || !strings.Contains(err.Error(), "max.message.bytes") ||
		!strings.Contains(err.Error(), "100000") {
		t.Fatalf("got %v, want an error naming the topic, max.message.bytes and its value", err)
	}
}
