package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/faultnet"
	"github.com/oscheck/oscheck/cmd/internal/testkit/proc"
	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/cmd/internal/traffic"
	"github.com/oscheck/oscheck/processor/output"
)

// TestNetworkFaults runs `oscheck run` against a broker whose network fails
// mid-stream and checks that the service rides the fault out by itself: it
// keeps running (and stops with status 0 on SIGTERM at the end), and
// os-check ends with exactly one record per window of the ground truth, with
// its count. The service runs as a process of its own (see serviceProcess). Each subtest has its own broker and service. With one instance,
// every connection to the broker, the service's and the test's own, suffers
// the fault. With two, only the second instance's connections do, and the
// outage outlasts its consumer-group sessions: its partitions move to the
// first instance during the fault, and back after it.
func TestNetworkFaults(t *testing.T) {
	outage := func(t *testing.T, ln *faultnet.Listener) {
		t.Logf("down: reset %d connections", ln.SetDown(true))
		time.Sleep(30 * time.Second)
		ln.SetDown(false)
	}
	for _, tc := range []faultCase{
		{name: "latency 5s", fault: func(t *testing.T, ln *faultnet.Listener) {
			// Longer than the session timeout (10 s) and several heartbeat
			// intervals, so every kind of request meets the latency.
			ln.SetLatency(5 * time.Second)
			time.Sleep(20 * time.Second)
			ln.SetLatency(0)
		}},
		{name: "connection resets", fault: func(t *testing.T, ln *faultnet.Listener) {
			for i := range 5 {
				if i > 0 {
					time.Sleep(time.Second)
				}
				t.Logf("reset %d connections", ln.Reset())
			}
		}},
		{name: "unreachable 30s", fault: outage},
		{name: "one of two instances unreachable 30s", fault: outage, moves: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			faultRun(t, tc)
		})
	}
}

type faultCase struct {
	name  string
	fault func(t *testing.T, ln *faultnet.Listener)
	// moves runs a second instance whose connections alone suffer the fault,
	// which must move its partitions to the first instance while it lasts.
	moves bool
}

// faultRun produces a known stream in chunks: a third of them before the
// service starts, then, as soon as the first final window comes out of that
// backlog, the fault runs while the test goes on producing, a chunk every
// 250 ms (records that meet the fault on their way in and out; a chunk waits
// out an outage), up to two thirds; the rest follow the fault. Once the
// service has settled it compares os-check with the ground truth.
func faultRun(t *testing.T, tc faultCase) {
	const partitions, nchunks = 4, 30
	window, grace := 2*time.Second, time.Second
	start, span := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC), 60*time.Second
	var (
		brokers []string
		ln      *faultnet.Listener
	)
	if tc.moves {
		brokers, ln = startSplitFaultyBroker(t, partitions, "access_log", "oscheck-b")
	} else {
		brokers, ln = startFaultyBroker(t, partitions, "access_log")
	}
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
	// A backlog, so that the fault meets the service busy with it.
	produce(t, brokers, slices.Concat(chunks[:nchunks/3]...))
	next := nchunks / 3
	feed := func() {
		produce(t, brokers, chunks[next])
		next++
		time.Sleep(250 * time.Millisecond)
	}
	args := []string{"--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
		"--idle-timeout", "10m"}
	http, other := freeAddr(t), ""
	if tc.moves {
		other = freeAddr(t)
		serviceProcess(t, "oscheck-a", slices.Concat(args, []string{"--http-addr", http, "--client-id", "oscheck-a"})...)
		serviceProcess(t, "oscheck-b", slices.Concat(args, []string{"--http-addr", other, "--client-id", "oscheck-b"})...)
	} else {
		serviceProcess(t, "oscheck", slices.Concat(args, []string{"--http-addr", http})...)
	}
	awaitWindows(t, out, want, 1, http, 2*time.Minute)
	var before, during map[string]float64 // partitions the first instance owns, per stage
	if tc.moves {
		before = awaitShared(t, http, other, partitions)
		during = make(map[string]float64)
	}

	began, have, sent := time.Now(), out.Have(want), next
	over := make(chan struct{})
	t.Cleanup(func() { <-over }) // fault logs to t
	go func() {
		defer close(over)
		tc.fault(t, ln)
	}()
	for ended := false; !ended; {
		select {
		case <-over:
			ended = true
		default:
			if next < 2*nchunks/3 {
				feed()
			} else {
				time.Sleep(250 * time.Millisecond)
			}
			if tc.moves {
				for stage, n := range scrape(t, http, "oscheck_owned_partitions") {
					during[stage] = max(during[stage], n)
				}
			}
		}
	}
	t.Logf("fault over after %v: it began with %d of %d windows in os-check and %d of %d chunks produced, "+
		"ended with %d and %d; listener %+v", time.Since(began).Round(time.Millisecond), have, len(want), sent, nchunks,
		out.Have(want), next, ln.Stats())
	if tc.moves {
		t.Logf("partitions the first instance owned before the fault %v, at most during it %v", before, during)
		for stage, n := range before {
			if during[stage] != partitions {
				t.Errorf("the partitions of %s did not all move to the first instance while the second was cut off: "+
					"it owned %v of them before the fault and at most %v during it", stage, n, during[stage])
			}
		}
	}
	for next < len(chunks) {
		feed()
	}
	awaitWindows(t, out, want, len(want), http, 3*time.Minute)
	settle(t, brokers, 1, 3*time.Minute)
	checkFinals(t, readAll(t, brokers, "os-check"), window, want)
	if tc.moves {
		for _, addr := range []string{http, other} {
			t.Logf("instance at %s: rebalances %v, restarts %v", addr, scrape(t, addr, "oscheck_rebalances_total"),
				scrape(t, addr, "oscheck_restarts_total"))
		}
	}
}

// awaitShared waits until two instances share every partition of both
// stages, each owning some, and returns what the first one owns, per stage.
func awaitShared(t *testing.T, first, second string, partitions float64) map[string]float64 {
	t.Helper()
	var a, b map[string]float64
	err := proc.WaitFor(context.Background(), time.Minute, "two instances to share the partitions", func() bool {
		if !proc.Listening(first) || !proc.Listening(second) {
			return false // still starting
		}
		a, b = scrape(t, first, "oscheck_owned_partitions"), scrape(t, second, "oscheck_owned_partitions")
		for _, stage := range []string{`stage="parse"`, `stage="window"`} {
			if a[stage] == 0 || b[stage] == 0 || a[stage]+b[stage] != partitions {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("%v: the first owns %v, the second %v", err, a, b)
	}
	return a
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
