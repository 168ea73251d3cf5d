package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/oscheck/oscheck/cmd/internal/truth"
)

// Attacks on exactly_once_v2 over the wire: each test drives the service
// into one sequence of events through the broker (kfake's controls answer
// chosen requests as a real broker would in a rare moment) and reads
// os-check read_committed, comparing it with the ground truth.

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

// wantOf is a stream's ground truth keyed as truth keys it.
func wantOf(s stream) map[truth.Key]int64 {
	want := make(map[truth.Key]int64, len(s.counts))
	for k, n := range s.counts {
		want[truth.Key{OS: k.os, Start: k.start}] = n
	}
	return want
}

// checkExactAfter waits up to timeout until os-check holds every wanted
// window of the latest window start (the stream's end, closed last), waits
// a little longer for anything still to come, then checks that os-check
// holds exactly one record per wanted window with its count.
func checkExactAfter(t *testing.T, brokers []string, window time.Duration, want map[truth.Key]int64, timeout time.Duration) {
	t.Helper()
	last := make(map[truth.Key]int64)
	latest := int64(math.MinInt64)
	for k := range want {
		latest = max(latest, k.Start)
	}
	for k, n := range want {
		if k.Start == latest {
			last[k] = n
		}
	}
	out := consume(t, brokers, "os-check")
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if v := truth.Compare(finals(t, out.snapshot(), window), last); v.Missing == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // the stragglers of other partitions, and duplicates, would come now
	checkExact(t, brokers, window, want)
}

