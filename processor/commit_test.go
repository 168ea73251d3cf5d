package processor

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/state"
)

// The parse stage's commit bookkeeping: the gate commits a partition no
// further than ParseStage.Done and ParseStage.Floor allow, so the floor they return
// must never pass a record whose effect is not yet acknowledged (a replay from
// the commit would not rebuild it), and should rise as soon as it may (the
// commit lags by what it holds back; a replay re-reads all of it).
//
// A record's effect is acknowledged when
//   - for a counted record: the report holding its window's partial is, which
//     is when the record that flushed the window is acknowledged (Done), or the
//     idle flush that flushed it is released;
//   - for a dead-letter or late record: when the record itself is (Done).
//
// Claims without partials need no hold: a replay's first report claims
// everything from Unbounded again.
//
// commitBench drives a ParseStage as goka and the gate would, holding each record's
// emits until the test acknowledges them, and keeps its own account of every
// partition's unacknowledged records, learned from what the ParseStage emitted; at
// every step the floor must be exactly the lowest of them.

var commitLines = []string{
	`10.0.0.1 - - [14/Aug/2019:00:00:01 +0000] "GET /?os_type=ios HTTP/1.1" 200 1`,
	`10.0.0.1 - - [14/Aug/2019:00:00:01 +0000] "GET /?os_type=android HTTP/1.1" 200 1`,
	`10.0.0.1 - - [14/Aug/2019:00:00:01 +0000] "GET /?os_type=windows HTTP/1.1" 200 1`,
}

const notALogLine = "not an access log"

type commitBench struct {
	t     *testing.T
	p     *ParseStage
	cfg   ParseStageConfig
	parts []*ledger
	// idle flushes not yet released, by the id idle returned
	flushes map[int]*heldFlush
	flushed int // ids handed out
}

// ledger is the bench's account of one input partition.
type ledger struct {
	next   int64             // offset of the next record
	open   map[int64][]int64 // window start -> offsets counted there, not yet reported
	sentBy map[int64][]int64 // unacknowledged record -> offsets whose partials it emitted
	own    map[int64]bool    // unacknowledged dead-letter and late records
	emits  []int64           // records whose emits wait for acknowledgement
}

type heldFlush struct {
	partition int32
	offsets   []int64 // counted records whose partials it holds
	release   func()
}

func newCommitBench(t *testing.T, cfg ParseStageConfig) *commitBench {
	cfg.TimeSource = TimeFromRecord // the test sets event times as record timestamps
	cfg.OSParam = "os_type"
	cfg.Repartition, cfg.DeadLetter, cfg.Late = "reports", "dlq", "late"
	b := &commitBench{t: t, p: NewParseStage(cfg, NewMetrics(prometheus.NewRegistry())), cfg: cfg,
		flushes: make(map[int]*heldFlush)}
	for range cfg.Sources {
		b.parts = append(b.parts, newLedger(0))
	}
	return b
}

func newLedger(next int64) *ledger {
	return &ledger{next: next, open: make(map[int64][]int64), sentBy: make(map[int64][]int64), own: make(map[int64]bool)}
}

// pending returns the lowest offset whose effect is not acknowledged, or
// math.MaxInt64: the floor the ParseStage must report.
func (b *commitBench) pending(part int32) int64 {
	l := b.parts[part]
	low := int64(math.MaxInt64)
	for _, offs := range l.open {
		low = min(low, slices.Min(offs))
	}
	for _, offs := range l.sentBy {
		low = min(low, slices.Min(offs))
	}
	for off := range l.own {
		low = min(low, off)
	}
	for _, f := range b.flushes {
		if f.partition == part && len(f.offsets) > 0 {
			low = min(low, slices.Min(f.offsets))
		}
	}
	return low
}

// check fails the test unless every partition's Floor is what the bench
// accounts.
func (b *commitBench) check(after string) {
	b.t.Helper()
	for part := range b.parts {
		if got, want := b.p.Floor(int32(part)), b.pending(int32(part)); got != want {
			b.t.Fatalf("after %s: partition %d floor %s, want %s", after, part, floorText(got), floorText(want))
		}
	}
}

// want fails the test unless partition's Floor is floor.
func (b *commitBench) want(part int32, floor int64, why string) {
	b.t.Helper()
	if got := b.p.Floor(part); got != floor {
		b.t.Fatalf("partition %d floor %s, want %s: %s", part, floorText(got), floorText(floor), why)
	}
}

func floorText(o int64) string {
	if o == math.MaxInt64 {
		return "none"
	}
	return fmt.Sprint(o)
}

