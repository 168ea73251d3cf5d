package state

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// This file holds what the tests share: a reference model of one source
// partition (written from the package documentation, not from the code), a
// record generator, and a harness that feeds reports into Slots and checks
// the window stage's invariants on every Apply.

var osTypes = []string{"linux", "windows", "macos", "android", "ios"}

// farFuture is a wall clock after every event time the tests generate.
const farFuture = MaxEventTime

type record struct {
	off int64
	t   int64
	os  string
}

// refStart is the reference window start for the moderate times the
// randomized tests use (no overflow handling on purpose: it is the oracle).
func refStart(t, size int64) int64 {
	q := t / size
	if t%size != 0 && t < 0 {
		q--
	}
	return q * size
}

// refSlot is the reference slot of the window starting at start.
func refSlot(start, size int64, slots int32) int32 {
	i := refStart(start, size) / size
	return int32(((i % int64(slots)) + int64(slots)) % int64(slots))
}

// model is a reference implementation of one source partition's rules: the
// watermark is the highest event time seen, [s,e) is closed once
// watermark >= e+grace (or by CloseIdle), a record of a closed window is late,
// and a flush claims [reported, closed).
type model struct {
	size, grace int64
	seen        bool
	wm          int64
	closed      int64 // windows ending at or before closed are closed
	reported    int64
	open        map[int64]*modelWindow
	late        int
}

type modelWindow struct {
	first  int64
	counts map[string]int64
}

func newModel(size, grace int64) *model {
	return &model{size: size, grace: grace, closed: math.MinInt64, reported: math.MinInt64, open: map[int64]*modelWindow{}}
}

func (m *model) closeThrough(b int64) { m.closed = max(m.closed, b) }

func (m *model) add(r record) bool {
	if !m.seen || r.t > m.wm {
		m.seen, m.wm = true, r.t
		m.closeThrough(refStart(r.t-m.grace, m.size))
	}
	ws := refStart(r.t, m.size)
	if m.closed != math.MinInt64 && ws+m.size <= m.closed {
		m.late++
		return false
	}
	w := m.open[ws]
	if w == nil {
		w = &modelWindow{first: r.off, counts: map[string]int64{}}
		m.open[ws] = w
	}
	w.counts[r.os]++
	return true
}

func (m *model) closeIdle(now, idle int64) { m.closeThrough(refStart(now-idle-m.grace, m.size)) }

func (m *model) due() bool { return m.closed > m.reported }

// flush returns the claim, the windows it hands over and the floor.
func (m *model) flush() (from, to int64, wins map[int64]map[string]int64, floor int64) {
	floor = math.MaxInt64
	from, to = m.reported, m.closed
	wins = map[int64]map[string]int64{}
	for ws, w := range m.open {
		if ws+m.size <= to {
			wins[ws] = w.counts
			floor = min(floor, w.first)
			delete(m.open, ws)
		}
	}
	m.reported = to
	return from, to, wins, floor
}

func (m *model) safe() int64 {
	s := int64(math.MaxInt64)
	for _, w := range m.open {
		s = min(s, w.first)
	}
	return s
}

// groundTruth is the expected output of the whole pipeline once every
// partition is closed: for each partition a plain loop over its records in
// offset order (watermark, closed boundary, late rule), summed over
// partitions. It shares no code with the model above or the package.
func groundTruth(parts [][]record, size, grace int64) (finals map[int64]map[string]int64, late int) {
	finals = map[int64]map[string]int64{}
	for _, recs := range parts {
		wm, closed := int64(math.MinInt64), int64(math.MinInt64)
		for _, r := range recs {
			if r.t > wm {
				wm = r.t
				closed = max(closed, refStart(wm-grace, size))
			}
			ws := refStart(r.t, size)
			if ws+size <= closed {
				late++
				continue
			}
			if finals[ws] == nil {
				finals[ws] = map[string]int64{}
			}
			finals[ws][r.os]++
		}
	}
	return finals, late
}

type pipeCfg struct {
	size, grace int64
	P, R        int32
}

func (c pipeCfg) String() string {
	return fmt.Sprintf("size=%d grace=%d sources=%d slots=%d", c.size, c.grace, c.P, c.R)
}

func (c pipeCfg) aggregator(src int32) *Aggregator {
	return NewAggregator(AggregatorConfig{Windows: Windows{c.size}, Grace: c.grace, Source: src, Sources: c.P, Slots: c.R})
}

