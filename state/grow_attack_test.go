package state

import (
	"testing"
)

// TestAttackGrowTwiceBeforeFirstJoinerClaims: the input grows 2 -> 3 and,
// before source 2 has claimed anything in this slot, 3 -> 6 (grown twice
// quickly: the new partitions wait for the parse stage's rebalance, and an
// empty one reports only at its idle close). Window 1000 was final (and
// emitted) before the first growth. Source 3's first report holds a partial
// for it (an old line): that partial is late joined, and the window must
// never be final a second time.
//
// Grow computes the windows final so far as the intersection of the claims
// of sources [0, Sources), so source 2's empty claims make it empty on the
// second Grow, and sources 3..5 get no Joined: source 3's partial reopens
// window 1000, which comes out final again once every source has claimed it,
// with source 3's count alone.
func TestAttackGrowTwiceBeforeFirstJoinerClaims(t *testing.T) {
	s := NewSlot()
	applyWant(t, s, rep(0, 2, Unbounded, 2000, part(1000, counts{"linux": 2})), 0, slotCfg,
		Output{Updates: []Final{fin(1000, 0, counts{"linux": 2})}})
	applyWant(t, s, rep(1, 2, Unbounded, 2000), 1, slotCfg,
		Output{Finals: []Final{fin(1000, 1, counts{"linux": 2})}})

	s.Grow(3) // the window stage learns of source 2
	s.Grow(6) // and, before source 2 claims here, of sources 3..5

	// Source 3's first report: an old line in window 1000, already final.
	got := s.Apply(rep(3, 6, Unbounded, 3000, part(1000, counts{"android": 5})), 2, slotCfg)
	if got.Late != 5 || len(got.Updates) != 0 {
		t.Errorf("source 3's partial for window 1000 (final before it joined): Late %d, updates %+v; want Late 5, no update",
			got.Late, got.Updates)
	}
	// The other sources close up to 3000.
	var finals []Final
	for i, src := range []int32{0, 1, 2, 4, 5} {
		out := s.Apply(rep(src, 6, s.Claims[src].end(), 3000), int64(3+i), slotCfg)
		finals = append(finals, out.Finals...)
	}
	for _, f := range finals {
		if f.Start == 1000 {
			t.Errorf("window 1000 final a second time: %v (its final was linux=2)", f.Counts)
		}
	}
}

// end is where a source's claims reach (Unbounded if none).
func (s Intervals) end() int64 {
	if len(s) == 0 {
		return Unbounded
	}
	return s[len(s)-1].To
}

// TestAttackGrowThroughReportSources is the same through one report: the
// window stage knows of 3 sources (Grow before Apply), and a parse stage
// that knows of 6 sends the slot its first report of 6 (Apply grows again,
// with source 2's claims empty).
func TestAttackGrowThroughReportSources(t *testing.T) {
	s := NewSlot()
	s.Apply(rep(0, 2, Unbounded, 2000, part(1000, counts{"linux": 2})), 0, slotCfg)
	s.Apply(rep(1, 2, Unbounded, 2000), 1, slotCfg)
	s.Grow(3)
	got := s.Apply(rep(3, 6, Unbounded, 2000, part(1000, counts{"android": 5})), 2, slotCfg)
	if got.Late != 5 {
		t.Errorf("Late = %d, want 5: window 1000 was final before sources 2..5 joined", got.Late)
	}
	if _, reopened := s.Open()[1000]; reopened {
		t.Errorf("window 1000, final already, is open again with %v", s.Open()[1000])
	}
}
