package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/processor/output"
	"github.com/oscheck/oscheck/topology"
)

// Attacks on exactly_once_v2 over the wire, each found by trying to break it:
// a test drives the service into one sequence of events through the broker
// (kfake's controls answer chosen requests as a real broker would in a rare
// moment) and reads os-check read_committed, comparing it with the ground
// truth. Transactions abort in each, so the service runs as a process of its
// own (see serviceProcess).

// startCluster starts an in-process broker, as startBroker does, and
// returns the cluster too, for its controls and faults.
func startCluster(t *testing.T, partitions int32, topic string, extra ...kfake.Opt) (*kfake.Cluster, []string) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic)}, extra...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

// refuseTxnOffsetCommit makes the broker refuse, with err, the nth
// TxnOffsetCommit of group, after holding it for hold (the request is
// answered late, as a coordinator busy with a rebalance answers it). It
// returns the number of requests refused so far.
func refuseTxnOffsetCommit(c *kfake.Cluster, group string, nth int64, hold time.Duration, err *kerr.Error) *atomic.Int64 {
	var seen, refused atomic.Int64
	c.ControlKey(int16(kmsg.TxnOffsetCommit), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.TxnOffsetCommitRequest)
		c.KeepControl()
		if req.Group != group || seen.Add(1) != nth {
			return nil, nil, false
		}
		c.SleepControl(func() { time.Sleep(hold) })
		resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewTxnOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = err.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		refused.Add(1)
		return resp, nil, true
	})
	return &refused
}

// holdCommit holds the nth commit (EndTxn) of the transactional ids with
// prefix for longer than the transaction timeout before the broker answers
// it: by then the broker has aborted the transaction and fenced its
// producer, as for a process frozen mid-commit. It returns the number of
// commits held so far.
func holdCommit(c *kfake.Cluster, prefix string, nth int64) *atomic.Int64 {
	var seen, held atomic.Int64
	c.ControlKey(int16(kmsg.EndTxn), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.EndTxnRequest)
		c.KeepControl()
		if !strings.HasPrefix(req.TransactionalID, prefix) || !req.Commit || seen.Add(1) != nth {
			return nil, nil, false
		}
		held.Add(1)
		c.SleepControl(func() { time.Sleep(11 * time.Second) })
		return nil, nil, false // now answered as the broker answers it
	})
	return &held
}

// checkExactlyOnce waits for every window of want, then for the service to
// settle, and checks that os-check holds exactly one record per window, with
// its count.
func checkExactlyOnce(t *testing.T, brokers []string, window time.Duration, want map[truth.Key]int64, timeout time.Duration) {
	t.Helper()
	awaitFinals(t, brokers, output.KStreams, window, want, timeout)
	settle(t, brokers, 0, timeout)
	checkFinals(t, readAll(t, brokers, "os-check"), window, want)
}