// record consumes a well-formed record with event time at (Unix ms) on
// partition and returns its offset.
func (b *commitBench) record(part int32, at int64) int64 {
	b.t.Helper()
	return b.consume(part, time.UnixMilli(at), commitLines[int(at/7)%len(commitLines)])
}

// garbage consumes a record for the dead-letter topic.
func (b *commitBench) garbage(part int32) int64 {
	b.t.Helper()
	return b.consume(part, time.UnixMilli(0), notALogLine)
}

// consume runs the ParseStage's callback on one record and accounts for what it
// emitted. A record that emitted nothing is acknowledged at once, as goka
// marks it when its callback returns.
func (b *commitBench) consume(part int32, ts time.Time, raw string) int64 {
	b.t.Helper()
	l := b.parts[part]
	off := l.next
	l.next++
	ctx := &recordContext{offset: off, partition: part, timestamp: ts}
	b.p.Consume(ctx, []byte(raw))
	counted := true
	for i, topic := range ctx.emitted {
		switch topic {
		case b.cfg.DeadLetter, b.cfg.Late:
			counted = false
			l.own[off] = true
		case b.cfg.Repartition:
			r := ctx.values[i].(*state.Report)
			l.sentBy[off] = append(l.sentBy[off], b.take(l, r, fmt.Sprintf("record %d", off))...)
		}
	}
	if counted {
		start := b.cfg.Windows.Start(ts.UnixMilli())
		l.open[start] = append(l.open[start], off)
	}
	if len(l.sentBy[off]) == 0 {
		delete(l.sentBy, off)
	}
	if len(ctx.emitted) == 0 {
		b.ack(part, off)
	} else {
		l.emits = append(l.emits, off)
	}
	b.check(fmt.Sprintf("consuming record %d of partition %d", off, part))
	return off
}

// take moves the records of r's partials out of the open windows and returns
// their offsets. Each partial must count exactly the records of its window.
func (b *commitBench) take(l *ledger, r *state.Report, by string) []int64 {
	b.t.Helper()
	var offs []int64
	for _, partial := range r.Partials {
		var n int64
		for _, c := range partial.Counts {
			n += c
		}
		counted := l.open[partial.Start]
		if int64(len(counted)) != n {
			b.t.Fatalf("%s reported window %d with %d records, want %d (offsets %v)", by, partial.Start, n, len(counted), counted)
		}
		offs = append(offs, counted...)
		delete(l.open, partial.Start)
	}
	return offs
}

// ack acknowledges every emit of the record at off (goka marks off+1), and
// checks the floor Done returns.
func (b *commitBench) ack(part int32, off int64) {
	b.t.Helper()
	l := b.parts[part]
	floor := b.p.Done(part, off+1)
	delete(l.own, off)
	delete(l.sentBy, off)
	l.emits = slices.DeleteFunc(l.emits, func(o int64) bool { return o == off })
	if want := b.pending(part); floor != want {
		b.t.Fatalf("Done(%d, %d) returned floor %s, want %s", part, off+1, floorText(floor), floorText(want))
	}
	b.check(fmt.Sprintf("acknowledging record %d of partition %d", off, part))
}

// idle runs the idle flush at now, every partition caught up, and returns
// the ids of the flushes it made, for release.
func (b *commitBench) idle(now int64) []int {
	b.t.Helper()
	var ids []int
	for _, f := range b.p.IdleFlushes(time.UnixMilli(now), func(int32, int64) (bool, bool) { return true, true }) {
		h := &heldFlush{partition: f.Partition, release: f.Release}
		for key, rs := range f.Reports {
			for _, r := range rs {
				h.offsets = append(h.offsets, b.take(b.parts[f.Partition], r, "idle flush to "+key)...)
			}
		}
		b.flushed++
		b.flushes[b.flushed] = h
		ids = append(ids, b.flushed)
	}
	b.check(fmt.Sprintf("the idle flush at %d", now))
	return ids
}

// quiet runs the idle flush twice, an idle timeout apart and the second at
// now: the first call sees the partitions quiet, the second closes their
// windows that ended grace+idle before now.
func (b *commitBench) quiet(now int64) []int {
	b.t.Helper()
	return append(b.idle(now-b.cfg.Idle.Milliseconds()), b.idle(now)...)
}

func (b *commitBench) release(id int) {
	b.t.Helper()
	b.flushes[id].release()
	delete(b.flushes, id)
	b.check(fmt.Sprintf("releasing idle flush %d", id))
}

