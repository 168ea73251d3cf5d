package state

import (
	"maps"
	"slices"
)

// Slot is the window stage's table value for one slot key: the windows of the
// slot that have counts but are not final yet, what each source partition has
// claimed, and the finals it produced recently.
//
// Apply is the only way a Slot changes. It is deterministic, and it remembers
// the offset of the last report it applied so that a replayed report (the
// table write and the output emit are not atomic in goka) changes nothing and
// yields the same output again.
type Slot struct {
	Sources int32                      `json:"sources"`
	Claims  map[int32]Intervals        `json:"claims"`
	Open    map[int64]map[string]int64 `json:"open,omitempty"`
	Applied int64                      `json:"applied"` // offset of the last report applied, -1 for none
	Finals  []Final                    `json:"finals,omitempty"`
	Updates []Final                    `json:"updates,omitempty"` // what the report at Applied changed
}

// Final is a window's final counts and the offset of the report that
// completed it.
type Final struct {
	Start  int64            `json:"start"`
	Counts map[string]int64 `json:"counts"`
	Offset int64            `json:"offset"`
}

// SlotConfig holds the rules a Slot applies.
type SlotConfig struct {
	Windows Windows
	// Retain is how many finals the slot keeps for re-emission after a replay
	// and for queries of recent windows.
	Retain int
}

// NewSlot returns an empty slot.
func NewSlot() *Slot {
	return &Slot{Claims: make(map[int32]Intervals), Open: make(map[int64]map[string]int64), Applied: -1}
}

// Output is what applying one report yields: the windows it finalised, and
// the new totals of the (window, os) counts it changed.
type Output struct {
	Finals  []Final
	Updates []Final
}

// Apply merges the report read at offset into the slot and returns the
// windows it finalised and the windows whose counts it changed.
//
// A partial is counted only if the source's earlier claims do not cover its
// window: the first report of a window from a source wins, so a report
// replayed or rebuilt after a crash cannot count twice. A report at an offset
// already applied changes nothing and returns what that offset returned the
// first time (as far as the slot still retains it).
func (s *Slot) Apply(r *Report, offset int64, c SlotConfig) Output {
	if offset <= s.Applied {
		return s.replay(offset)
	}
	size := c.Windows.Size
	claims := s.Claims[r.Source]
	changed := make(map[int64]map[string]int64)
	for _, p := range r.Partials {
		if claims.Covers(p.Start, p.Start+size) {
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
	s.Sources = max(s.Sources, r.Sources)

	var out Output
	for _, start := range slices.Sorted(maps.Keys(s.Open)) {
		if s.complete(start, size) {
			out.Finals = append(out.Finals, Final{Start: start, Counts: s.Open[start], Offset: offset})
			delete(s.Open, start)
		}
	}
	for _, start := range slices.Sorted(maps.Keys(changed)) {
		out.Updates = append(out.Updates, Final{Start: start, Counts: changed[start], Offset: offset})
	}
	s.Applied = offset
	s.Updates = out.Updates
	s.Finals = append(s.Finals, out.Finals...)
	if n := len(s.Finals) - c.Retain; n > 0 {
		s.Finals = slices.Delete(s.Finals, 0, n)
	}
	return out
}

func (s *Slot) complete(start, size int64) bool {
	return s.Sources > 0 && s.reported(start, size) == s.Sources
}

func (s *Slot) replay(offset int64) Output {
	var out Output
	for _, f := range s.Finals {
		if f.Offset == offset {
			out.Finals = append(out.Finals, f)
		}
	}
	if offset == s.Applied {
		out.Updates = s.Updates
	}
	return out
}