// TestAbortedCommitStragglersDropped: a window-stage transaction fails at
// its offset commit (the coordinator refuses it, as it refuses a member a
// rebalance has moved on from). The gate aborts and cancels the session, but
// goka's partition processor has already taken the next report and waits
// for the partition's lock. Were that straggler applied once the abort
// released the lock, its table write and finals would go into the next
// transaction, which the next session commits without the straggler's
// offset: the next session would restore a slot that had applied it, skip
// the aborted reports read again as applied, and their windows would never
// come. (It did: 20 to 70 of 310 windows missing.)
func TestAbortedCommitStragglersDropped(t *testing.T) {
	const partitions = 4
	window, grace := 2*time.Second, 2*time.Second
	c, brokers := startCluster(t, partitions, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	s := makeStream(120_000, partitions, start, 60*time.Second, window, grace, 11)
	refused := refuseTxnOffsetCommit(c, "os-check-streams-window", 3, 500*time.Millisecond, kerr.IllegalGeneration)
	produce(t, brokers, s.records)
	http := freeAddr(t)
	serviceProcess(t, "oscheck", "--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
		"--idle-timeout", "1s", "--http-addr", http)
	checkExactlyOnce(t, brokers, window, s.want(), time.Minute)
	if refused.Load() == 0 {
		t.Fatal("the window stage's offset commit was never refused: the attack did not happen")
	}
}

// TestTransactionTimedOutByTheBroker: a stage's commit stalls for
// longer than the transaction timeout (10 s) — the process was paused, or
// its connection to the coordinator hung — with records of the transaction
// already on the brokers. The brokers abort the transaction and bump the
// producer's epoch; when the held EndTxn finally arrives it is fenced. The
// stage must not commit anything of the aborted transaction, must not wedge,
// and must come back (here: its producer is fatally fenced, the stage ends
// and the service is started again in the process) with os-check exact and
// without duplicates.
func TestTransactionTimedOutByTheBroker(t *testing.T) {
	const partitions = 4
	window, grace := 2*time.Second, 2*time.Second
	c, brokers := startCluster(t, partitions, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	s := makeStream(60_000, partitions, start, 60*time.Second, window, grace, 17)
	held := holdCommit(c, "os-check-streams-window-", 2)
	produce(t, brokers, s.records)
	http := freeAddr(t)
	serviceProcess(t, "oscheck", "--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
		"--idle-timeout", "1s", "--http-addr", http)
	checkExactlyOnce(t, brokers, window, s.want(), 2*time.Minute)
	t.Logf("restarts in the process: %v", sum(scrape(t, http, "oscheck_restarts_total")))
	if held.Load() == 0 {
		t.Fatal("no commit was held past the transaction timeout: the attack did not happen")
	}
}

// TestAbortedCommitStragglersWriteNoDeadLetter is the parse stage's side of
// TestAbortedCommitStragglersDropped: after its offset commit is refused and
// the transaction aborted, the records goka's partition processors still
// take (the one waiting for its partition's lock, and those picked from the
// channel before the cancelled context is seen) must not write their dead
// letters into the next transaction: the next session reads those records
// again from the committed offset, and the dead-letter topic, read
// committed, held them twice.
func TestAbortedCommitStragglersWriteNoDeadLetter(t *testing.T) {
	const partitions, perPartition = 4, 10_000
	c, brokers := startCluster(t, partitions, "access_log")
	var recs []*kgo.Record
	for p := range int32(partitions) {
		for i := range perPartition {
			recs = append(recs, &kgo.Record{Topic: "access_log", Partition: p, Value: fmt.Appendf(nil, "junk %d-%d", p, i)})
		}
	}
	refused := refuseTxnOffsetCommit(c, "os-check-streams", 3, 500*time.Millisecond, kerr.IllegalGeneration)
	produce(t, brokers, recs)
	serviceProcess(t, "oscheck", "--brokers", brokers[0], "--http-addr", freeAddr(t))
	settle(t, brokers, 0, time.Minute)
	seen := make(map[string]int)
	dups := 0
	for _, r := range readAll(t, brokers, "os-check-streams-dlq") {
		if seen[string(r.Value)]++; seen[string(r.Value)] == 2 {
			dups++
		}
	}
	if len(seen) != len(recs) || dups > 0 {
		t.Errorf("dead-letter topic: %d of %d malformed records, %d of them more than once", len(seen), len(recs), dups)
	}
	if refused.Load() == 0 {
		t.Fatal("the parse stage's offset commit was never refused: the attack did not happen")
	}
}

// TestWindowChangedStopsNamingTheKey: an operator changes the window size
// (2 s to 4 s) and restarts the service with the same group. The parse
// stage's committed checkpoints hold windows of 2 s, which no restore can
// turn into windows of 4 s, and the committed offsets are past the records
// counted in them. The service must stop, naming the key; it used to retry
// the failing restore some eight times a second, for ever, silently.
func TestWindowChangedStopsNamingTheKey(t *testing.T) {
	grace := time.Second
	brokers := startBroker(t, 2, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	s := makeStream(20_000, 2, start, 30*time.Second, 2*time.Second, grace, 13)
	halves := chunked(s.records, 2, 2)
	produce(t, brokers, halves[0])
	out := consume(t, brokers, "os-check")
	runFor := func(ctx context.Context, window string) chan error {
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"run", "--brokers", brokers[0], "--window", window, "--grace", grace.String(),
				"--idle-timeout", "10m", "--http-addr", ""}, io.Discard, secrettest.LogFile(t))
		}()
		return done
	}
	first, stop := context.WithCancel(context.Background())
	done := runFor(first, "2s")
	if len(out.waitFor(1, 30*time.Second)) == 0 {
		t.Fatal("no window from the first run")
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("first run: %v", err)
	}

	produce(t, brokers, halves[1])
	second, stop2 := context.WithCancel(context.Background())
	defer stop2()
	select {
	case err := <-runFor(second, "4s"):
		var bad *topology.KeyError
		if !errors.As(err, &bad) || bad.Key != "window" {
			t.Errorf("the service stopped with %v, want config key \"window\" named", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a minute after a restart with --window 4s (was 2s) the service still runs")
	}
}