// reset starts a new session: the ParseStage forgets everything, and every
// partition is consumed again from the lowest offset the commit can have
// reached (a hold's floor, or the next record when nothing is held).
// Acknowledgements of the old session never reach the ParseStage (the gate drops
// them); releases of its idle flushes may, and must change nothing.
func (b *commitBench) reset() (stale []func()) {
	b.t.Helper()
	b.p.Reset()
	for part, l := range b.parts {
		b.parts[part] = newLedger(min(l.next, b.pending(int32(part))))
	}
	for id, f := range b.flushes {
		stale = append(stale, f.release)
		delete(b.flushes, id)
	}
	for part := range b.parts {
		b.want(int32(part), math.MaxInt64, "Reset forgets every window and hold")
	}
	return stale
}

// oneSecond is the configuration of the scripted tests: 1 s windows, no
// grace, so a record in the next window closes the one before.
func oneSecond(sources int32) ParseStageConfig {
	return ParseStageConfig{Windows: state.Windows{Size: 1000}, Idle: time.Second, Sources: sources,
		SlotKeys: []string{"slot-0", "slot-1"}}
}

// TestCommitFloorAcksOutOfOrder acknowledges records in another order than
// their offsets': a window's report holds the floor at the window's first
// record until the record that sent it is acknowledged, whatever came after.
func TestCommitFloorAcksOutOfOrder(t *testing.T) {
	b := newCommitBench(t, oneSecond(1))
	r0 := b.record(0, 0)    // opens window 0; claims every slot
	r1 := b.record(0, 1000) // opens window 1000, reports window 0
	r2 := b.record(0, 2500) // opens window 2000, reports window 1000
	b.want(0, r0, "nothing acknowledged")

	b.ack(0, r2)
	b.want(0, r0, "window 0's report (record 1) is not acknowledged, though a later record's is")
	b.ack(0, r0)
	b.want(0, r0, "record 0's own claims do not carry its count; window 0's report does")
	b.ack(0, r1)
	b.want(0, r2, "windows 0 and 1000 are acknowledged; window 2000 is open from record 2")
}

// TestCommitFloorHeldRecord: a dead letter, or a record written to the late
// topic, holds the floor at its own offset until acknowledged, also after
// later records are.
func TestCommitFloorHeldRecord(t *testing.T) {
	for _, tc := range []struct {
		name string
		held func(b *commitBench) int64
	}{
		{"dead letter", func(b *commitBench) int64 { return b.garbage(0) }},
		{"late", func(b *commitBench) int64 { return b.record(0, 1000) }}, // the watermark is past 6000 by then
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newCommitBench(t, oneSecond(1))
			b.ack(0, b.record(0, 5000))
			r1 := b.record(0, 6000) // reports window 5000
			b.ack(0, r1)
			held := tc.held(b)
			if !b.parts[0].own[held] {
				t.Fatalf("record %d went to neither the dead-letter nor the late topic", held)
			}
			r3 := b.record(0, 7000) // reports window 6000
			b.want(0, r1, "window 6000's report is not acknowledged")
			b.ack(0, r3)
			b.want(0, held, "the held record is not acknowledged")
			b.record(0, 7500) // emits nothing: acknowledged at once
			b.want(0, held, "the held record is not acknowledged, though later records are")
			b.ack(0, held)
			b.want(0, r3, "window 7000 is open from record 3")
		})
	}
}

// TestCommitFloorIdleFlush: an idle flush holds the floor at its windows'
// first record until released, and releases in any order lift it as far as
// the flushes still held allow.
func TestCommitFloorIdleFlush(t *testing.T) {
	b := newCommitBench(t, oneSecond(1))
	r0 := b.record(0, 0)
	r1 := b.record(0, 1100) // reports window 0
	b.ack(0, r0)
	b.want(0, r0, "window 0's report is not acknowledged")

	first := b.quiet(3000) // closes window 1000 (ends 2000 = 3000 - idle)
	if len(first) != 1 || len(b.parts[0].open) != 0 {
		t.Fatalf("idle flushes %v leave windows %v open, want one flush closing every window", first, b.parts[0].open)
	}
	b.want(0, r0, "window 0's report is still not acknowledged")
	b.ack(0, r1)
	b.want(0, r1, "the idle flush of window 1000 (from record 1) is not released")

	r2 := b.record(0, 3500)
	second := b.quiet(5000)
	b.record(0, 5500)
	third := b.quiet(7000)
	if len(second) != 1 || len(third) != 1 {
		t.Fatalf("idle flushes %v and %v, want one each", second, third)
	}
	b.release(third[0])
	b.want(0, r1, "the first flush is not released")
	b.release(first[0])
	b.want(0, r2, "the second flush is not released")
	b.release(second[0])
	b.want(0, math.MaxInt64, "every flush is released and no window is open")
}

