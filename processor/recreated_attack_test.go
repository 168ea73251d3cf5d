package processor

import (
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/processor/output"
	"github.com/oscheck/oscheck/state"
)

// TestWindowerHoldsAfterRecreatedTopic: under at_least_once, after the
// repartition topic was deleted and created again (the slot's Base moved),
// the window stage's holds must still keep the commit below a report whose
// emits are not acknowledged, and be released when they are: Done is given
// the topic's offsets, not the slot's positions (Base + offset).
func TestWindowerHoldsAfterRecreatedTopic(t *testing.T) {
	table := newTestTable()
	w := NewWindowStage(over(WindowStageConfig{Windows: state.Windows{Size: 2000}, Retain: 8, Emit: EmitFinal,
		Format: output.KStreams, Output: "os-check", Committed: func(int32) int64 { return 0 }}, table),
		NewMetrics(prometheus.NewRegistry()))
	report := func(from, to int64) *state.Report {
		return &state.Report{Source: 0, Sources: 1, From: from, To: to,
			Partials: []state.Partial{{Start: from, Counts: map[string]int64{"ios": 1}}}}
	}
	// The old topic: one report at offset 99, acknowledged.
	w.Claimed(0, "old", 100)
	w.Consume(&slotContext{table: table, key: "slot-0", offset: 99}, report(0, 2000))
	if f := w.Done(0, 100); f != math.MaxInt64 {
		t.Fatalf("old topic: floor %d after every report was acknowledged", f)
	}
	// The topic is created again: a new session reads offsets 0 and 1.
	w.Reset()
	w.Claimed(0, "new", 2)
	w.Consume(&slotContext{table: table, key: "slot-0", offset: 0}, report(2000, 4000))
	w.Consume(&slotContext{table: table, key: "slot-0", offset: 1}, report(4000, 6000))
	if slot := table.value("slot-0").(*state.Slot); slot.Base == 0 {
		t.Fatalf("the slot did not move: %+v", slot)
	}
	// Offset 1 is acknowledged first: offset 0 still holds the commit.
	if f := w.Done(0, 2); f != 0 {
		t.Errorf("offset 1 acknowledged, offset 0 not: floor %d, want 0", f)
	}
	if f := w.Done(0, 1); f != math.MaxInt64 {
		t.Errorf("every report acknowledged: floor %d, want none (%d)", f, int64(math.MaxInt64))
	}
}
