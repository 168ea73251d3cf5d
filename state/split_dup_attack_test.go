package state

import (
	"reflect"
	"testing"
)

// TestAttackSplitOfDuplicatePartials: a report that lists a window twice
// (the slot sums both: Apply's merge) and is split between the two
// (Report.Split cuts at a partial's start, so the first piece claims up to
// the window and holds its first partial, the second claims from it) must
// leave a slot as the whole report does (state/doc.go).
//
// Observed: the second piece's partial replaced the first's part (count
// without merge: taken for a write of a crashed run), so the window came
// out with 2 linux, not 1 + 2 = 3; and the first piece held a partial
// outside its claim. The parse stage never writes such a report (a window
// is one partial of a report); only a writer outside oscheck could. Split
// now sums a window's partials first.
func TestAttackSplitOfDuplicatePartials(t *testing.T) {
	r := &Report{Source: 1, Sources: 2, From: 0, To: 2000, Partials: []Partial{
		{Start: 1000, Counts: map[string]int64{"linux": 1}},
		{Start: 1000, Counts: map[string]int64{"linux": 2}},
	}}
	pieces := r.Split(1) // each piece one window
	for _, p := range pieces {
		for _, part := range p.Partials {
			if part.Start < p.From || part.Start >= p.To {
				t.Fatalf("a piece claiming [%d, %d) holds a partial of window %d", p.From, p.To, part.Start)
			}
		}
	}
	other := &Report{Source: 0, Sources: 2, From: Unbounded, To: 2000}
	whole, pieced := NewSlot(), NewSlot()
	whole.Apply(r, 0, slotCfg)
	want := whole.Apply(other, 1, slotCfg)
	for i, p := range pieces {
		pieced.Apply(p, int64(i), slotCfg)
	}
	got := pieced.Apply(other, int64(len(pieces)), slotCfg)
	if !reflect.DeepEqual(got.Finals[0].Counts, want.Finals[0].Counts) {
		t.Errorf("split report: final %v; the whole report: %v", got.Finals, want.Finals)
	}
}