func randomCfg(rng *rand.Rand) pipeCfg {
	size := []int64{1, 3, 10, 60, 1000}[rng.IntN(5)]
	var grace int64
	switch rng.IntN(4) {
	case 0:
		grace = 0
	case 1:
		grace = size // exactly one window
	default:
		grace = rng.Int64N(3*size + 1)
	}
	return pipeCfg{size: size, grace: grace, P: 1 + rng.Int32N(6), R: 1 + rng.Int32N(5)}
}

// genPartition makes n records with offsets increasing (with gaps) and event
// times mostly increasing: small steps, occasional jumps over empty windows,
// out-of-order records within grace (never late) and beyond it (often late).
func genPartition(rng *rand.Rand, c pipeCfg, n int, base int64) []record {
	recs := make([]record, 0, n)
	off := rng.Int64N(1000)
	cur := base
	for range n {
		var t int64
		switch x := rng.IntN(100); {
		case x < 60:
			cur += rng.Int64N(c.size/2 + 1)
			t = cur
		case x < 66:
			cur += c.size + rng.Int64N(5*c.size)
			t = cur
		case x < 85:
			t = cur - rng.Int64N(c.grace+1)
		default:
			t = cur - c.grace - 1 - rng.Int64N(3*c.size+1)
		}
		recs = append(recs, record{off: off, t: t, os: osTypes[rng.IntN(len(osTypes))]})
		off++
		if rng.IntN(8) == 0 {
			off += rng.Int64N(5) // compaction / transaction markers
		}
	}
	return recs
}

func genParts(rng *rand.Rand, c pipeCfg) [][]record {
	base := 20*c.size + 4*c.grace + rng.Int64N(40*c.size) // late records stay inside the domain (>= MinEventTime)
	parts := make([][]record, c.P)
	for p := range parts {
		n := rng.IntN(200)
		if rng.IntN(8) == 0 {
			n = 0 // an empty partition must still let windows complete
		}
		parts[p] = genPartition(rng, c, n, base+rng.Int64N(4*c.size))
	}
	return parts
}

// flushed is one Flush: the record index whose Add triggered it (len(recs) for
// the final CloseIdle flush), the reports in slot order and the floor.
type flushed struct {
	at      int
	reports []slotReport
	floor   int64
}

type slotReport struct {
	slot int32
	r    *Report
}

func flushNow(a *Aggregator, at int) flushed {
	rs, floor := a.Flush()
	f := flushed{at: at, floor: floor}
	for _, s := range slices.Sorted(maps.Keys(rs)) {
		f.reports = append(f.reports, slotReport{s, rs[s]})
	}
	return f
}

// runPartition runs a fresh aggregator over recs[from:to], flushing after
// every Add when due; when end is set it then closes everything and flushes.
func runPartition(a *Aggregator, recs []record, from, to int, end bool) (fl []flushed, late int) {
	for i := from; i < to; i++ {
		r := recs[i]
		if !a.Add(r.off, r.t, r.os) {
			late++
		}
		if a.Due() {
			fl = append(fl, flushNow(a, i))
		}
	}
	if end {
		a.CloseIdle(farFuture, 0)
		if a.Due() {
			fl = append(fl, flushNow(a, len(recs)))
		}
	}
	return fl, late
}

// interleave merges per-source queues in a random order that keeps each
// queue's own order, or, with shuffle, in any order at all.
func interleave(rng *rand.Rand, queues [][]*Report, shuffle bool) []*Report {
	var seq []*Report
	if shuffle {
		for _, q := range queues {
			seq = append(seq, q...)
		}
		rng.Shuffle(len(seq), func(i, j int) { seq[i], seq[j] = seq[j], seq[i] })
		return seq
	}
	heads := make([]int, len(queues))
	for {
		var live []int
		for i, q := range queues {
			if heads[i] < len(q) {
				live = append(live, i)
			}
		}
		if len(live) == 0 {
			return seq
		}
		i := live[rng.IntN(len(live))]
		seq = append(seq, queues[i][heads[i]])
		heads[i]++
	}
}

// withDuplicates re-inserts a random subset of seq, each copy somewhere after
// its original (a producer retry, or a report rebuilt and re-sent).
func withDuplicates(rng *rand.Rand, seq []*Report, p float64) []*Report {
	out := slices.Clone(seq)
	for i := len(seq) - 1; i >= 0; i-- {
		if rng.Float64() < p {
			pos := i + 1 + rng.IntN(len(out)-i)
			out = slices.Insert(out, pos, seq[i])
		}
	}
	return out
}

