package processor

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHolds(t *testing.T) {
	var h holds
	if f := h.floor(); f != math.MaxInt64 {
		t.Fatalf("empty floor %d", f)
	}
	h.add(10, 4)  // record 10 flushed windows starting at offset 4
	h.add(11, 11) // record 11 went to the dead-letter topic
	h.add(-1, 2)  // an idle flush of a window starting at offset 2
	if f := h.floor(); f != 2 {
		t.Fatalf("floor %d, want 2", f)
	}
	h.release(-1)
	if f := h.floor(); f != 4 {
		t.Fatalf("floor %d after releasing the idle flush, want 4", f)
	}
	h.release(11) // completes out of order
	h.release(12) // not held: no effect
	if f := h.floor(); f != 4 {
		t.Fatalf("floor %d, want 4 until record 10 is done", f)
	}
	h.release(10)
	if f := h.floor(); f != math.MaxInt64 || h.count != 0 {
		t.Fatalf("floor %d with %d holds left, want none", f, h.count)
	}
}

// TestHoldsModel checks holds against the obvious list under random adds
// (several per key, as a record can be both late and flush windows) and
// releases in any order, enough of them for the heap to be rebuilt.
func TestHoldsModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h holds
	type entry struct{ until, floor int64 }
	var model []entry
	next := int64(0)
	for i := range 100_000 {
		switch {
		case rng.IntN(2) == 0 || len(model) == 0:
			next++
			for range 1 + rng.IntN(2) {
				f := next - rng.Int64N(1000)
				h.add(next, f)
				model = append(model, entry{next, f})
			}
		default:
			key := model[rng.IntN(len(model))].until
			if rng.IntN(10) == 0 {
				key = -key // never held: no effect
			}
			h.release(key)
			model = slices.DeleteFunc(model, func(e entry) bool { return e.until == key })
		}
		want := int64(math.MaxInt64)
		for _, e := range model {
			want = min(want, e.floor)
		}
		if got := h.floor(); got != want || h.count != len(model) {
			t.Fatalf("step %d: floor %d with %d holds, want %d with %d", i, got, h.count, want, len(model))
		}
		if len(h.heap) > 2*len(model)+64+1 {
			t.Fatalf("step %d: the heap keeps %d entries for %d holds", i, len(h.heap), len(model))
		}
	}
}

// BenchmarkHoldsFlood holds each of a flood of dead-lettered records until
// its acknowledgement, with 10,000 in flight, acknowledged a little out of
// order: the cost per record must not grow with the records in flight.
func BenchmarkHoldsFlood(b *testing.B) {
	const inFlight = 10_000
	var h holds
	for i := range int64(inFlight) {
		h.add(i, i)
	}
	b.ResetTimer()
	for i := range int64(b.N) {
		h.add(inFlight+i, inFlight+i)
		h.release(i ^ 1) // pairs acknowledged in swapped order
		_ = h.floor()
	}
}
