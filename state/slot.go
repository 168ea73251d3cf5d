package state

import (
	"slices"
	"sort"
)

// Slot is the window stage's state for one slot key: what each source
// partition has claimed, and the counts of the windows of the slot that are
// not final yet or were final recently.
//
// A slot is stored as several table values: the slot itself (its encoding
// holds no counts: claims, sources and the recent finals' starts), and one
// Part per (window, source) it counted. A report writes the slot and the
// parts it counted, and deletes the parts of windows the slot no longer
// keeps (Changes), so its cost and every value's size grow with what the
// report changes, not with the windows that wait for a lagging source.
//
// Apply is the only way a Slot changes. It is deterministic, and it remembers
// the offset of the last report it applied so that a replayed report (the
// table write and the output emit are not atomic in goka) changes nothing and
// yields the same output again.
type Slot struct {
	// Applied comes first in the encoding so that SlotSupersedes finds it
	// without reading the rest. It is the position of the last report
	// applied, -1 for none: its offset plus Base.
	Applied int64 `json:"applied"`
	// Topic is the ID of the repartition topic whose reports the slot
	// applies ("" if unknown: a slot written before oscheck recorded it, or
	// brokers before Kafka 2.8, which have no topic IDs).
	Topic string `json:"topic,omitempty"`
	// Base is added to a report's offset to give its position. A topic
	// deleted and created again under the same name starts its offsets over;
	// the slot then continues its positions past those of the old topic
	// (Track), so that Applied only rises along the slot's history.
	Base    int64               `json:"base,omitempty"`
	Sources int32               `json:"sources"`
	Claims  map[int32]Intervals `json:"claims"`
	// Joined holds, for each source the slot learned of after it had
	// finalised windows (an input partition added while oscheck ran), the
	// windows final when it joined: its partials for them are late.
	Joined map[int32]Intervals `json:"joined,omitempty"`
	// Closed lists, in offset order, the windows finalised by the reports at
	// or above the SlotConfig.Committed of the last Apply and, beyond those,
	// the newest Retain: the slot keeps their parts, for a replay to emit
	// the finals again and for queries.
	Closed []Closed `json:"closed,omitempty"`

	windows map[int64]*window // the parts, by window start
	// legacy is set on a slot decoded from a value of the release before
	// parts, whose counts it carries (Carried).
	legacy  bool
	open    int      // windows that are not final
	written []PartID // parts counted since the last Changes
	deleted []PartID // parts dropped since the last Changes
}

// Closed is a window the slot finalised, and the position of the report
// that did.
type Closed struct {
	Start  int64 `json:"start"`
	Offset int64 `json:"offset"`
}

// Final is a window's counts and the position of the report that produced
// them: as a final, the window's final counts; as an update, the new totals
// of the os types the report changed.
type Final struct {
	Start  int64            `json:"start"`
	Counts map[string]int64 `json:"counts"`
	Offset int64            `json:"offset"`
}

// SlotConfig holds the rules a Slot applies.
type SlotConfig struct {
	Windows Windows
	// Committed is the lowest position (offset plus Base) of the slot's
	// repartition partition that may still be read again: its committed
	// consumer offset, or any offset below it, plus Base. It must never
	// exceed the position being applied nor fall below a value passed
	// before for the same partition; a slot cannot re-emit what an Apply
	// with a higher Committed discarded. Apply keeps the output of every
	// report at or above it, so that a replay of any position in
	// [Committed, Applied] returns exactly what it returned the first time.
	// The zero value keeps the output of every report since offset 0.
	Committed int64
	// Retain is how many of the newest finals the slot keeps, beyond the
	// ones a replay may need, for queries of recent windows.
	Retain int
}

// NewSlot returns an empty slot.
func NewSlot() *Slot {
	return &Slot{Claims: make(map[int32]Intervals), windows: make(map[int64]*window), Applied: -1}
}

