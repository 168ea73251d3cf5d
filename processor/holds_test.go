package processor

import (
	"math"
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
	if f := h.floor(); f != math.MaxInt64 || len(h) != 0 {
		t.Fatalf("floor %d with %d holds left, want none", f, len(h))
	}
}
