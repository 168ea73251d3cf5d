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

// TestSlotRetainBytes: the finals kept for queries stop at RetainBytes,
// newest first, and those a replay may need stay whatever their size.
func TestSlotRetainBytes(t *testing.T) {
	wide := func(n int) counts {
		c := make(counts, n)
		for i := range n {
			c[fmt.Sprintf("scanner-%04d", i)] = 1
		}
		return c
	}
	c := SlotConfig{Windows: Windows{1000}, Retain: 64, RetainBytes: 20 << 10}
	s := NewSlot()
	for i := range int64(40) {
		c.Committed = i + 1 // nothing replayable
		s.Apply(rep(0, 1, i*1000, (i+1)*1000, part(i*1000, wide(200))), i, c)
	}
	b, err := SlotCodec{}.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Finals) == 0 || len(b) > 24<<10 || s.Finals[len(s.Finals)-1].Start != 39000 {
		t.Fatalf("slot keeps %d finals, encodes to %d bytes; want the newest within 20 KiB", len(s.Finals), len(b))
	}
	c.Committed = 40 // every final from here on replayable
	for i := int64(40); i < 60; i++ {
		s.Apply(rep(0, 1, i*1000, (i+1)*1000, part(i*1000, wide(200))), i, c)
	}
	if s.Finals[0].Offset > 40 || len(s.replay(40).Finals) != 1 {
		t.Fatalf("replayable finals dropped: first kept at offset %d", s.Finals[0].Offset)
	}
}
