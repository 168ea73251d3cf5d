package state

import (
	"maps"
	"testing"
)

// TestTypeBound: of the os types outside Kept, a window counts the first Max
// to appear under their own names and every record of a later one under
// Fold; each window has its own budget, and an aggregator restored from a
// checkpoint folds exactly as the one that wrote it would have.
func TestTypeBound(t *testing.T) {
	cfg := AggregatorConfig{Windows: Windows{1000}, Grace: 5000, Sources: 1, Slots: 1,
		Types: TypeBound{Max: 2, Kept: map[string]bool{"android": true, "other": true}, Fold: "other"}}
	records := []string{"x1", "android", "x2", "x3", "x1", "android", "x4", "other", "x2"}
	want := map[string]int64{"x1": 2, "x2": 2, "android": 2, "other": 3}

	a := NewAggregator(cfg)
	var restored *Aggregator
	for i, os := range records {
		if !a.Add(int64(i), 100, os) || !a.Add(int64(i), 1100, os) {
			t.Fatalf("record %d (%s) not counted", i, os)
		}
		if i == 3 { // after x3 was folded once
			cp, err := a.Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			if restored, err = RestoreAggregator(cfg, cp); err != nil {
				t.Fatal(err)
			}
		} else if restored != nil {
			restored.Add(int64(i), 100, os)
			restored.Add(int64(i), 1100, os)
		}
	}
	if got := a.Folded(); got != 4 {
		t.Errorf("Folded() = %d, want 4 (x3 and x4 in each of two windows)", got)
	}
	for name, agg := range map[string]*Aggregator{"original": a, "restored": restored} {
		for _, start := range []int64{0, 1000} {
			if got := agg.open[start].counts; !maps.Equal(got, want) {
				t.Errorf("%s, window %d: counts %v, want %v", name, start, got, want)
			}
		}
	}

	unbounded := NewAggregator(AggregatorConfig{Windows: Windows{1000}, Sources: 1, Slots: 1})
	for i, os := range records {
		unbounded.Add(int64(i), 100, os)
	}
	if n := len(unbounded.open[0].counts); n != 6 || unbounded.Folded() != 0 {
		t.Errorf("without a bound: %d os types, %d folded; want 6 and 0", n, unbounded.Folded())
	}
}
