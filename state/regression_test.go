package state

import (
	"math"
	"testing"
	"time"
)

// Regression tests for defects found by review of this package.

// TestRegressionSlotClaimsGrowWithoutBound: with slots > 1 and windows closing
// one (or fewer than slots) at a time, which is the steady state, a slot only
// hears the claims of its own windows, so a source's claims there become
// {[-inf,x), [w, w+size), [w+slots*size, ...), ...}: one more range per window
// of the slot, never merged. The slot's table value, and the cost of every
// Apply and changelog write, grow without bound, against Intervals' promise
// that "in steady state it is a single range".
func TestRegressionSlotClaimsGrowWithoutBound(t *testing.T) {
	const size, slots, sources, windows = 1000, 4, 2, 400
	w := Windows{size}
	aggs := []*Aggregator{
		NewAggregator(AggregatorConfig{Windows: w, Source: 0, Sources: sources, Slots: slots}),
		NewAggregator(AggregatorConfig{Windows: w, Source: 1, Sources: sources, Slots: slots}),
	}
	ss := map[int32]*Slot{}
	var off int64
	for i := range int64(windows) {
		for _, a := range aggs {
			a.Add(i, i*size, "linux")
			if !a.Due() {
				continue
			}
			reports, _ := a.Flush()
			for slot, r := range reports {
				if ss[slot] == nil {
					ss[slot] = NewSlot()
				}
				ss[slot].Apply(r, off, SlotConfig{Windows: w, Retain: 8})
				off++
			}
		}
	}
	for slot, s := range ss {
		for src, c := range s.Claims {
			if len(c) > 4 {
				t.Errorf("slot %d source %d: %d claim ranges after %d in-order windows (first %v %v %v)",
					slot, src, len(c), windows, c[0], c[1], c[2])
			}
		}
	}
}

// TestRegressionEventTimeDomain: times outside [MinEventTime, MaxEventTime]
// once overflowed the window arithmetic (a claim wider than MaxInt64 made
// Flush walk it window by window; the last window below MaxInt64 was always
// late). They are now refused, and the widest possible claim flushes at once.
func TestRegressionEventTimeDomain(t *testing.T) {
	a := NewAggregator(AggregatorConfig{Windows: Windows{1000}, Sources: 1, Slots: 4})
	for _, tm := range []int64{math.MinInt64, -1, MaxEventTime + 1, math.MaxInt64} {
		if a.Add(0, tm, "linux") {
			t.Errorf("Add at t=%d counted, want refused", tm)
		}
	}
	if a.Due() || a.OpenWindows() != 0 {
		t.Fatalf("refused records changed the aggregator")
	}
	if !a.Add(1, MinEventTime, "linux") {
		t.Fatal("record at MinEventTime refused")
	}
	a.Flush()
	if !a.Add(2, MaxEventTime, "linux") {
		t.Fatal("record at MaxEventTime refused")
	}
	done := make(chan int, 1)
	go func() {
		r, _ := a.Flush()
		done <- len(r)
	}()
	select {
	case n := <-done:
		if n != 4 {
			t.Fatalf("%d reports, want 4", n)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Flush of the widest claim did not return within 2s")
	}
}

// TestRegressionSlotDecodeNullMaps: SlotCodec.Decode accepts "claims": null or
// "open": null (json sets the maps to nil; SlotCodec{}.Encode(&Slot{}) itself
// writes "claims":null), and the next Apply panics with "assignment to entry
// in nil map". Expected: a decode error, or a slot that works.
func TestRegressionSlotDecodeNullMaps(t *testing.T) {
	for _, in := range []string{`{"sources":1,"claims":null,"applied":0}`, `{"sources":1,"claims":{},"open":null,"applied":0}`} {
		v, err := SlotCodec{}.Decode([]byte(in))
		if err != nil {
			continue // rejecting it is fine
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("Decode(%s) then Apply panicked: %v", in, p)
				}
			}()
			v.(*Slot).Apply(rep(0, 1, Unbounded, 1000, part(0, counts{"a": 1})), 1, slotCfg)
		}()
	}
}
