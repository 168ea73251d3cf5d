package processor

import (
	"testing"

	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/processor/output"
	"github.com/oscheck/oscheck/state"
)

// slotContext is the part of goka.Context the Windower uses, for one
// record of the repartition topic; table holds the slot values across
// records, as the window table would.
type slotContext struct {
	gokaContext // the methods Consume does not call: nil (see parse_test.go)
	table       map[string]any
	key         string
	offset      int64
	partition   int32
	emits       int
}

func (c *slotContext) Key() string                                          { return c.key }
func (c *slotContext) Value() any                                           { return c.table[c.key] }
func (c *slotContext) SetValue(v any, _ ...goka.ContextOption)              { c.table[c.key] = v }
func (c *slotContext) Offset() int64                                        { return c.offset }
func (c *slotContext) Partition() int32                                     { return c.partition }
func (c *slotContext) Emit(goka.Stream, string, any, ...goka.ContextOption) { c.emits++ }

// TestWindowerReplayAfterLostSession reads a report that completes a window,
// loses the session, and reads it again, as after a session expiry. The
// final is emitted again only if its first emit was not acknowledged.
func TestWindowerReplayAfterLostSession(t *testing.T) {
	report := &state.Report{Source: 0, Sources: 1, From: 0, To: 2000,
		Partials: []state.Partial{{Start: 0, Counts: map[string]int64{"android": 3}}}}
	for _, tc := range []struct {
		name   string
		acked  bool
		replay int // emits when read again
	}{
		{"acknowledged before the session ended", true, 0},
		{"not acknowledged", false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWindower(WindowerConfig{Windows: state.Windows{Size: 2000}, Retain: 8, Emit: EmitFinal,
				Format: output.KStreams, Output: "os-check", Committed: func(int32) int64 { return 10 }},
				NewMetrics(prometheus.NewRegistry()))
			table := make(map[string]any)
			first := &slotContext{table: table, key: "slot-0", offset: 10}
			w.Consume(first, report)
			if first.emits != 1 {
				t.Fatalf("first read emitted %d records, want 1", first.emits)
			}
			if tc.acked {
				w.Done(0, 11)
			}
			w.Reset()
			again := &slotContext{table: table, key: "slot-0", offset: 10}
			w.Consume(again, report)
			if again.emits != tc.replay {
				t.Errorf("read again, it emitted %d records, want %d", again.emits, tc.replay)
			}
			// A new report after the replay is no replay: it emits.
			next := &slotContext{table: table, key: "slot-0", offset: 11}
			w.Consume(next, &state.Report{Source: 0, Sources: 1, From: 2000, To: 4000,
				Partials: []state.Partial{{Start: 2000, Counts: map[string]int64{"ios": 1}}}})
			if next.emits != 1 {
				t.Errorf("the next report emitted %d records, want 1", next.emits)
			}
		})
	}
}

// TestWindowerTransactionalReplay reads a report a second time under
// exactly_once_v2, as a member that started from a stale offset would: the
// transaction that applied it committed its output with it, so reading it
// again writes nothing, neither output nor table.
func TestWindowerTransactionalReplay(t *testing.T) {
	for _, emit := range []EmitMode{EmitFinal, EmitUpdate} {
		t.Run(string(emit), func(t *testing.T) {
			w := NewWindower(WindowerConfig{Windows: state.Windows{Size: 2000}, Retain: 8, Emit: emit,
				Format: output.KStreams, Output: "os-check", Transactional: true}, NewMetrics(prometheus.NewRegistry()))
			report := &state.Report{Source: 0, Sources: 1, From: 0, To: 2000,
				Partials: []state.Partial{{Start: 0, Counts: map[string]int64{"android": 3}}}}
			table := make(map[string]any)
			first := &slotContext{table: table, key: "slot-0", offset: 10}
			w.Consume(first, report)
			if first.emits != 1 {
				t.Fatalf("first read emitted %d records, want 1", first.emits)
			}
			stored := table["slot-0"]
			w.Reset()
			again := &slotContext{table: table, key: "slot-0", offset: 10}
			w.Consume(again, report)
			if again.emits != 0 || table["slot-0"] != stored {
				t.Errorf("read again, it emitted %d records and wrote the table: %v", again.emits, table["slot-0"] != stored)
			}
			if slot := table["slot-0"].(*state.Slot); len(slot.Finals) != 1 || len(slot.Updates) != 0 {
				t.Errorf("the slot keeps %d finals and %d updates, want the 1 final for queries and no updates (nothing is replayed)",
					len(slot.Finals), len(slot.Updates))
			}
		})
	}
}
