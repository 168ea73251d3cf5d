package main

import (
	"math"
	"testing"
	"time"
)

// TestReplay merges reports of two sources over two slots (1 s windows:
// even seconds in slot 0, odd in slot 1) and checks what each completes.
func TestReplay(t *testing.T) {
	const unbounded = math.MinInt64
	windows := []int64{0, 1000, 2000, 3000, 4000, 6000, 8000}
	steps := []struct {
		r       report
		through bool // every source but 1 has claimed everything before 9000
	}{
		{report{slot: 0, Source: 0, Sources: 2, From: unbounded, To: 5000}, false},
		{report{slot: 1, Source: 0, Sources: 2, From: unbounded, To: 9000}, false},
		{report{slot: 1, Source: 1, Sources: 2, From: unbounded, To: 2000}, false}, // completes 1000
		{report{slot: 0, Source: 0, Sources: 2, From: 5000, To: 9000}, true},       // completes nothing: source 1 is behind
		{report{slot: 0, Source: 1, Sources: 2, From: unbounded, To: 9000}, true},  // completes 0, 2000, 4000, 6000, 8000
		{report{slot: 1, Source: 1, Sources: 2, From: unbounded, To: 9000}, true},  // completes 3000; 1000 was complete
		{report{slot: 0, Source: 1, Sources: 2, From: 2000, To: 4000}, true},       // a replayed report: nothing new
	}
	var reports []report
	for i, s := range steps {
		reports = append(reports, s.r)
		c, _, err := replay(reports, windows, time.Second, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.through(2, 1, 9000); got != s.through {
			t.Errorf("after report %d: through %v, want %v", i, got, s.through)
		}
	}
	c, top, err := replay(reports, windows, time.Second, 2)
	if err != nil || top != (largest{5, 1}) {
		t.Errorf("largest %+v (%v), want 5 windows from source 1", top, err)
	}
	if n := c.claimed(1, 0, 9000); n != 9 {
		t.Errorf("source 1 claimed %d windows of 9", n)
	}
	if c, _, _ = replay(reports[:3], windows, time.Second, 2); c.claimed(1, 0, 9000) != 1 {
		t.Errorf("after its first report, source 1 claimed %d windows, want 1 (1000)", c.claimed(1, 0, 9000))
	}

	bad := report{slot: 0, Source: 0, Sources: 2, From: unbounded, To: 2000}
	bad.Partials = append(bad.Partials, struct {
		Start int64 `json:"start"`
	}{1000})
	if _, _, err := replay([]report{bad}, windows, time.Second, 2); err == nil {
		t.Error("a report counting a window of another slot went unnoticed")
	}
}

// TestReplayGrowth merges reports across an input growth: once a report
// names more sources, the slot waits for the new ones too, and a window
// complete before the growth is not completed again by a new source.
func TestReplayGrowth(t *testing.T) {
	const unbounded = math.MinInt64
	windows := []int64{0, 2000, 4000} // all of slot 0
	reports := []report{
		{slot: 0, Source: 0, Sources: 2, From: unbounded, To: 1000},
		{slot: 0, Source: 1, Sources: 2, From: unbounded, To: 1000}, // completes 0
		{slot: 0, Source: 0, Sources: 3, From: 1000, To: 5000},      // source 0 has seen the growth
		{slot: 0, Source: 1, Sources: 2, From: 1000, To: 5000},      // completes nothing: source 2 is missing
		{slot: 0, Source: 2, Sources: 3, From: unbounded, To: 5000}, // completes 2000 and 4000, not 0 again
	}
	for i, want := range []bool{false, false, false, false, true} {
		c, _, err := replay(reports[:i+1], windows, time.Second, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.complete(0, 2000); got != want {
			t.Errorf("after report %d: window 2000 complete %v, want %v", i, got, want)
		}
	}
	_, top, err := replay(reports, windows, time.Second, 2)
	if err != nil || top != (largest{2, 2}) {
		t.Errorf("largest %+v (%v), want 2 windows from source 2", top, err)
	}
}