// Track tells the slot which topic the next reports come from: topic, the
// repartition topic's ID ("" if the brokers do not tell), and end, the end
// offset of the slot's partition of it when the partition was claimed (-1 if
// unknown). If the slot applied reports of another topic of the same name
// (deleted and created again, or its log lost), whose offsets the new
// topic's reports would repeat from 0, it moves Base past Applied: the new
// topic's reports are then new to the slot, and their claims still keep a
// report it counted from counting twice. A slot tells the other topic by its
// ID, or, without one, by having applied an offset at or past the
// partition's end (which cannot tell a new topic that has already received
// more reports than the old one had). It reports whether Base moved.
func (s *Slot) Track(topic string, end int64) (moved bool) {
	switch {
	case s.Applied < 0:
	case topic != "" && s.Topic != "":
		moved = topic != s.Topic
	case end >= 0:
		moved = s.Applied-s.Base >= end
	}
	if moved {
		s.Base = s.Applied + 1
	}
	if topic != "" {
		s.Topic = topic
	}
	return moved
}

// Output is what applying one report yields: the windows it finalised, and
// the new totals of the (window, os) counts it changed.
type Output struct {
	Finals  []Final
	Updates []Final
	// Late is the number of records in the report's partials for windows
	// final before its source joined the slot (Joined): not counted.
	Late int64
}

// Grow tells the slot that the input has n partitions (sources). A window
// is final once every source has claimed it, so from now on the slot's
// open windows wait for the new sources too; the windows every earlier
// source had claimed were final before the new ones joined, and stay so:
// the new sources' partials for them are late. Grow never lowers Sources.
func (s *Slot) Grow(n int32) {
	if n <= s.Sources {
		return
	}
	if final := s.finalSet(); len(final) > 0 {
		if s.Joined == nil {
			s.Joined = make(map[int32]Intervals)
		}
		for src := s.Sources; src < n; src++ {
			s.Joined[src] = final
		}
	}
	s.Sources = n
}

// finalSet returns the windows every source has claimed, or had final
// before it joined (it may have joined without claiming anything yet).
func (s *Slot) finalSet() Intervals {
	var final Intervals
	for src := int32(0); src < s.Sources; src++ {
		closed := s.Claims[src].Union(s.Joined[src])
		if src == 0 {
			final = closed
		} else {
			final = final.Intersect(closed)
		}
	}
	return final
}

// Apply merges the report at position offset (its offset in the topic plus
// Base) into the slot and returns the windows it finalised and the windows
// whose counts it changed.
//
// A partial is counted only if the source's earlier claims do not cover its
// window: the first report of a window from a source wins, so a report
// replayed or rebuilt after a crash cannot count twice. A report at an offset
// already applied changes nothing and returns what that offset returned the
// first time if the offset is at or above the Committed of every earlier
// Apply (see SlotConfig.Committed), and a part of it, possibly nothing,
// otherwise.
func (s *Slot) Apply(r *Report, offset int64, c SlotConfig) Output {
	if offset <= s.Applied {
		return s.replay(offset)
	}
	s.Grow(r.Sources)
	size := c.Windows.Size
	claims := s.Claims[r.Source]
	joined := s.Joined[r.Source]
	var out Output
	var counted []int64
	for _, p := range r.Partials {
		if claims.Covers(p.Start, p.Start+size) {
			continue
		}
		if joined.Covers(p.Start, p.Start+size) {
			for _, n := range p.Counts {
				out.Late += n
			}
			continue
		}
		s.count(&Part{Applied: offset, Window: p.Start, Source: r.Source, Counts: p.Counts}, slices.Contains(counted, p.Start))
		counted = append(counted, p.Start)
	}
	s.Claims[r.Source] = claims.Add(r.From, r.To)

	for _, start := range s.openIn(r.From, r.To, size) {
		if s.complete(start, size) {
			s.windows[start].final = true
			s.open--
			s.Closed = append(s.Closed, Closed{Start: start, Offset: offset})
			out.Finals = append(out.Finals, Final{Start: start, Counts: s.windows[start].sum(nil, offset), Offset: offset})
		}
	}
	slices.Sort(counted)
	for _, start := range slices.Compact(counted) {
		out.Updates = append(out.Updates, s.update(start, offset))
	}
	s.Applied = offset
	// Closed is in offset order, so what a replay may need is a tail.
	replayable := func(f Closed) bool { return f.Offset >= c.Committed }
	if n := min(len(s.Closed)-c.Retain, firstWhere(s.Closed, replayable)); n > 0 {
		for _, f := range s.Closed[:n] {
			s.forget(f.Start)
		}
		s.Closed = slices.Delete(s.Closed, 0, n)
	}
	return out
}