// TestCommitFloorReset: Reset forgets every open window and hold on every
// partition, and a release left over from the old session must not release
// the new session's idle flush (its hold keys must not collide).
func TestCommitFloorReset(t *testing.T) {
	b := newCommitBench(t, oneSecond(2))
	b.ack(0, b.record(0, 0))
	b.record(0, 1000) // window 0 reported, unacknowledged
	b.garbage(0)
	b.ack(1, b.record(1, 0))
	b.quiet(3000) // flushes window 1000 on partition 0 and window 0 on partition 1
	b.record(1, 3100)
	b.want(0, 0, "before the reset")
	b.want(1, 0, "before the reset")

	stale := b.reset()
	if len(stale) != 2 {
		t.Fatalf("%d idle flushes held before the reset, want 2", len(stale))
	}
	r0 := b.record(0, 0) // the new session consumes again from the commit
	b.ack(0, r0)
	held := b.quiet(2000)
	for _, release := range stale {
		release()
	}
	b.want(0, r0, "a release from the old session must not release the new session's idle flush")
	b.want(1, math.MaxInt64, "partition 1 has consumed nothing this session")
	for _, id := range held {
		b.release(id)
	}
	b.want(0, math.MaxInt64, "the new session's flush is released")
}

// TestCommitFloorMatchesAccount runs random record streams over two
// partitions (well-formed records in and out of order, late ones, dead
// letters) with acknowledgements in random order, idle flushes released in
// random order, and now and then a new session, checking after every step
// that each partition's floor is exactly the lowest offset whose effect is
// not acknowledged; at the end, once everything is acknowledged and every
// window idled out, that nothing is held.
func TestCommitFloorMatchesAccount(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		cfg := ParseStageConfig{
			Windows: state.Windows{Size: 1000}, Grace: time.Duration(rng.IntN(3)) * 500 * time.Millisecond,
			Idle: time.Second, Sources: 2, SlotKeys: []string{"slot-0", "slot-1", "slot-2"}[:1+rng.IntN(3)],
		}
		if rng.IntN(2) == 0 {
			cfg.ReportEvery = time.Hour // reports wait for the idle flush, which sends what is due
		}
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) { randomCommits(t, rng, cfg) })
		if t.Failed() {
			return
		}
	}
}

func randomCommits(t *testing.T, rng *rand.Rand, cfg ParseStageConfig) {
	b := newCommitBench(t, cfg)
	size, grace := cfg.Windows.Size, cfg.Grace.Milliseconds()
	const base = 1565743788000 // 2019-08-14
	watermark := []int64{base, base}
	var now int64 // of the idle flush; never goes back
	resets := 0
	for range 400 {
		part := rng.Int32N(2)
		l := b.parts[part]
		switch r := rng.IntN(100); {
		case r < 50:
			at := watermark[part] + rng.Int64N(size)
			switch rng.IntN(10) {
			case 0:
				b.garbage(part)
				continue
			case 1:
				b.consume(part, time.UnixMilli(-1000), commitLines[0]) // event time out of range: a dead letter
				continue
			case 2, 3:
				at = watermark[part] - rng.Int64N(grace+2*size) // out of order, perhaps late
			}
			watermark[part] = max(watermark[part], at)
			b.record(part, at)
		case r < 80:
			if len(l.emits) > 0 {
				b.ack(part, l.emits[rng.IntN(len(l.emits))])
			}
		case r < 90:
			now = max(now, watermark[part]+rng.Int64N(3*size)+grace+cfg.Idle.Milliseconds())
			b.quiet(now)
		case r < 99:
			if len(b.flushes) > 0 {
				ids := slices.Sorted(maps.Keys(b.flushes))
				b.release(ids[rng.IntN(len(ids))])
			}
		default:
			resets++
			b.reset()
		}
	}

	for part, l := range b.parts {
		for len(l.emits) > 0 {
			b.ack(int32(part), l.emits[rng.IntN(len(l.emits))])
		}
	}
	b.quiet(max(now, watermark[0], watermark[1]) + 10*size)
	for id := range b.flushes {
		b.release(id)
	}
	for part, l := range b.parts {
		if len(l.open) != 0 {
			t.Fatalf("partition %d: windows %v never reported", part, l.open)
		}
		b.want(int32(part), math.MaxInt64, "everything is acknowledged and every window idled out")
	}
	t.Logf("offsets %d and %d, %d idle flushes, %d new sessions", b.parts[0].next, b.parts[1].next, b.flushed, resets)
}
