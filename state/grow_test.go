package state

import (
	"fmt"
	"reflect"
	"testing"
)

// TestSlotGrow: a source that joins a slot (the input gained a partition)
// takes part in every window not final yet, and its partials for windows
// final before it joined are late, not a second final.
func TestSlotGrow(t *testing.T) {
	s := NewSlot()
	// Two sources: window 1000 final, window 2000 claimed by source 0 only.
	applyWant(t, s, rep(0, 2, Unbounded, 3000, part(1000, counts{"linux": 2}), part(2000, counts{"ios": 1})), 0, slotCfg,
		Output{Updates: []Final{fin(1000, 0, counts{"linux": 2}), fin(2000, 0, counts{"ios": 1})}})
	applyWant(t, s, rep(1, 2, Unbounded, 2000), 1, slotCfg,
		Output{Finals: []Final{fin(1000, 1, counts{"linux": 2})}})

	// Source 2 joins with its first report: 1000 was final, 2000 was not.
	applyWant(t, s, rep(2, 3, Unbounded, 2000, part(1000, counts{"android": 5})), 2, slotCfg, Output{Late: 5})
	if s.Sources != 3 {
		t.Fatalf("Sources = %d after a report of 3 sources", s.Sources)
	}
	// Source 1 claims 2000, which now waits for source 2 as well.
	applyWant(t, s, rep(1, 3, 2000, 3000), 3, slotCfg, Output{})
	applyWant(t, s, rep(2, 3, 2000, 3000, part(2000, counts{"android": 1})), 4, slotCfg, Output{
		Finals:  []Final{fin(2000, 4, counts{"ios": 1, "android": 1})},
		Updates: []Final{fin(2000, 4, counts{"android": 1})},
	})
	if want := (map[int32]Intervals{2: {{Unbounded, 2000}}}); !reflect.DeepEqual(s.Joined, want) {
		t.Errorf("Joined = %v, want %v", s.Joined, want)
	}

	// What a slot learned survives its encoding.
	b, err := SlotCodec{}.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := SlotCodec{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.(*Slot); !reflect.DeepEqual(got.Joined, s.Joined) || got.Sources != 3 {
		t.Errorf("decoded slot has Joined %v, Sources %d", got.Joined, got.Sources)
	}
}

// TestSlotGrowBeforeReports: Grow from the window stage's own knowledge
// (the input's partition count) holds the slot's open windows for the new
// source before any report of it arrives; a slot that finalised nothing has
// no late windows for anyone, and Grow never lowers Sources.
func TestSlotGrowBeforeReports(t *testing.T) {
	s := NewSlot()
	s.Grow(2)
	if s.Sources != 2 || s.Joined != nil {
		t.Fatalf("new slot grown to 2: Sources %d, Joined %v", s.Sources, s.Joined)
	}
	applyWant(t, s, rep(0, 1, Unbounded, 2000, part(1000, counts{"linux": 1})), 0, slotCfg,
		Output{Updates: []Final{fin(1000, 0, counts{"linux": 1})}})
	if s.Sources != 2 {
		t.Fatalf("a report of 1 source lowered Sources to %d", s.Sources)
	}
	applyWant(t, s, rep(1, 2, Unbounded, 2000, part(1000, counts{"ios": 1})), 1, slotCfg, Output{
		Finals:  []Final{fin(1000, 1, counts{"linux": 1, "ios": 1})},
		Updates: []Final{fin(1000, 1, counts{"ios": 1})},
	})
}

func TestIntervalsIntersect(t *testing.T) {
	for _, tt := range []struct{ a, b, want Intervals }{
		{nil, Intervals{{0, 5}}, nil},
		{Intervals{{0, 5}}, Intervals{{0, 5}}, Intervals{{0, 5}}},
		{Intervals{{Unbounded, 5}}, Intervals{{Unbounded, 3}}, Intervals{{Unbounded, 3}}},
		{Intervals{{0, 10}}, Intervals{{1, 2}, {4, 6}, {9, 12}}, Intervals{{1, 2}, {4, 6}, {9, 10}}},
		{Intervals{{0, 2}, {5, 7}}, Intervals{{2, 5}}, nil},
	} {
		if got := tt.a.Intersect(tt.b); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v ∩ %v = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := tt.b.Intersect(tt.a); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v ∩ %v = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

// TestSlotValuesBounded: with thousands of windows of hundreds of os types
// waiting for a lagging source, the slot's own value stays small and a report
// changes only the part it counts; when the lagging source catches up, the
// finals carry every count and the slot keeps the parts of Retain of them.
func TestSlotValuesBounded(t *testing.T) {
	wide := func(n int) counts {
		c := make(counts, n)
		for i := range n {
			c[fmt.Sprintf("scanner-%04d", i)] = 1
		}
		return c
	}
	const waiting = 4000
	c := SlotConfig{Windows: Windows{1000}, Retain: 64}
	s := NewSlot()
	s.Apply(rep(1, 2, Unbounded, 0), 0, c)
	s.Changes()
	for i := range int64(waiting) {
		c.Committed = i + 1
		s.Apply(rep(0, 2, i*1000, (i+1)*1000, part(i*1000, wide(200))), i+1, c)
		written, deleted := s.Changes()
		if len(written) != 1 || len(deleted) != 0 {
			t.Fatalf("report %d: %d parts written, %d deleted; want the one it counted", i, len(written), len(deleted))
		}
		if b := encodeSlot(t, s); len(b) > 512 {
			t.Fatalf("report %d: the slot's value is %d bytes with %d windows waiting: %s", i, len(b), i+1, b)
		}
	}
	if s.OpenWindows() != waiting {
		t.Fatalf("%d windows open, want %d", s.OpenWindows(), waiting)
	}
	c.Committed = waiting + 1
	out := s.Apply(rep(1, 2, 0, waiting*1000), waiting+1, c)
	if len(out.Finals) != waiting || len(out.Finals[waiting-1].Counts) != 200 {
		t.Fatalf("catching up: %d finals, want %d with every count", len(out.Finals), waiting)
	}
	// The next report: the finals above are no longer replayable.
	c.Committed = waiting + 2
	s.Apply(rep(1, 2, waiting*1000, (waiting+1)*1000), waiting+2, c)
	written, deleted := s.Changes()
	if len(written) != 0 || len(deleted) != waiting-c.Retain || len(s.Parts()) != c.Retain {
		t.Fatalf("catching up: %d parts written, %d deleted, %d kept; want 0, %d, %d",
			len(written), len(deleted), len(s.Parts()), waiting-c.Retain, c.Retain)
	}
	if b := encodeSlot(t, s); len(b) > 4<<10 {
		t.Fatalf("the slot's value is %d bytes with %d finals kept", len(b), c.Retain)
	}
}
