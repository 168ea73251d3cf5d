package state

import "slices"

// Part is one source's counts of one window, as a slot counted them: a
// table value of its own, beside the slot's (see Slot).
type Part struct {
	// Applied is the position of the report that counted the part. It
	// comes first in the encoding, as a slot's does: SlotSupersedes prefers
	// the value that applied further under any key.
	Applied int64            `json:"applied"`
	Window  int64            `json:"window"` // the window's start
	Source  int32            `json:"source"`
	Counts  map[string]int64 `json:"counts"`
}

// PartID names a part within its slot.
type PartID struct {
	Window int64
	Source int32
}

// Carried is the source of the counts a slot stored before parts had table
// values of their own (one sum per window, whatever the source): decoding
// such a slot makes them parts of this source, which Changes then returns
// for the caller to write.
const Carried int32 = -1

// window is what a slot holds of one window: its parts, in the order they
// were counted, and whether the window is final.
type window struct {
	parts []*Part
	final bool
}

// index returns the index of source's part in w.parts, -1 if none.
func (w *window) index(source int32) int {
	return slices.IndexFunc(w.parts, func(p *Part) bool { return p.Source == source })
}

// sum adds up the counts of the parts counted at or before offset, of the os
// types in only, or of every os type if only is nil; only is filled in and
// returned.
func (w *window) sum(only map[string]int64, offset int64) map[string]int64 {
	all := only == nil
	if all {
		only = make(map[string]int64)
	}
	for _, p := range w.parts {
		if p.Applied > offset {
			continue
		}
		for os, n := range p.Counts {
			if _, ok := only[os]; ok || all {
				only[os] += n
			}
		}
	}
	return only
}

// count adds p to its window, opening the window if it is new. A part of
// the same window and source already held is replaced unless merge is set
// (the report listed the window twice): it is a write of this report, or of
// one after it, that reached the table while the slot's own write did not,
// and the report is being applied again.
func (s *Slot) count(p *Part, merge bool) {
	w := s.windows[p.Window]
	if w == nil {
		w = new(window)
		s.windows[p.Window] = w
		s.open++
	}
	s.written = append(s.written, PartID{p.Window, p.Source})
	i := w.index(p.Source)
	switch {
	case i < 0:
		w.parts = append(w.parts, p)
	case merge:
		counts := make(map[string]int64, len(w.parts[i].Counts)+len(p.Counts))
		for os, n := range w.parts[i].Counts {
			counts[os] += n
		}
		for os, n := range p.Counts {
			counts[os] += n
		}
		w.parts[i] = &Part{Applied: p.Applied, Window: p.Window, Source: p.Source, Counts: counts}
	default:
		w.parts[i] = p
	}
}

// forget drops the parts of the final window at start.
func (s *Slot) forget(start int64) {
	w := s.windows[start]
	if w == nil {
		return
	}
	for _, p := range w.parts {
		s.deleted = append(s.deleted, PartID{start, p.Source})
	}
	delete(s.windows, start)
}

// Restore puts a part read from the table back into the slot: the window
// stage restoring its slots, or a view answering a query. It returns false,
// keeping nothing, for a part of a window the slot has finalised and no
// longer keeps (under at_least_once a previous owner's write may land after
// the slot deleted the part), and for a part beside a slot of the release
// before parts that the slot's own counts hold: the caller should delete
// it. The slot must be the one stored with the part.
func (s *Slot) Restore(p *Part) bool {
	if s.legacy && p.Source != Carried && p.Applied <= s.Applied {
		// A run of this release counted it and crashed before it wrote
		// the slot, and the release before parts applied the same report
		// since (a rolling update): the slot's carried counts hold it.
		return false
	}
	w := s.windows[p.Window]
	if w == nil {
		kept := slices.ContainsFunc(s.Closed, func(f Closed) bool { return f.Start == p.Window })
		final := kept || s.Sources > 0 && s.finalSet().Covers(p.Window, p.Window+1)
		if final && !kept {
			return false
		}
		w = &window{final: final}
		s.windows[p.Window] = w
		if !final {
			s.open++
		}
	}
	i := w.index(p.Source)
	switch {
	case i < 0:
		w.parts = append(w.parts, p)
	case p.Applied >= w.parts[i].Applied:
		// Of two parts of a window and source, the one counted further
		// on, as SlotSupersedes keeps. The slot holds one already only as
		// it decoded it from a slot of the release before parts (Carried):
		// a carried part stored by a run that crashed before it wrote the
		// slot is older than the one decoded from a slot that release
		// wrote after it.
		w.parts[i] = p
	}
	return true
}

// Changes returns the parts the slot counted and the parts it dropped since
// the last call: what the caller must write to the table, and delete from
// it, with the slot's own value. A part written to the table is never
// changed by the slot afterwards.
func (s *Slot) Changes() (written []*Part, deleted []PartID) {
	seen := make(map[PartID]bool, len(s.written))
	for _, id := range s.written {
		if seen[id] {
			continue
		}
		seen[id] = true
		if p := s.part(id); p != nil {
			written = append(written, p)
		}
	}
	deleted = s.deleted
	s.written, s.deleted = nil, nil
	return written, deleted
}

// Parts returns every part the slot holds.
func (s *Slot) Parts() []*Part {
	var out []*Part
	for _, w := range s.windows {
		out = append(out, w.parts...)
	}
	return out
}

func (s *Slot) part(id PartID) *Part {
	if w := s.windows[id.Window]; w != nil {
		if i := w.index(id.Source); i >= 0 {
			return w.parts[i]
		}
	}
	return nil
}