// TestAttackAbortedCommitStragglersCommittedNext: a window-stage
// transaction fails at its offset commit (the coordinator refuses it, as it
// refuses a member a rebalance has moved on from). The gate aborts and
// cancels the session, but goka's partition processor has already taken the
// next report and is waiting for the partition's lock: once the abort
// releases it, that report is applied to the in-memory slot (which still
// holds the aborted reports' effects) and its table write and finals go into
// the transaction the abort began. Nothing of the failed session commits
// again, but the next session's first commit (sent > 0) commits that
// transaction, without the straggler's offset. The next session restores a
// slot whose Applied is the straggler's offset, reads the aborted reports
// again from the committed offset, skips them as "applied", and their finals
// are never emitted: windows go missing from os-check.
func TestAttackAbortedCommitStragglersCommittedNext(t *testing.T) {
	const partitions = 4
	window, grace := 2*time.Second, 2*time.Second
	c, brokers := startCluster(t, partitions, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	s := makeStream(120_000, partitions, start, 60*time.Second, window, grace, 11)
	want := wantOf(s)
	refused := refuseTxnOffsetCommit(c, "os-check-streams-window", 3, 500*time.Millisecond, kerr.IllegalGeneration)
	produce(t, brokers, s.records)
	http := freeAddr(t)
	service(t, "--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
		"--idle-timeout", "1s", "--http-addr", http)
	checkExactAfter(t, brokers, window, want, 30*time.Second)
	if refused.Load() == 0 {
		t.Fatal("the window stage's offset commit was never refused: the attack did not happen")
	}
}

// TestAttackDistinctOSTypeFloodWedgesTheWindowStage: os_type is a query
// parameter any client of the web server sets. A client that sends a
// thousand distinct, well-formed values (32 characters of [a-z0-9], below
// the classifier's 1024-value bound per partition) in every window makes
// each final a thousand counts, some 37 KB of JSON. The window stage keeps
// the newest retain-finals (64) finals of each slot in the slot's table
// value, which it writes to the window table's changelog on every report:
// after some 16 such windows in one slot the value passes the producer's
// 1,000,000-byte message limit (the topic's max.message.bytes is about the
// same). The write fails; under exactly_once_v2 the transaction aborts and
// the session restarts from the last commit, reads the same report and fails
// the same way, so the window stage never moves again and os-check gets no
// window from then on, for any os_type. Under at_least_once the same loop
// emits the finals of the replayed reports again on every turn.
func TestAttackDistinctOSTypeFloodWedgesTheWindowStage(t *testing.T) {
	for _, guarantee := range []string{"exactly_once_v2", "at_least_once"} {
		t.Run(guarantee, func(t *testing.T) {
			t.Parallel()
			const windows, names = 40, 1000
			window := 2 * time.Second
			_, brokers := startCluster(t, 1, "access_log")
			start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
			want := make(map[truth.Key]int64)
			var recs []*kgo.Record
			for w := range windows {
				at := start.Add(time.Duration(w) * window)
				for i := range names {
					os := fmt.Sprintf("flood%027d", i) // 32 bytes, a sane os_type
					line := fmt.Sprintf(`10.0.0.1 - - [%s] "GET /v1/open/product_list?os_type=%s HTTP/1.0" 200 1321`,
						at.Format("02/Jan/2006:15:04:05 -0700"), os)
					recs = append(recs, &kgo.Record{Topic: "access_log", Value: []byte(line)})
					want[truth.Key{OS: os, Start: at.UnixMilli()}]++
				}
			}
			produce(t, brokers, recs)
			service(t, "--brokers", brokers[0], "--window", window.String(), "--grace", "1s", "--idle-timeout", "1s",
				"--http-addr", freeAddr(t), "--processing-guarantee", guarantee)
			checkExactAfter(t, brokers, window, want, 20*time.Second)
		})
	}
}

// TestAttackOversizedInputRecordWedgesTheParseStage: the input topic takes
// record batches up to its max.message.bytes (1,048,588 bytes by default),
// so a record of some 1,048,500 bytes; the service's producers send records
// of at most sarama's Producer.MaxMessageBytes (1,048,576), counting the
// headers. A malformed record that size (one oversized line from any
// shipper) is to go to the dead-letter topic with its original bytes and a
// reason header: with the header, that emit is larger than the producer
// allows (and than the topic takes), and fails.
// The failed emit fails its partition's processing, the session restarts
// from the last commit, reads the same record, fails again: the parse stage
// never passes it, and no window of that partition (so no window at all, as
// every window waits for every partition) is ever emitted again. The
// contract says: anything unparsable goes to the dead-letter topic and never
// stops the service.
func TestAttackOversizedInputRecordWedgesTheParseStage(t *testing.T) {
	for _, guarantee := range []string{"exactly_once_v2", "at_least_once"} {
		t.Run(guarantee, func(t *testing.T) {
			t.Parallel()
			const partitions = 2
			window, grace := 2*time.Second, time.Second
			_, brokers := startCluster(t, partitions, "access_log")
			start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
			s := makeStream(20_000, partitions, start, 30*time.Second, window, grace, 13)
			// The poison: 1,048,500 bytes of junk, in the middle of
			// partition 0.
			giant := append([]byte("not an access log line "), make([]byte, 1_048_500-23)...)
			var recs []*kgo.Record
			placed := false
			for _, r := range s.records {
				if r.Partition == 0 && !placed && len(recs) > len(s.records)/4 {
					recs = append(recs, &kgo.Record{Topic: "access_log", Partition: 0, Value: giant})
					placed = true
				}
				recs = append(recs, r)
			}
			produce(t, brokers, recs)
			dlq := consume(t, brokers, "os-check-streams-dlq")
			service(t, "--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
				"--idle-timeout", "1s", "--http-addr", freeAddr(t), "--processing-guarantee", guarantee)
			checkExactAfter(t, brokers, window, wantOf(s), 15*time.Second)
			dead := dlq.waitFor(len(s.malformed)+1, 3*time.Second)
			found := false
			for _, r := range dead {
				found = found || len(r.Value) == len(giant)
			}
			if !found {
				t.Errorf("the oversized malformed record is not in the dead-letter topic (%d dead letters)", len(dead))
			}
		})
	}
}

// TestAttackTransactionTimedOutByTheBroker: a stage's commit stalls for
// longer than the transaction timeout (10 s) — the process was paused, or
// its connection to the coordinator hung — with records of the transaction
// already on the brokers. The brokers abort the transaction and bump the
// producer's epoch; when the held EndTxn finally arrives it is fenced. The
// stage must not commit anything of the aborted transaction, must not wedge,
// and must come back (here: its producer is fatally fenced, the stage ends
// and the service is started again in the process) with os-check exact and
// without duplicates.
func TestAttackTransactionTimedOutByTheBroker(t *testing.T) {
	const partitions = 4
	window, grace := 2*time.Second, 2*time.Second
	c, brokers := startCluster(t, partitions, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	s := makeStream(60_000, partitions, start, 60*time.Second, window, grace, 17)
	var seen, held atomic.Int64
	c.ControlKey(int16(kmsg.EndTxn), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.EndTxnRequest)
		c.KeepControl()
		if !strings.HasPrefix(req.TransactionalID, "os-check-streams-window-") || !req.Commit || seen.Add(1) != 2 {
			return nil, nil, false
		}
		held.Add(1)
		c.SleepControl(func() { time.Sleep(11 * time.Second) })
		return nil, nil, false // now answered as the broker answers it
	})
	produce(t, brokers, s.records)
	http := freeAddr(t)
	service(t, "--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
		"--idle-timeout", "1s", "--http-addr", http)
	checkExactAfter(t, brokers, window, wantOf(s), 60*time.Second)
	t.Logf("restarts in the process: %v", sum(scrape(t, http, "oscheck_restarts_total")))
	if held.Load() == 0 {
		t.Fatal("no commit was held past the transaction timeout: the attack did not happen")
	}
}

