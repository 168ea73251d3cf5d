package processor

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/processor/output"
	"github.com/oscheck/oscheck/state"
)

// finalContext is slotContext that keeps what it emitted.
type finalContext struct {
	slotContext
	out []string
}

func (c *finalContext) Emit(s goka.Stream, key string, value any, _ ...goka.ContextOption) {
	if s == partsStream {
		return
	}
	c.emits++
	w, err := output.KStreams.Decode([]byte(key), value.([]byte), 2*time.Second)
	if err != nil {
		panic(err)
	}
	c.out = append(c.out, fmt.Sprintf("%s@%d=%d", w.OSType, w.Start, w.Count))
}

// TestAttackAtLeastOnceReplayAfterGrowth: under at_least_once goka's table
// write and output emit are not atomic, and README promises that a report
// read again after a crash emits what it emitted the first time ("sometimes
// a second, identical" final). Here a window stage of 2 sources applies the
// report that finalises window 0 and emits the final; the process dies
// with the output acknowledged but the table write lost. Meanwhile the
// input grew to 3 partitions: the restarted instance knows of 3 (at start,
// and at its claim, learnInputGrowth). It reads the report again.
//
// Observed: the slot grows to 3 before the report is applied again
// (WindowStage.Consume calls slot.Grow with what the stage learned, a wall-clock
// fact, not one in the log), so the replay does not finalise window 0: it
// waits for source 2, whose partial is then counted, and window 0 comes out a
// second time with another count. What a slot decides must depend only on the
// reports in offset order (README: "closing depends only on the records in
// offset order"), or a replay is not a replay.
func TestAttackAtLeastOnceReplayAfterGrowth(t *testing.T) {
	cfg := WindowStageConfig{Windows: state.Windows{Size: 2000}, Retain: 8, Emit: EmitFinal,
		Format: output.KStreams, Output: "os-check", Committed: func(int32) int64 { return 0 }}
	table := newTestTable()
	first := NewWindowStage(over(cfg, table), NewMetrics(prometheus.NewRegistry()))
	first.Grow(2)
	r0 := &state.Report{Source: 0, Sources: 2, From: state.Unbounded, To: 2000,
		Partials: []state.Partial{{Start: 0, Counts: map[string]int64{"android": 3}}}}
	r1 := &state.Report{Source: 1, Sources: 2, From: state.Unbounded, To: 2000,
		Partials: []state.Partial{{Start: 0, Counts: map[string]int64{"android": 1}}}}
	first.Consume(&finalContext{slotContext: slotContext{table: table, key: "slot-0", offset: 0}}, r0)
	// The table as committed after offset 0: the write of offset 1 is lost.
	saved := table.clone()
	c1 := &finalContext{slotContext: slotContext{table: table, key: "slot-0", offset: 1}}
	first.Consume(c1, r1)
	if len(c1.out) != 1 {
		t.Fatalf("the report that completes window 0 emitted %v", c1.out)
	}

	// Restarted after the input grew to 3 partitions.
	table = saved
	second := NewWindowStage(over(cfg, table), NewMetrics(prometheus.NewRegistry()))
	second.Grow(3)
	again := &finalContext{slotContext: slotContext{table: table, key: "slot-0", offset: 1}}
	second.Consume(again, r1)
	// Partition 2's first report, an old line in window 0.
	late := &finalContext{slotContext: slotContext{table: table, key: "slot-0", offset: 2}}
	second.Consume(late, &state.Report{Source: 2, Sources: 3, From: state.Unbounded, To: 2000,
		Partials: []state.Partial{{Start: 0, Counts: map[string]int64{"android": 5}}}})

	emitted := append(append([]string(nil), again.out...), late.out...)
	for _, o := range emitted {
		if !reflect.DeepEqual(o, c1.out[0]) {
			t.Errorf("window 0 final again, not identical: first %q, then %q", c1.out[0], o)
		}
	}
}