// harness applies reports to slots and checks on every Apply that
//   - a window is finalised at most once, in its own slot, at the offset of
//     the report that completed it, with the totals its Updates announced;
//   - no Update touches a window after it is final;
//   - re-applying at an offset at or above the slot's committed offset (a
//     replay, even with another report) returns what that offset returned
//     the first time, and changes nothing;
//   - applying at an older offset changes nothing;
//   - a slot encoded and decoded (a table write and reload) behaves the same.
//
// Each slot's committed offset rises at random, never past the offset being
// applied, and the slot retains only a few finals beyond what a replay needs.
type harness struct {
	t         *testing.T
	rng       *rand.Rand
	windows   Windows
	retain    int
	slots     map[int32]*Slot
	tables    map[int32]store
	next      map[int32]int64
	committed map[int32]int64
	outs      map[int32]map[int64]Output // slot -> offset -> the first output there
	finals    map[int64]map[string]int64
	totals    map[int64]map[string]int64
	nslots    int32
	all       []*Report // every report applied, to pick replay impostors from
}

func newHarness(t *testing.T, rng *rand.Rand, size int64, nslots int32) *harness {
	return &harness{
		t: t, rng: rng, windows: Windows{size}, retain: rng.IntN(4),
		slots: map[int32]*Slot{}, tables: map[int32]store{}, next: map[int32]int64{}, committed: map[int32]int64{},
		outs:   map[int32]map[int64]Output{},
		finals: map[int64]map[string]int64{}, totals: map[int64]map[string]int64{},
		nslots: nslots,
	}
}

func encodeSlot(t *testing.T, s *Slot) []byte {
	t.Helper()
	b, err := SlotCodec{}.Encode(s)
	if err != nil {
		t.Fatalf("encode slot: %v", err)
	}
	return b
}

// store is a window table partition as the window stage keeps one slot in
// it: the slot's value under "slot", and each part under a key of its own.
type store map[string][]byte

func partKey(id PartID) string { return fmt.Sprintf("part/%d/%d", id.Window, id.Source) }

// op is one write to a store: a value, or a delete when value is nil.
type op struct {
	key   string
	value []byte
}

// writes returns the writes that store what s changed since the last call,
// in the window stage's order: the parts counted, the slot, the parts
// dropped. Kafka keeps that order within the partition: a crash keeps a
// prefix of it.
func writes(t *testing.T, s *Slot) []op {
	t.Helper()
	written, deleted := s.Changes()
	var ops []op
	for _, p := range written {
		b, err := SlotCodec{}.Encode(p)
		if err != nil {
			t.Fatalf("encode part: %v", err)
		}
		ops = append(ops, op{partKey(PartID{p.Window, p.Source}), b})
	}
	ops = append(ops, op{"slot", encodeSlot(t, s)})
	for _, id := range deleted {
		ops = append(ops, op{key: partKey(id)})
	}
	return ops
}

func (st store) do(ops []op) {
	for _, o := range ops {
		if o.value == nil {
			delete(st, o.key)
		} else {
			st[o.key] = o.value
		}
	}
}

// write stores what s changed since the last call.
func (st store) write(t *testing.T, s *Slot) { st.do(writes(t, s)) }

// storeOf is a store that holds s and every part it holds.
func storeOf(t *testing.T, s *Slot) store {
	t.Helper()
	st := store{"slot": encodeSlot(t, s)}
	for _, p := range s.Parts() {
		b, err := SlotCodec{}.Encode(p)
		if err != nil {
			t.Fatalf("encode part: %v", err)
		}
		st[partKey(PartID{p.Window, p.Source})] = b
	}
	return st
}

// load decodes the slot and its parts, as the window stage restores them.
func (st store) load(t *testing.T) *Slot {
	t.Helper()
	s := NewSlot()
	if b, ok := st["slot"]; ok {
		v, err := SlotCodec{}.Decode(b)
		if err != nil {
			t.Fatalf("decode slot: %v", err)
		}
		s = v.(*Slot)
	}
	for _, k := range slices.Sorted(maps.Keys(st)) {
		if k == "slot" {
			continue
		}
		v, err := SlotCodec{}.Decode(st[k])
		if err != nil {
			t.Fatalf("decode %s: %v", k, err)
		}
		if !s.Restore(v.(*Part)) {
			delete(st, k)
		}
	}
	return s
}