// TestAttackInputPartitionsGrowSilentlyMiscounts: an operator adds a
// partition to the input topic while the service runs (to scale it out, the
// usual reason). README says a changed partition count needs a new group,
// but nothing tells the running service: the parse stage's windows count
// the partitions it was started with (every report says sources=2), sarama's
// consumer group notices the new partition only at its next metadata refresh
// (10 minutes by default), and until then every window is completed and
// emitted without the new partition's records: os-check carries wrong
// counts, and nothing is logged. (When the group does rebalance onto the new
// partition, or an instance restarts, the restore of a partition the
// changelog does not have fails, and the stage retries that for ever.) The
// test accepts either outcome that is not silently wrong: exact counts, or
// the service stopping with an error that names the partition count.
func TestAttackInputPartitionsGrowSilentlyMiscounts(t *testing.T) {
	window, grace := 2*time.Second, time.Second
	_, brokers := startCluster(t, 2, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	before := makeStream(20_000, 2, start, 30*time.Second, window, grace, 13)
	produce(t, brokers, before.records)
	out, err := truth.Collect(brokers[0], "os-check", window)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := new(syncBuffer)
	go func() {
		done <- run(ctx, []string{"run", "--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
			"--idle-timeout", "1s"}, io.Discard, logs)
	}()
	defer func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("service log:\n%s", logs.String())
		}
	}()
	for out.Have(wantOf(before)) < len(before.counts) {
		time.Sleep(100 * time.Millisecond)
	}

	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.CreatePartitions("access_log", 3, nil, false); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	// Event time now, so that the windows close by watermark and by the
	// idle timeout within seconds.
	after := makeStream(30_000, 3, time.Now().Add(2*time.Second).Truncate(window), 8*time.Second, window, grace, 14)
	produce(t, brokers, after.records)
	want := wantOf(after)
	var stopped error
	for deadline := time.Now().Add(25 * time.Second); time.Now().Before(deadline) && out.Have(want) < len(want); {
		select {
		case stopped = <-done:
			done <- stopped // for the deferred wait
			deadline = time.Now()
		case <-time.After(100 * time.Millisecond):
		}
	}
	records, _ := out.Records()
	v := truth.Compare(records, want)
	v.Unexpected = 0 // the windows before the growth
	switch {
	case stopped != nil && strings.Contains(stopped.Error(), "partition") && v.WrongCount == 0:
		t.Logf("the service refused the grown input: %v", stopped)
	case stopped == nil && v.WrongCount > 0:
		t.Errorf("after the input grew from 2 to 3 partitions the service kept running and emitted %d of %d windows "+
			"with a wrong count (missing the new partition's records), e.g. %v", v.WrongCount, len(want), v.Problems)
	case !v.Exact():
		t.Errorf("after the input grew: service stopped with %v; os-check: %+v", stopped, v)
	}
}

