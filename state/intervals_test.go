package state

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func iv(pairs ...int64) Intervals {
	var s Intervals
	for i := 0; i < len(pairs); i += 2 {
		s = append(s, Interval{pairs[i], pairs[i+1]})
	}
	return s
}

func TestIntervalsAdd(t *testing.T) {
	tests := []struct {
		name     string
		set      Intervals
		from, to int64
		want     Intervals
	}{
		{"into empty", nil, 0, 10, iv(0, 10)},
		{"empty range ignored", iv(0, 10), 20, 20, iv(0, 10)},
		{"inverted range ignored", iv(0, 10), 30, 20, iv(0, 10)},
		{"empty range into empty", nil, 5, 5, nil},
		{"adjacent after", iv(0, 10), 10, 20, iv(0, 20)},
		{"adjacent before", iv(10, 20), 0, 10, iv(0, 20)},
		{"overlapping after", iv(0, 10), 5, 20, iv(0, 20)},
		{"overlapping before", iv(10, 20), 5, 15, iv(5, 20)},
		{"disjoint after", iv(0, 10), 11, 20, iv(0, 10, 11, 20)},
		{"disjoint before", iv(11, 20), 0, 10, iv(0, 10, 11, 20)},
		{"contained", iv(0, 20), 5, 15, iv(0, 20)},
		{"equal", iv(0, 20), 0, 20, iv(0, 20)},
		{"containing", iv(5, 15), 0, 20, iv(0, 20)},
		{"fills a gap exactly", iv(0, 10, 20, 30), 10, 20, iv(0, 30)},
		{"fills a gap partly", iv(0, 10, 20, 30), 12, 18, iv(0, 10, 12, 18, 20, 30)},
		{"touches gap start", iv(0, 10, 20, 30), 10, 15, iv(0, 15, 20, 30)},
		{"touches gap end", iv(0, 10, 20, 30), 15, 20, iv(0, 10, 15, 30)},
		{"swallows several", iv(0, 1, 2, 3, 4, 5, 6, 7, 10, 11), 1, 7, iv(0, 7, 10, 11)},
		{"between others", iv(0, 1, 10, 11), 4, 6, iv(0, 1, 4, 6, 10, 11)},
		{"unbounded start", iv(0, 10), Unbounded, 0, iv(Unbounded, 10)},
		{"unbounded disjoint", iv(5, 10), Unbounded, 0, iv(Unbounded, 0, 5, 10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.set)
			got := tt.set.Add(tt.from, tt.to)
			if !reflect.DeepEqual(normal(got), normal(tt.want)) {
				t.Errorf("%v.Add(%d, %d) = %v, want %v", tt.set, tt.from, tt.to, got, tt.want)
			}
			if !reflect.DeepEqual(tt.set, in) {
				t.Errorf("Add modified its receiver: %v, was %v", tt.set, in)
			}
		})
	}
}

// normal maps an empty set to nil, so nil and empty compare equal.
func normal(s Intervals) Intervals {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestIntervalsCovers(t *testing.T) {
	set := iv(Unbounded, 0, 10, 20, 30, 40)
	tests := []struct {
		from, to int64
		want     bool
	}{
		{Unbounded, 0, true},
		{-1000, -999, true},
		{-1, 0, true},
		{-1, 1, false},
		{0, 1, false},
		{9, 10, false},
		{10, 11, true},
		{10, 20, true},
		{19, 20, true},
		{15, 25, false},
		{19, 21, false},
		{20, 21, false},
		{10, 40, false}, // spans a gap
		{30, 40, true},
		{39, 40, true},
		{39, 41, false},
		{40, 41, false},
		{100, 101, false},
	}
	for _, tt := range tests {
		if got := set.Covers(tt.from, tt.to); got != tt.want {
			t.Errorf("%v.Covers(%d, %d) = %v, want %v", set, tt.from, tt.to, got, tt.want)
		}
	}
	if Intervals(nil).Covers(0, 1) {
		t.Error("empty set covers [0,1)")
	}
}

// TestIntervalsModel adds random ranges on a small domain in random order and
// compares the set after each step with a bitmap: the same points, kept
// sorted, disjoint and merged (no two ranges touch), and Covers true exactly
// when every point of the range is in the set.
func TestIntervalsModel(t *testing.T) {
	const n = 48
	for seed := uint64(0); seed < 150; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		var set Intervals
		var bits [n]bool
		for step := range 1 + rng.IntN(30) {
			from, to := rng.Int64N(n+1), rng.Int64N(n+1)
			if rng.IntN(4) != 0 && from > to {
				from, to = to, from
			}
			if rng.IntN(3) == 0 && to <= n-1 { // short ranges, where adjacency matters
				to = min(from+1+rng.Int64N(3), n)
			}
			prev := slices.Clone(set)
			set = set.Add(from, to)
			for p := from; p < to; p++ {
				bits[p] = true
			}
			ctx := func() string {
				return fmt.Sprintf("seed %d step %d: %v.Add(%d, %d) = %v", seed, step, prev, from, to, set)
			}
			for i, r := range set {
				if r.From >= r.To {
					t.Fatalf("%s: empty range %v", ctx(), r)
				}
				if i > 0 && set[i-1].To >= r.From {
					t.Fatalf("%s: ranges %v and %v not sorted, disjoint and merged", ctx(), set[i-1], r)
				}
			}
			var got [n]bool
			for _, r := range set {
				for p := r.From; p < r.To; p++ {
					if p < 0 || p >= n {
						t.Fatalf("%s: point %d outside anything added", ctx(), p)
					}
					got[p] = true
				}
			}
			if got != bits {
				t.Fatalf("%s: points %v, want %v", ctx(), got, bits)
			}
			for a := int64(0); a < n; a++ {
				for b := a + 1; b <= n; b++ {
					want := true
					for p := a; p < b; p++ {
						want = want && bits[p]
					}
					if set.Covers(a, b) != want {
						t.Fatalf("%s: Covers(%d, %d) = %v, want %v", ctx(), a, b, !want, want)
					}
				}
			}
		}
	}
}