// snapshot is the slot's value and its parts' as the table would hold them,
// for comparing two states of a slot.
func snapshot(t *testing.T, s *Slot) string {
	t.Helper()
	var b strings.Builder
	b.Write(encodeSlot(t, s))
	parts := s.Parts()
	slices.SortFunc(parts, func(a, b *Part) int {
		return cmp.Or(cmp.Compare(a.Window, b.Window), cmp.Compare(a.Source, b.Source))
	})
	for _, p := range parts {
		e, _ := SlotCodec{}.Encode(p)
		b.Write(e)
	}
	return b.String()
}

func (h *harness) apply(slot int32, r *Report) {
	t := h.t
	t.Helper()
	s := h.slots[slot]
	if s == nil {
		s = NewSlot()
		h.slots[slot] = s
		h.tables[slot] = store{}
		h.next[slot] = h.rng.Int64N(100)
		h.outs[slot] = map[int64]Output{}
	}
	off := h.next[slot]
	h.next[slot] = off + 1 + h.rng.Int64N(3)
	h.all = append(h.all, r)
	if h.rng.IntN(3) == 0 {
		h.committed[slot] += h.rng.Int64N(off - h.committed[slot] + 1)
	}
	cfg := SlotConfig{Windows: h.windows, Committed: h.committed[slot], Retain: h.retain}

	out := s.Apply(r, off, cfg)
	h.outs[slot][off] = out

	for _, u := range out.Updates {
		if _, done := h.finals[u.Start]; done {
			t.Fatalf("slot %d offset %d: update %v for window %d, already final", slot, off, u.Counts, u.Start)
		}
		if h.totals[u.Start] == nil {
			h.totals[u.Start] = map[string]int64{}
		}
		maps.Copy(h.totals[u.Start], u.Counts)
	}
	for _, f := range out.Finals {
		if prev, done := h.finals[f.Start]; done {
			t.Fatalf("slot %d offset %d: window %d finalised twice: %v then %v", slot, off, f.Start, prev, f.Counts)
		}
		if got := refSlot(f.Start, h.windows.Size, h.nslots); got != slot {
			t.Fatalf("window %d finalised in slot %d, belongs to slot %d", f.Start, slot, got)
		}
		if f.Offset != off {
			t.Fatalf("final of window %d carries offset %d, completed at %d", f.Start, f.Offset, off)
		}
		if !maps.Equal(f.Counts, h.totals[f.Start]) {
			t.Fatalf("final of window %d is %v, its updates announced %v", f.Start, f.Counts, h.totals[f.Start])
		}
		h.finals[f.Start] = maps.Clone(f.Counts)
	}

	if h.rng.IntN(4) == 0 { // a replay, maybe with another report, or a stale offset
		imp := h.all[h.rng.IntN(len(h.all))]
		at := off
		if h.rng.IntN(2) == 0 { // anywhere from a little below the committed offset
			lo := max(0, h.committed[slot]-4)
			at = lo + h.rng.Int64N(off-lo+1)
		}
		before := snapshot(t, s)
		again := s.Apply(imp, at, cfg)
		if first := h.outs[slot][at]; at >= h.committed[slot] && !reflect.DeepEqual(again, first) {
			t.Fatalf("slot %d replay at %d (committed %d, applied %d): got %+v, first time %+v",
				slot, at, h.committed[slot], off, again, first)
		}
		if after := snapshot(t, s); before != after {
			t.Fatalf("slot %d apply at %d <= %d changed the slot:\n%s\n%s", slot, at, off, before, after)
		}
	}
	h.tables[slot].write(t, s)
	if h.rng.IntN(8) == 0 { // reload from the changelog
		h.slots[slot] = h.tables[slot].load(t)
	}
}

// checkFinals compares the finals with the ground truth and checks that no
// slot keeps a window open.
func (h *harness) checkFinals(want map[int64]map[string]int64) {
	t := h.t
	t.Helper()
	for _, ws := range slices.Sorted(maps.Keys(want)) {
		got, ok := h.finals[ws]
		if !ok {
			t.Errorf("window %d: never finalised, want %v", ws, want[ws])
			continue
		}
		if !maps.Equal(got, want[ws]) {
			t.Errorf("window %d: final %v, want %v", ws, got, want[ws])
		}
	}
	for _, ws := range slices.Sorted(maps.Keys(h.finals)) {
		if _, ok := want[ws]; !ok {
			t.Errorf("window %d: finalised with %v, but it has no counted record", ws, h.finals[ws])
		}
	}
	for slot, s := range h.slots {
		if s.OpenWindows() != 0 {
			t.Errorf("slot %d still has open windows %v after every source closed everything", slot, s.Open())
		}
	}
}