// update returns the totals, as of the report at offset, of the os types
// that report counted in the window at start.
func (s *Slot) update(start, offset int64) Final {
	w := s.windows[start]
	changed := make(map[string]int64)
	for _, p := range w.parts {
		if p.Applied == offset {
			for os := range p.Counts {
				changed[os] = 0
			}
		}
	}
	return Final{Start: start, Counts: w.sum(changed, offset), Offset: offset}
}

// openIn returns, in order, the open windows that lie in [from, to): the
// only ones a report claiming that range can complete (the other sources'
// claims are as they were, and Sources only rises). It costs what the
// smaller of the range and the open windows costs, not what every open
// window does: a slot may hold thousands waiting for a lagging source.
func (s *Slot) openIn(from, to, size int64) []int64 {
	var in []int64
	if from != Unbounded && to > from && (to-from)/size <= int64(s.open) {
		for start := from; start < to; start += size {
			if w := s.windows[start]; w != nil && !w.final {
				in = append(in, start)
			}
		}
		return in
	}
	for start, w := range s.windows {
		if !w.final && start >= from && start+size <= to {
			in = append(in, start)
		}
	}
	slices.Sort(in)
	return in
}

func (s *Slot) complete(start, size int64) bool {
	return s.Sources > 0 && s.reported(start, size) == s.Sources
}

// replay returns what the report at offset returned, from the parts and
// Closed, which it does not change.
func (s *Slot) replay(offset int64) Output {
	var out Output
	from := firstWhere(s.Closed, func(f Closed) bool { return f.Offset >= offset })
	for _, f := range s.Closed[from:] {
		if f.Offset != offset {
			break
		}
		if w := s.windows[f.Start]; w != nil {
			out.Finals = append(out.Finals, Final{Start: f.Start, Counts: w.sum(nil, offset), Offset: offset})
		}
	}
	var counted []int64
	for start, w := range s.windows {
		if slices.ContainsFunc(w.parts, func(p *Part) bool { return p.Applied == offset }) {
			counted = append(counted, start)
		}
	}
	slices.Sort(counted)
	for _, start := range counted {
		out.Updates = append(out.Updates, s.update(start, offset))
	}
	return out
}

// firstWhere returns the index of the first element of fs, which is ordered by
// pred (false before true), for which pred holds, or len(fs) if none does.
func firstWhere(fs []Closed, pred func(Closed) bool) int {
	return sort.Search(len(fs), func(i int) bool { return pred(fs[i]) })
}

// OpenWindows returns the number of windows with counts that are not final.
func (s *Slot) OpenWindows() int { return s.open }

// Finals returns the windows of Closed with their final counts.
func (s *Slot) Finals() []Final {
	out := make([]Final, 0, len(s.Closed))
	for _, f := range s.Closed {
		if w := s.windows[f.Start]; w != nil {
			out = append(out, Final{Start: f.Start, Counts: w.sum(nil, f.Offset), Offset: f.Offset})
		}
	}
	return out
}

// Open returns the counts so far of the windows that are not final, by
// start.
func (s *Slot) Open() map[int64]map[string]int64 {
	out := make(map[int64]map[string]int64, s.open)
	for start, w := range s.windows {
		if !w.final {
			out[start] = w.sum(nil, s.Applied)
		}
	}
	return out
}
