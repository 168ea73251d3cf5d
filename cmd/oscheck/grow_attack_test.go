package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/processor/output"
)

// growHarness runs oscheck on a broker whose access_log starts with
// partitions partitions, and keeps the ground truth of what it produces.
type growHarness struct {
	t       *testing.T
	brokers []string
	start   time.Time
	want    map[truth.Key]int64
	logs    *syncBuffer
}

func newGrowHarness(t *testing.T, partitions int32) *growHarness {
	return &growHarness{t: t, brokers: startBroker(t, partitions, "access_log"),
		start: time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC), want: make(map[truth.Key]int64), logs: new(syncBuffer)}
}

// batch is ten lines a second from from on, for seconds, on each of
// partitions, counted in the truth if counted.
func (h *growHarness) batch(from time.Duration, seconds int, partitions []int32, counted bool) []*kgo.Record {
	var recs []*kgo.Record
	for i := range seconds * 10 {
		at := h.start.Add(from + time.Duration(i)*100*time.Millisecond)
		for _, p := range partitions {
			recs = append(recs, &kgo.Record{Topic: "access_log", Partition: p, Value: lineAt(at, "android")})
			if counted {
				h.want[truth.Key{OS: "android", Start: at.Truncate(2 * time.Second).UnixMilli()}]++
			}
		}
	}
	return recs
}

func (h *growHarness) before(end time.Duration) map[truth.Key]int64 {
	closed := make(map[truth.Key]int64)
	for k, n := range h.want {
		if k.Start < h.start.Add(end).UnixMilli() {
			closed[k] = n
		}
	}
	return closed
}

// launch starts oscheck run with 2 s windows, 1 s grace and args.
func (h *growHarness) launch(args ...string) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 1)
	go func() {
		errs <- run(ctx, append([]string{"run", "--brokers", h.brokers[0], "--window", "2s", "--grace", "1s"}, args...),
			io.Discard, h.logs)
	}()
	stop = sync.OnceValue(func() error { cancel(); return <-errs })
	h.t.Cleanup(func() {
		_ = stop()
		if h.t.Failed() {
			h.t.Logf("service log:\n%s", h.logs.String())
		}
	})
	return stop
}

func (h *growHarness) grow(by int) {
	h.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.brokers...))
	if err != nil {
		h.t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreatePartitions(context.Background(), by, "access_log"); err != nil {
		h.t.Fatal(err)
	}
}

// awaitLearned waits until the service logged that the input has n
// partitions.
func (h *growHarness) awaitLearned(n int) {
	h.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		l := h.logs.String()
		if strings.Contains(l, fmt.Sprintf("partitions=%d ", n)) || strings.Contains(l, fmt.Sprintf(`"partitions":%d,`, n)) {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the service did not log that the input has %d partitions", n)
		}
	}
}

// finalsPerWindow reads os-check and returns, per window, the counts of
// its records in order.
func (h *growHarness) finalsPerWindow() map[truth.Key][]int64 {
	h.t.Helper()
	seen := make(map[truth.Key][]int64)
	for _, r := range readAll(h.t, h.brokers, "os-check") {
		w, err := output.KStreams.Decode(r.Key, r.Value, 2*time.Second)
		if err != nil {
			h.t.Fatal(err)
		}
		k := truth.Key{OS: w.OSType, Start: w.Start}
		seen[k] = append(seen[k], w.Count)
	}
	return seen
}

