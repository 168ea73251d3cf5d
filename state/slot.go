package state

import (
	"maps"
	"slices"
	"sort"
)

// Slot is the window stage's table value for one slot key: the windows of the
// slot that have counts but are not final yet, what each source partition has
// claimed, and what recent reports emitted.
//
// Apply is the only way a Slot changes. It is deterministic, and it remembers
// the offset of the last report it applied so that a replayed report (the
// table write and the output emit are not atomic in goka) changes nothing and
// yields the same output again.
//
// Finals and Updates are in offset order. Finals holds every final of the
// reports at offsets at or above the SlotConfig.Committed of the last Apply
// and, beyond those, the newest Retain; Updates holds every update of those
// reports and no other.
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
	Joined  map[int32]Intervals        `json:"joined,omitempty"`
	Open    map[int64]map[string]int64 `json:"open,omitempty"`
	Finals  []Final                    `json:"finals,omitempty"`
	Updates []Final                    `json:"updates,omitempty"`
}

// Final is a window's counts and the offset of the report that produced
// them: as a final, the window's final counts; as an update, the new totals of
// the os types the report changed.
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
	// [Committed, Applied] returns exactly what it returned the first time. The zero value keeps the output of every
	// report since offset 0.
	Committed int64
	// Retain is how many of the newest finals the slot keeps, beyond the
	// ones a replay may need, for queries of recent windows, and
	// RetainBytes (0: no bound) about how many bytes of encoding those may
	// take: a window with hundreds of os types takes kilobytes, and the slot
	// is one table value.
	Retain      int
	RetainBytes int
}

// NewSlot returns an empty slot.
func NewSlot() *Slot {
	return &Slot{Claims: make(map[int32]Intervals), Open: make(map[int64]map[string]int64), Applied: -1}
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
	// Final are the windows every source has claimed, or had final before
	// it joined (it may have joined without claiming anything yet).
	var final Intervals
	for src := int32(0); src < s.Sources; src++ {
		closed := s.Claims[src].Union(s.Joined[src])
		if src == 0 {
			final = closed
		} else {
			final = final.Intersect(closed)
		}
	}
	if len(final) > 0 {
		if s.Joined == nil {
			s.Joined = make(map[int32]Intervals)
		}
		for src := s.Sources; src < n; src++ {
			s.Joined[src] = final
		}
	}
	s.Sources = n
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
	changed := make(map[int64]map[string]int64)
	var out Output
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
		counts := s.Open[p.Start]
		if counts == nil {
			counts = make(map[string]int64, len(p.Counts))
			s.Open[p.Start] = counts
		}
		if changed[p.Start] == nil {
			changed[p.Start] = make(map[string]int64, len(p.Counts))
		}
		for os, n := range p.Counts {
			counts[os] += n
			changed[p.Start][os] = counts[os]
		}
	}
	s.Claims[r.Source] = claims.Add(r.From, r.To)

	for _, start := range s.openIn(r.From, r.To, size) {
		if s.complete(start, size) {
			out.Finals = append(out.Finals, Final{Start: start, Counts: s.Open[start], Offset: offset})
			delete(s.Open, start)
		}
	}
	for _, start := range slices.Sorted(maps.Keys(changed)) {
		out.Updates = append(out.Updates, Final{Start: start, Counts: changed[start], Offset: offset})
	}
	s.Applied = offset
	s.Finals = append(s.Finals, out.Finals...)
	s.Updates = append(s.Updates, out.Updates...)
	// Finals and Updates are in offset order, so what a replay may need is a
	// tail of each.
	replayable := func(f Final) bool { return f.Offset >= c.Committed }
	if n := min(len(s.Finals)-c.Retain, firstWhere(s.Finals, replayable)); n > 0 {
		s.Finals = slices.Delete(s.Finals, 0, n)
	}
	if c.RetainBytes > 0 {
		// Of the finals kept for queries only, the newest that fit.
		kept, bytes := firstWhere(s.Finals, replayable), 0
		for kept > 0 && bytes+s.Finals[kept-1].size() <= c.RetainBytes {
			bytes += s.Finals[kept-1].size()
			kept--
		}
		s.Finals = slices.Delete(s.Finals, 0, kept)
	}
	if n := firstWhere(s.Updates, replayable); n > 0 {
		s.Updates = slices.Delete(s.Updates, 0, n)
	}
	return out
}

// openIn returns, in order, the open windows that lie in [from, to): the
// only ones a report claiming that range can complete (the other sources'
// claims are as they were, and Sources only rises). It costs what the
// smaller of the range and the open windows costs, not what every open
// window does: a slot may hold thousands waiting for a lagging source.
func (s *Slot) openIn(from, to, size int64) []int64 {
	var in []int64
	if from != Unbounded && to > from && (to-from)/size <= int64(len(s.Open)) {
		for start := from; start < to; start += size {
			if _, ok := s.Open[start]; ok {
				in = append(in, start)
			}
		}
		return in
	}
	for start := range s.Open {
		if start >= from && start+size <= to {
			in = append(in, start)
		}
	}
	slices.Sort(in)
	return in
}

// size is at least the length of f's encoding in a slot.
func (f Final) size() int { return Partial{f.Start, f.Counts}.size() + 24 }

func (s *Slot) complete(start, size int64) bool {
	return s.Sources > 0 && s.reported(start, size) == s.Sources
}

func (s *Slot) replay(offset int64) Output {
	return Output{Finals: at(s.Finals, offset), Updates: at(s.Updates, offset)}
}

// at returns a copy of the run of fs (in offset order) at offset, nil if
// none: the caller may keep it while later Applies move the slot's entries.
func at(fs []Final, offset int64) []Final {
	from := firstWhere(fs, func(f Final) bool { return f.Offset >= offset })
	to := firstWhere(fs, func(f Final) bool { return f.Offset > offset })
	if from == to {
		return nil
	}
	return slices.Clone(fs[from:to])
}

// firstWhere returns the index of the first element of fs, which is ordered by
// pred (false before true), for which pred holds, or len(fs) if none does.
func firstWhere(fs []Final, pred func(Final) bool) int {
	return sort.Search(len(fs), func(i int) bool { return pred(fs[i]) })
}