// TestAttackAbortedCommitStragglersDuplicateDeadLetters is the parse stage's
// side of TestAttackAbortedCommitStragglersCommittedNext: after its offset
// commit is refused and the transaction aborted, the records goka's
// partition processors still take (the one waiting for its partition's lock,
// and those picked from the channel before the cancelled context is seen)
// are processed, and their dead letters go into the transaction the abort
// began, which the next session commits. The next session reads the same
// records again from the committed offset and dead-letters them again: under
// exactly_once_v2 the dead-letter topic, read committed, holds them twice.
func TestAttackAbortedCommitStragglersDuplicateDeadLetters(t *testing.T) {
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
	dlq := consume(t, brokers, "os-check-streams-dlq")
	service(t, "--brokers", brokers[0], "--http-addr", freeAddr(t))
	dlq.waitFor(len(recs), 30*time.Second)
	time.Sleep(2 * time.Second) // a duplicate would come now
	seen := make(map[string]int)
	dups := 0
	for _, r := range dlq.snapshot() {
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

// TestAttackWindowChangedRestartLoopsSilently: an operator changes the
// window size (2 s to 4 s) and restarts the service with the same group.
// Under exactly_once_v2 each parse-stage partition restores its last
// checkpoint when the checkpoint's position is the committed offset, and
// state.RestoreAggregator refuses a checkpoint of another window size. The
// claim fails, sarama ends the session, Consume returns nil (the failure is
// reported on the group's error channel, which goka logs at debug level),
// gatedGroup joins again at once, and the same restore fails again: some
// eight rounds a second, for ever, with nothing logged at info level, the
// service up and os-check frozen. The test accepts what is not a silent
// stall: the service stops with an error naming the changed key, or it
// carries on and os-check gets windows again.
func TestAttackWindowChangedRestartLoopsSilently(t *testing.T) {
	grace := time.Second
	_, brokers := startCluster(t, 2, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	s := makeStream(20_000, 2, start, 30*time.Second, 2*time.Second, grace, 13)
	halves := chunked(s.records, 2, 2)
	produce(t, brokers, halves[0])
	out := consume(t, brokers, "os-check")
	runFor := func(ctx context.Context, window string) (*syncBuffer, chan error) {
		logs := new(syncBuffer)
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"run", "--brokers", brokers[0], "--window", window, "--grace", grace.String(),
				"--idle-timeout", "10m"}, io.Discard, logs)
		}()
		return logs, done
	}
	first, stop := context.WithCancel(context.Background())
	_, done := runFor(first, "2s")
	if len(out.waitFor(1, 30*time.Second)) == 0 {
		t.Fatal("no window from the first run")
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("first run: %v", err)
	}
	emitted := len(out.waitFor(math.MaxInt, time.Second))

	produce(t, brokers, halves[1])
	second, stop2 := context.WithCancel(context.Background())
	defer stop2()
	logs, done := runFor(second, "4s")
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "window") {
				t.Errorf("the service stopped with %v, which does not name the changed key", err)
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
		if len(out.snapshot()) > emitted {
			stop2()
			<-done
			return // carrying on with the new window
		}
	}
	stop2()
	<-done
	info := 0
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			info++
		}
	}
	t.Errorf("20 s after a restart with --window 4s (was 2s) the service still runs, os-check has nothing new, "+
		"and it logged %d warnings or errors", info)
}

// TestAttackSIGTERMDuringLongJoinGroupOutlastsDrain: SIGTERM arrives while a
// stage's consumer group is in a JoinGroup the coordinator holds (a
// rebalance waiting for members that died; under churn the coordinator keeps
// it open, and the service allows it 60 s, Net.ReadTimeout). gatedGroup
// means to abort such a join abortAfter (10 s) into the shutdown by closing
// the group's client under it, but sarama's Broker.sendAndReceive holds the
// broker's lock until the response arrives, and client.Close's
// safeAsyncClose waits for that lock (Broker.Connected) before it closes
// the connection: the join is not aborted, the drain waits for the join to
// end or time out, and the process outlives its shutdown-timeout (and, in
// Kubernetes, its grace period). Seen in cmd/chaos with dynamic membership,
// kills and a rolling restart: "draining took longer than 30s", and a
// goroutine dump with both stages in JoinGroup and safeAsyncClose blocked
// in Broker.Connected.
func TestAttackSIGTERMDuringLongJoinGroupOutlastsDrain(t *testing.T) {
	c, brokers := startCluster(t, 2, "access_log")
	var held atomic.Int64
	c.ControlKey(int16(kmsg.JoinGroup), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		held.Add(1)
		c.SleepControl(func() { time.Sleep(45 * time.Second) })
		return nil, nil, false
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	logs := new(syncBuffer)
	go func() {
		done <- run(ctx, []string{"run", "--brokers", brokers[0], "--shutdown-timeout", "20s"}, io.Discard, logs)
	}()
	for held.Load() == 0 {
		select {
		case err := <-done:
			t.Fatalf("oscheck run returned before joining: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel() // SIGTERM, with the stages in JoinGroup
	if err := <-done; err != nil {
		t.Errorf("SIGTERM during a join the coordinator holds: %v (the join is not aborted after %v as gatedGroup intends)", err, 10*time.Second)
	}
}
