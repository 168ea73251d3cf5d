package main

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/faultnet"
	"github.com/oscheck/oscheck/cmd/internal/proc"
	"github.com/oscheck/oscheck/cmd/internal/traffic"
	"github.com/oscheck/oscheck/cmd/internal/truth"
	"github.com/oscheck/oscheck/processor/output"
)

// TestNetworkFaults runs `oscheck run` against a broker whose network fails
// mid-stream and checks that the service rides the fault out by itself: it
// keeps running (the service helper fails the test if run returns), and
// os-check ends with exactly one record per window of the ground truth, with
// its count. Each subtest has its own broker and service; every connection to
// the broker, the service's and the test's own, suffers the fault.
func TestNetworkFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(t *testing.T, ln *faultnet.Listener)
	}{
		{"latency 5s", func(t *testing.T, ln *faultnet.Listener) {
			// Longer than the session timeout (10 s) and several heartbeat
			// intervals, so every kind of request meets the latency.
			ln.SetLatency(5 * time.Second)
			time.Sleep(20 * time.Second)
			ln.SetLatency(0)
		}},
		{"connection resets", func(t *testing.T, ln *faultnet.Listener) {
			for i := range 5 {
				if i > 0 {
					time.Sleep(time.Second)
				}
				t.Logf("reset %d connections", ln.Reset())
			}
		}},
		{"unreachable 30s", func(t *testing.T, ln *faultnet.Listener) {
			t.Logf("down: reset %d connections", ln.SetDown(true))
			time.Sleep(30 * time.Second)
			ln.SetDown(false)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			faultRun(t, tc.fault)
		})
	}
}

// faultRun produces a known stream in chunks: a third of them before the
// service starts, then, as soon as the first final window comes out of that
// backlog, fault runs while the test goes on producing, a chunk every 250 ms
// (records that meet the fault on their way in and out; a chunk waits out an
// outage), up to two thirds; the rest follow the fault. Once the service has
// settled it compares os-check with the ground truth.
func faultRun(t *testing.T, fault func(t *testing.T, ln *faultnet.Listener)) {
	const partitions, nchunks = 4, 30
	window, grace := 2*time.Second, time.Second
	start, span := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC), 60*time.Second
	brokers, ln := startFaultyBroker(t, partitions, "access_log")
	s := makeStream(120_000, partitions, start, span, window, grace, 31)
	want := s.want()
	chunks := chunked(s.records, partitions, nchunks)
	// The last windows close by watermark, not by idle timeout: the idle
	// close goes by the wall clock, which a fault stalls and this stream's
	// 2019 timestamps are far behind, so it would close windows whose
	// records wait behind the fault. One record per partition well after
	// the stream moves every watermark past the truth's last window; its
	// own window stays open for the idle timeout, longer than the test, so
	// the parse stage never commits it.
	chunks = append(chunks, sentinels(partitions, start.Add(span+window+grace+time.Minute)))

	out, err := truth.Collect(brokers[0], "os-check", window)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(out.Close)
	http := freeAddr(t)
	// A backlog, so that the fault meets the service busy with it.
	produce(t, brokers, slices.Concat(chunks[:nchunks/3]...))
	next := nchunks / 3
	feed := func() {
		produce(t, brokers, chunks[next])
		next++
		time.Sleep(250 * time.Millisecond)
	}
	service(t, "--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
		"--idle-timeout", "10m", "--http-addr", http)
	awaitWindows(t, out, want, 1, http, 2*time.Minute)

	began, have, sent := time.Now(), out.Have(want), next
	over := make(chan struct{})
	t.Cleanup(func() { <-over }) // fault logs to t
	go func() {
		defer close(over)
		fault(t, ln)
	}()
	for ended := false; !ended && next < 2*nchunks/3; {
		select {
		case <-over:
			ended = true
		default:
			feed()
		}
	}
	<-over
	t.Logf("fault over after %v: it began with %d of %d windows in os-check and %d of %d chunks produced, "+
		"ended with %d and %d; listener %+v", time.Since(began).Round(time.Millisecond), have, len(want), sent, nchunks,
		out.Have(want), next, ln.Stats())
	for next < len(chunks) {
		feed()
	}
	awaitWindows(t, out, want, len(want), http, 3*time.Minute)
	settle(t, brokers, 1, 3*time.Minute)
	checkFinals(t, readAll(t, brokers, "os-check"), window, want, false)
}

// finals decodes kstreams-formatted os-check records, in their order, for
// truth.Compare.
func finals(t *testing.T, recs []*kgo.Record, window time.Duration) []truth.Record {
	t.Helper()
	out := make([]truth.Record, len(recs))
	for i, r := range recs {
		w, err := output.KStreams.Decode(r.Key, r.Value, window)
		if err != nil {
			t.Fatalf("os-check record at %d@%d: %v", r.Partition, r.Offset, err)
		}
		out[i] = truth.Record{Key: truth.Key{OS: w.OSType, Start: w.Start}, Count: w.Count}
	}
	return out
}

// chunked splits records, grouped by partition as makeStream makes them,
// into n chunks that each hold the next part of every partition's records, so
// producing the chunks in order keeps each partition's order.
func chunked(records []*kgo.Record, partitions int32, n int) [][]*kgo.Record {
	byPartition := make([][]*kgo.Record, partitions)
	for _, r := range records {
		byPartition[r.Partition] = append(byPartition[r.Partition], r)
	}
	chunks := make([][]*kgo.Record, n)
	for _, recs := range byPartition {
		for i := range n {
			chunks[i] = append(chunks[i], recs[len(recs)*i/n:len(recs)*(i+1)/n]...)
		}
	}
	return chunks
}

// sentinels returns one well-formed record per partition at event time at.
func sentinels(partitions int32, at time.Time) []*kgo.Record {
	gen := traffic.NewGenerator(1)
	var recs []*kgo.Record
	for p := range partitions {
		line, _ := gen.Append(nil, at)
		recs = append(recs, &kgo.Record{Topic: "access_log", Partition: p, Value: traffic.Envelope(nil, line)})
	}
	return recs
}

// awaitWindows waits until os-check holds at least n of the wanted windows,
// for up to timeout. It gives up early, failing the test, when the service
// has stopped serving HTTP at addr for 15 s: `oscheck run` has returned, and
// the service helper reports its error and log.
func awaitWindows(t *testing.T, out *truth.Collector, want map[truth.Key]int64, n int, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var silent time.Time
	for out.Have(want) < n {
		switch {
		case proc.Listening(addr):
			silent = time.Time{}
		case silent.IsZero():
			silent = time.Now()
		case time.Since(silent) > 15*time.Second:
			t.Fatalf("nothing has listened at the service's --http-addr %s for 15 s: oscheck run has stopped, "+
				"with %d of %d windows in os-check", addr, out.Have(want), len(want))
		}
		if time.Now().After(deadline) {
			records, _ := out.Records()
			v := truth.Compare(records, want)
			t.Fatalf("os-check has %d of the %d windows (want %d) after %v; first problems: %v",
				out.Have(want), len(want), n, timeout, v.Problems)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
