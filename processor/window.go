package processor

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"

	"github.com/oscheck/oscheck/processor/output"
	"github.com/oscheck/oscheck/state"
)

// WindowStageConfig configures the window stage.
type WindowStageConfig struct {
	Windows state.Windows
	Retain  int // finals kept per slot for re-emission and queries
	Emit    EmitMode
	Format  output.Format
	Output  goka.Stream
	// Parts is where the stage emits a slot's parts (state.Part) and their
	// deletes: the window table's changelog under another name, which the
	// producer maps to the changelog (goka refuses emits to a table). A
	// slot's parts go to its own partition, under PartKey's keys, and into
	// Store, so that goka restores them with the slot, in order: the parts a
	// report counted before the slot, the deletes after it.
	Parts goka.Stream
	// PartKey returns the table key of a part of the slot in partition: a
	// key goka's partitioner sends there, the same on every instance.
	PartKey func(partition int32, id state.PartID) string
	// Store returns the local storage of a window table partition the
	// stage owns, which it restores the slot's parts from at its first read
	// of the slot in a session.
	Store func(partition int32) storage.Storage
	// Transactional runs the stage under exactly_once_v2: the table write,
	// the output and the input offset of a report commit together, so a
	// report read again was never applied, or its output is committed.
	Transactional bool
	// Committed returns a partition's committed offset as last known:
	// under at_least_once a slot keeps what the reports from there on
	// emitted, for a replay to emit again.
	Committed func(partition int32) int64
	// Moved, if not nil, is told when a slot finds that its repartition
	// partition is not the one it applied reports from (state.Slot.Track).
	Moved func(partition int32, key string, applied int64)
}

// claim is what the window stage knows of a repartition partition it
// claimed: the topic's ID ("" if unknown) and the partition's end offset
// then (-1 if unknown).
type claim struct {
	topic string
	end   int64
}

// WindowStage is the window stage: a goka callback over the repartition topic
// whose table holds one state.Slot per slot key.
//
// Every callback writes the table and emits, so each record holds the commit
// until goka has both acknowledged: sarama commits the highest offset marked,
// and goka marks records as their emits complete, which need not be in order.
type WindowStage struct {
	cfg     WindowStageConfig
	metrics *Metrics

	mu    sync.Mutex
	holds map[int32]*holds
	// slots holds, per table key, the slot this instance last wrote in the
	// current session. goka's ctx.Value decodes the stored value on every
	// call, which for a slot retaining its finals costs far more than
	// applying a report; within a session, this instance is the only writer
	// of its partitions' keys, so the slot it wrote is the stored value.
	slots map[string]*state.Slot
	open  map[string]int // per table key, len(slot.Open) after the last report
	// delivered, per partition, outlives sessions: see delivered.
	delivered map[int32]*delivered
	claims    map[int32]claim // by partition, for the current session
	// sources is the number of input partitions as last learned (Grow):
	// every slot read waits for that many sources' claims.
	sources atomic.Int32
}

// NewWindowStage returns a window stage.
func NewWindowStage(cfg WindowStageConfig, m *Metrics) *WindowStage {
	return &WindowStage{cfg: cfg, metrics: m, holds: make(map[int32]*holds), slots: make(map[string]*state.Slot),
		open: make(map[string]int), delivered: make(map[int32]*delivered), claims: make(map[int32]claim)}
}