// TestAttackGrowTwiceQuickly grows access_log 2 -> 3 and, while the new
// partition 2 is still empty (it reports nothing before its idle close),
// 3 -> 6. The window stage learns of 3 first and its slots grow to 3
// (committed); then it learns of 6. Partition 3's first lines are old: in
// window [2 s, 4 s), final long before. They are late joined: window
// [2 s, 4 s) must stay as it was, written once (exactly_once_v2).
//
// Observed: the slots' second growth computes the windows final so far as
// the intersection of the claims of sources 0, 1 and 2, and source 2 has
// claimed nothing yet: it is empty, partition 3's partial reopens the
// window, and it is final a second time with partition 3's count alone.
func TestAttackGrowTwiceQuickly(t *testing.T) {
	h := newGrowHarness(t, 2)
	// Partitions 0 and 1 reach 9.9 s: [8 s, 10 s) stays open.
	produce(t, h.brokers, h.batch(0, 10, []int32{0, 1}, true))
	h.launch("--http-addr", "", "--idle-timeout", "30s")
	awaitFinals(t, h.brokers, output.KStreams, 2*time.Second, h.before(8*time.Second), time.Minute)

	h.grow(1) // 3 partitions
	// The old partitions close [8 s, 10 s) and [10 s, 12 s): their reports
	// reach both slots, in a transaction whose commit learns of partition 2
	// (aborted, redone with slots of 3 sources).
	produce(t, h.brokers, h.batch(10*time.Second, 4, []int32{0, 1}, true))
	h.awaitLearned(3)
	time.Sleep(2 * time.Second) // the redone transaction commits the grown slots

	h.grow(3) // 6 partitions, partition 2 still empty
	// Partition 3's first lines are in [2 s, 4 s), final already: late.
	old := h.batch(2*time.Second+500*time.Millisecond, 1, []int32{3}, false)
	produce(t, h.brokers, old)
	produce(t, h.brokers, h.batch(14*time.Second, 16, []int32{0, 1, 2, 3, 4, 5}, true))
	awaitFinals(t, h.brokers, output.KStreams, 2*time.Second, h.before(26*time.Second), 90*time.Second)
	h.awaitLearned(6)

	for k, counts := range h.finalsPerWindow() {
		if len(counts) > 1 {
			t.Errorf("window %s@%d: written %d times, counts %v (true count %d)", k.OS, k.Start, len(counts), counts, h.want[k])
		} else if counts[0] != h.want[k] {
			t.Errorf("window %s@%d: count %d, true count %d", k.OS, k.Start, counts[0], h.want[k])
		}
	}
}

// TestAttackOffsetResetLatestSkipsNewPartitions runs the service with
// --offset-reset latest, which README scopes to "a group without
// committed offsets". The group has committed offsets when the input
// grows; lines written to the new partitions right after the growth (a
// producer that picks partitions round robin starts at once) must be
// counted, as README's "counts them from then on" says.
//
// Observed: a new partition has no committed offset, so sarama starts its
// claim at the newest offset of the moment the parse group rebalances onto
// it (up to 2 s later): every line written to it before is skipped. Not
// counted, not late, not in any metric; its windows come out short.
func TestAttackOffsetResetLatestSkipsNewPartitions(t *testing.T) {
	h := newGrowHarness(t, 2)
	httpAddr := freeAddr(t)
	h.launch("--http-addr", httpAddr, "--idle-timeout", "10s", "--offset-reset", "latest")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the service was not ready within a minute")
		}
	}
	time.Sleep(time.Second)
	produce(t, h.brokers, h.batch(0, 10, []int32{0, 1}, true))
	awaitFinals(t, h.brokers, output.KStreams, 2*time.Second, h.before(8*time.Second), time.Minute)

	h.grow(2)
	produce(t, h.brokers, h.batch(9*time.Second, 20, []int32{0, 1, 2, 3}, true))
	awaitFinals(t, h.brokers, output.KStreams, 2*time.Second, h.before(26*time.Second), 90*time.Second)
	for k, counts := range h.finalsPerWindow() {
		if counts[len(counts)-1] != h.want[k] {
			t.Errorf("window %s@%d: count %v, true count %d", k.OS, k.Start, counts, h.want[k])
		}
	}
}

// TestAttackGrownPartitionNeverWritten (holds): partitions added to the
// input that never get a record must not hold the windows back for ever:
// the parse stage claims them at its next rebalance and closes their
// windows at the idle timeout, and every window comes out once, exact.
func TestAttackGrownPartitionNeverWritten(t *testing.T) {
	for _, guarantee := range []string{"exactly_once_v2", "at_least_once"} {
		t.Run(guarantee, func(t *testing.T) {
			h := newGrowHarness(t, 2)
			produce(t, h.brokers, h.batch(0, 10, []int32{0, 1}, true))
			h.launch("--http-addr", "", "--idle-timeout", "6s", "--processing-guarantee", guarantee)
			awaitFinals(t, h.brokers, output.KStreams, 2*time.Second, h.before(8*time.Second), time.Minute)
			h.grow(2)
			// At once: the old partitions must not go idle first (their idle
			// close would make these lines late, as documented).
			produce(t, h.brokers, h.batch(10*time.Second, 10, []int32{0, 1}, true))
			h.awaitLearned(4)
			awaitFinals(t, h.brokers, output.KStreams, 2*time.Second, h.want, time.Minute)
			for k, counts := range h.finalsPerWindow() {
				if counts[0] != h.want[k] || (guarantee == "exactly_once_v2" && len(counts) > 1) {
					t.Errorf("window %s@%d: counts %v, true count %d", k.OS, k.Start, counts, h.want[k])
				}
			}
		})
	}
}
