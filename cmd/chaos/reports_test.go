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