// Consume is the goka callback for the repartition topic.
func (w *WindowStage) Consume(ctx goka.Context, msg any) {
	r, ok := msg.(*state.Report)
	if !ok {
		return
	}
	w.mu.Lock()
	slot := w.slots[ctx.Key()]
	c, claimed := w.claims[ctx.Partition()]
	w.mu.Unlock()
	if slot == nil {
		// First read in this session: the stored slot may have applied
		// the reports of a topic deleted since.
		slot, _ = ctx.Value().(*state.Slot)
		if slot == nil {
			slot = state.NewSlot()
		}
		if err := w.restoreParts(ctx, slot); err != nil {
			ctx.Fail(err)
		}
		if !claimed {
			c = claim{end: -1}
		}
		if applied := slot.Applied - slot.Base; slot.Track(c.topic, c.end) {
			// What this process delivered of the old topic says nothing
			// of the new one's offsets.
			w.mu.Lock()
			delete(w.delivered, ctx.Partition())
			w.mu.Unlock()
			if w.cfg.Moved != nil {
				w.cfg.Moved(ctx.Partition(), ctx.Key(), applied)
			}
		}
	}
	if w.cfg.Transactional {
		// What the stage learned of the input, not in the log: only a
		// transaction makes it one decision (the commit asks again, and
		// aborts what was decided for fewer sources). Under at_least_once
		// a report read again must decide what it decided the first time,
		// so slots learn of new sources from the reports alone.
		slot.Grow(w.sources.Load())
	}
	// The report's position in the slot's history.
	offset := slot.Base + ctx.Offset()
	replay := offset <= slot.Applied
	if replay && w.cfg.Transactional {
		// A transaction committed the report with its output; only a
		// reader that started below its commit (a stale offset) reads it
		// again.
		return
	}
	// What a replay may read again: under exactly_once_v2 nothing that was
	// applied, under at_least_once everything from the committed offset on.
	committed := offset + 1
	if !w.cfg.Transactional {
		// A committed offset of the deleted topic may be known still.
		committed = min(slot.Base+w.cfg.Committed(ctx.Partition()), offset)
	}
	out := slot.Apply(r, offset, state.SlotConfig{Windows: w.cfg.Windows, Retain: w.cfg.Retain, Committed: committed})
	if w.cfg.Transactional {
		w.mu.Lock()
		w.cache(ctx.Key(), slot)
		w.mu.Unlock()
		w.write(ctx, slot)
		w.emit(ctx, out, true)
		return
	}

	w.mu.Lock()
	h := w.holds[ctx.Partition()]
	if h == nil {
		h = new(holds)
		w.holds[ctx.Partition()] = h
	}
	// Holds and deliveries are by the topic's offsets, which Done and the
	// gate's commits are in, not by the slot's positions.
	h.add(ctx.Offset(), ctx.Offset())
	d := w.delivered[ctx.Partition()]
	if d == nil {
		d = newDelivered()
		w.delivered[ctx.Partition()] = d
	}
	// A replayed report this process finished before has its finals in
	// the output already.
	emitted := replay && d.covers(ctx.Offset())
	d.seen(ctx.Offset())
	w.cache(ctx.Key(), slot)
	w.mu.Unlock()

	if !replay {
		w.write(ctx, slot)
	}
	if emitted {
		out.Finals, out.Updates = nil, nil
	}
	w.emit(ctx, out, !replay)
}

// Grow tells the stage that the input has n partitions. Under
// exactly_once_v2 every slot it reads from then on waits for n sources'
// claims before it finalises a window (state.Slot.Grow); the caller must
// tell it before the stage commits a final that a partition added since
// might have records for. Under at_least_once slots learn it from the
// reports (state.Report.Sources).
func (w *WindowStage) Grow(n int32) {
	for {
		old := w.sources.Load()
		if n <= old || w.sources.CompareAndSwap(old, n) {
			return
		}
	}
}

// Sources returns the number of input partitions the stage knows of.
func (w *WindowStage) Sources() int32 { return w.sources.Load() }

// Claimed tells the stage, before it reads a repartition partition it has
// been given, the topic's ID ("" if the brokers do not tell) and the
// partition's end offset (-1 if unknown): what the partition's slot needs to
// tell a topic deleted and created again (state.Slot.Track).
func (w *WindowStage) Claimed(partition int32, topic string, end int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.claims[partition] = claim{topic: topic, end: end}
}

// cache keeps slot as key's stored value for the session. It must be
// called with w.mu held.
func (w *WindowStage) cache(key string, slot *state.Slot) {
	w.slots[key] = slot
	w.open[key] = slot.OpenWindows()
}

