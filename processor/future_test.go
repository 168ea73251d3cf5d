package processor

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/state"
)

// TestFutureRecordReplayedAfterClockCaughtUp: a line more than
// max-event-skew ahead of its record's timestamp is dead-lettered as future,
// and the lines after it are counted. The session ends before the commit
// passed it (a rebalance, a crash, an aborted transaction) and the records
// are read again once the wall clock has moved on: the replay must decide as
// the first read did. (Judged against the wall clock, the replay counted the
// record, its event time moved the partition's event time ahead, and the
// lines after it were late; under at_least_once the record was both
// dead-lettered and counted.)
func TestFutureRecordReplayedAfterClockCaughtUp(t *testing.T) {
	const skew = 5 * time.Second
	for _, txn := range []bool{false, true} {
		t.Run(fmt.Sprintf("transactional=%v", txn), func(t *testing.T) {
			cfg := ParseStageConfig{
				Windows: state.Windows{Size: 1000}, Idle: time.Second, MaxEventSkew: skew,
				OSParam: "os_type", Sources: 1, SlotKeys: []string{"s0"},
				Repartition: "reports", DeadLetter: "dlq", Late: "late", Transactional: txn,
				Changelog: "changelog", ChangelogKey: func(int32) string { return "c0" },
			}
			p := NewParseStage(cfg, NewMetrics(prometheus.NewRegistry()))
			written := time.Now().Truncate(time.Second).Add(-skew) // the records' timestamps
			lineAt := func(at time.Time) []byte {
				return fmt.Appendf(nil, `10.0.0.1 - - [%s] "GET /?os_type=ios HTTP/1.1" 200 1`, at.UTC().Format("02/Jan/2006:15:04:05 -0700"))
			}
			lines := [][]byte{lineAt(written), lineAt(written.Add(skew + 2*time.Second)), lineAt(written.Add(time.Second))}
			read := func() (topics []string) {
				for i, line := range lines {
					ctx := &recordContext{offset: int64(i), timestamp: written}
					p.Consume(ctx, line)
					topics = append(topics, fmt.Sprint(ctx.emitted))
				}
				return topics
			}
			first := read()
			if first[1] != "[dlq]" || first[2] == "[late]" {
				t.Fatalf("first read: %v, want the future record dead-lettered and the next one counted", first)
			}
			time.Sleep(2500 * time.Millisecond) // the line is now within skew of the wall clock
			p.Reset()                           // the session ends before any commit: the records are read again
			again := read()
			if again[1] != first[1] || again[2] != first[2] {
				t.Errorf("read again later: %v; the first read: %v", again, first)
			}
		})
	}
}

// TestRestoreFutureState: a checkpoint whose event time a line from 2099
// moved (taken with max-event-skew 0) does not restore under a skew: every
// later record would be late. Restore names the partition and the time.
func TestRestoreFutureState(t *testing.T) {
	cfg := ParseStageConfig{
		Windows: state.Windows{Size: 1000}, Idle: time.Second, OSParam: "os_type", Sources: 1, SlotKeys: []string{"s0"},
		Repartition: "reports", DeadLetter: "dlq", Transactional: true, Changelog: "changelog", ChangelogKey: func(int32) string { return "c0" },
	}
	before := NewParseStage(cfg, NewMetrics(prometheus.NewRegistry()))
	before.Consume(&recordContext{offset: 0, timestamp: time.Now()},
		[]byte(`10.0.0.1 - - [01/Jan/2099:00:00:00 +0000] "GET /?os_type=ios HTTP/1.1" 200 1`))
	recs, err := before.Precommit()
	if err != nil {
		t.Fatal(err)
	}
	var cp []byte
	for _, r := range recs {
		if r.Topic == "changelog" {
			cp = r.Value
		}
	}
	cfg.MaxEventSkew = 15 * time.Minute
	after := NewParseStage(cfg, NewMetrics(prometheus.NewRegistry()))
	restored, err := after.Restore(0, cp, 1, nil)
	var future *FutureStateError
	if restored || !errors.As(err, &future) || future.Partition != 0 || future.EventTime.Year() != 2099 {
		t.Fatalf("Restore: %v, %v; want a FutureStateError for partition 0 in 2099", restored, err)
	}
	cfg.MaxEventSkew = 0
	if restored, err := NewParseStage(cfg, NewMetrics(prometheus.NewRegistry())).Restore(0, cp, 1, nil); !restored || err != nil {
		t.Fatalf("Restore without a skew: %v, %v; want it restored", restored, err)
	}
}
