package processor

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/processor/output"
	"github.com/oscheck/oscheck/state"
)

// slotContext is the part of goka.Context the WindowStage uses, for one
// record of the repartition topic; table is the window table partition the
// record's slot is stored in.
type slotContext struct {
	gokaContext // the methods Consume does not call: nil (see parse_test.go)
	table       *testTable
	key         string
	offset      int64
	partition   int32
	emits       int // records emitted to the output
}

func (c *slotContext) Key() string      { return c.key }
func (c *slotContext) Value() any       { return c.table.value(c.key) }
func (c *slotContext) Offset() int64    { return c.offset }
func (c *slotContext) Partition() int32 { return c.partition }
func (c *slotContext) SetValue(v any, _ ...goka.ContextOption) {
	b, err := state.SlotCodec{}.Encode(v)
	if err != nil {
		panic(err)
	}
	if err := c.table.Set(c.key, b); err != nil {
		panic(err)
	}
}

// Emit counts the output's records; the WindowStage writes the parts it emits
// to the table (WindowStageConfig.Store) itself.
func (c *slotContext) Emit(s goka.Stream, _ string, _ any, _ ...goka.ContextOption) {
	if s != partsStream {
		c.emits++
	}
}

// testTable is a window table partition: slots and parts, encoded.
type testTable struct{ storage.Storage }

func newTestTable() *testTable { return &testTable{storage.NewMemory()} }

// value decodes the value under key, nil if none.
func (t *testTable) value(key string) any {
	b, err := t.Get(key)
	if err != nil || b == nil {
		return nil
	}
	v, err := state.SlotCodec{}.Decode(b)
	if err != nil {
		panic(err)
	}
	return v
}

// clone is what the table holds now, to restore as after a crash.
func (t *testTable) clone() *testTable {
	c := newTestTable()
	it, _ := t.Iterator()
	for it.Next() {
		v, _ := it.Value()
		_ = c.Set(string(it.Key()), v)
	}
	return c
}

const partsStream goka.Stream = "parts"

// over returns cfg, a window stage's configuration, with table its table.
func over(cfg WindowStageConfig, table *testTable) WindowStageConfig {
	cfg.Parts = partsStream
	cfg.PartKey = func(_ int32, id state.PartID) string { return fmt.Sprintf("part/%d/%d", id.Window, id.Source) }
	cfg.Store = func(int32) storage.Storage { return table }
	return cfg
}

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
			table := newTestTable()
			w := NewWindowStage(over(WindowStageConfig{Windows: state.Windows{Size: 2000}, Retain: 8, Emit: EmitFinal,
				Format: output.KStreams, Output: "os-check", Committed: func(int32) int64 { return 10 }}, table),
				NewMetrics(prometheus.NewRegistry()))
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
			table := newTestTable()
			w := NewWindowStage(over(WindowStageConfig{Windows: state.Windows{Size: 2000}, Retain: 8, Emit: emit,
				Format: output.KStreams, Output: "os-check", Transactional: true}, table), NewMetrics(prometheus.NewRegistry()))
			report := &state.Report{Source: 0, Sources: 1, From: 0, To: 2000,
				Partials: []state.Partial{{Start: 0, Counts: map[string]int64{"android": 3}}}}
			first := &slotContext{table: table, key: "slot-0", offset: 10}
			w.Consume(first, report)
			if first.emits != 1 {
				t.Fatalf("first read emitted %d records, want 1", first.emits)
			}
			stored := table.clone()
			w.Reset()
			again := &slotContext{table: table, key: "slot-0", offset: 10}
			w.Consume(again, report)
			if again.emits != 0 || !reflect.DeepEqual(table.clone(), stored) {
				t.Errorf("read again, it emitted %d records and wrote the table: %v", again.emits, !reflect.DeepEqual(table.clone(), stored))
			}
			if slot := table.value("slot-0").(*state.Slot); len(slot.Closed) != 1 {
				t.Errorf("the slot keeps %d finals, want the 1 final for queries", len(slot.Closed))
			}
		})
	}
}