// write stores slot in the table with what it changed since the last
// write: the parts it counted first and the parts it dropped last, so that
// under at_least_once, where a crash may keep any prefix of a callback's
// writes, the slot's value is in the table only with its parts.
func (w *WindowStage) write(ctx goka.Context, slot *state.Slot) {
	written, deleted := slot.Changes()
	st := w.cfg.Store(ctx.Partition())
	for _, p := range written {
		key := w.cfg.PartKey(ctx.Partition(), state.PartID{Window: p.Window, Source: p.Source})
		value, err := state.SlotCodec{}.Encode(p)
		if err == nil {
			err = st.Set(key, value)
		}
		if err != nil {
			ctx.Fail(fmt.Errorf("writing part %q of slot %q: %w", key, ctx.Key(), err))
		}
		ctx.Emit(w.cfg.Parts, key, value)
	}
	ctx.SetValue(slot)
	for _, id := range deleted {
		w.deletePart(ctx, st, w.cfg.PartKey(ctx.Partition(), id))
	}
}

func (w *WindowStage) deletePart(ctx goka.Context, st storage.Storage, key string) {
	if err := st.Delete(key); err != nil {
		ctx.Fail(fmt.Errorf("deleting part %q of slot %q: %w", key, ctx.Key(), err))
	}
	ctx.Emit(w.cfg.Parts, key, nil)
}

// restoreParts gives slot, just read from the table, the parts stored in
// its partition, and deletes those it no longer keeps (state.Slot.Restore).
func (w *WindowStage) restoreParts(ctx goka.Context, slot *state.Slot) error {
	st := w.cfg.Store(ctx.Partition())
	it, err := st.Iterator()
	if err != nil {
		return fmt.Errorf("reading the parts of slot %q: %w", ctx.Key(), err)
	}
	var stale []string
	for it.Next() {
		value, err := it.Value()
		if err != nil || value == nil {
			continue
		}
		v, err := state.SlotCodec{}.Decode(value)
		if err != nil {
			it.Release()
			return fmt.Errorf("window table key %q: %w", it.Key(), err)
		}
		if p, ok := v.(*state.Part); ok && !slot.Restore(p) {
			stale = append(stale, string(it.Key()))
		}
	}
	it.Release()
	if err := it.Err(); err != nil {
		return fmt.Errorf("reading the parts of slot %q: %w", ctx.Key(), err)
	}
	for _, key := range stale {
		w.deletePart(ctx, st, key)
	}
	return nil
}

// emit writes the output of a report and, first time it is applied
// (first), its metrics.
func (w *WindowStage) emit(ctx goka.Context, out state.Output, first bool) {
	emit := out.Finals
	if w.cfg.Emit == EmitUpdate {
		emit = out.Updates
	}
	now := time.Now()
	for _, f := range emit {
		end := f.Start + w.cfg.Windows.Size
		for _, os := range slices.Sorted(maps.Keys(f.Counts)) {
			key, value := w.cfg.Format.Encode(output.Window{OSType: os, Start: f.Start, End: end, Count: f.Counts[os]})
			ctx.Emit(w.cfg.Output, string(key), value)
			w.metrics.WindowsEmitted.WithLabelValues(w.metrics.OSLabel(os)).Inc()
		}
	}
	if first {
		w.metrics.RecordsLateJoined.Add(float64(out.Late))
		for _, f := range out.Finals {
			w.metrics.EmitLatency.Observe(now.Sub(time.UnixMilli(f.Start + w.cfg.Windows.Size)).Seconds())
			w.metrics.final(f.Counts)
		}
	}
}

// Done implements CommitFloor.
func (w *WindowStage) Done(partition int32, next int64) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if h := w.holds[partition]; h != nil {
		h.release(next - 1)
		floor := h.floor()
		w.delivered[partition].acked(floor)
		return floor
	}
	return math.MaxInt64
}

// Floor implements CommitFloor.
func (w *WindowStage) Floor(partition int32) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if h := w.holds[partition]; h != nil {
		return h.floor()
	}
	return math.MaxInt64
}

// Reset implements CommitFloor.
func (w *WindowStage) Reset() {
	w.mu.Lock()
	w.holds = make(map[int32]*holds)
	w.claims = make(map[int32]claim)
	w.slots = make(map[string]*state.Slot)
	w.open = make(map[string]int)
	for _, d := range w.delivered {
		d.session()
	}
	w.mu.Unlock()
}

// OpenWindows returns the number of windows with counts that are not final
// yet in the slots this instance wrote in the current session.
func (w *WindowStage) OpenWindows() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, k := range w.open {
		n += k
	}
	return n
}
