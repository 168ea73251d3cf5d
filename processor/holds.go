package processor

import "math"

// CommitFloor is what the topology asks before it commits a partition's offset.
type CommitFloor interface {
	// Done tells that goka finished the record at next-1 (its callback ran and
	// its emits were acknowledged) and returns the partition's floor after
	// that, as Floor would: one call on the per-record path.
	Done(partition int32, next int64) (floor int64)
	// Floor returns the lowest offset of the partition that must not be
	// committed past yet (math.MaxInt64 for no limit).
	Floor(partition int32) int64
	// Reset forgets all partition state: a new consumer-group session starts
	// every partition again from its committed offset.
	Reset()
}

// holds are a partition's pending limits on its commit: each keeps the commit
// at or below floor until the record at offset until is done (or, for holds
// not tied to a record, until released by its key, a negative token). A key
// is never reused once released: offsets are processed once per session, and
// tokens count down.
//
// A flood of late or malformed records holds one per record until the
// producer acknowledges it, and the window stage holds every record so, so
// no operation may scan them all: holds are a min-heap by floor, whose
// released entries are dropped when they reach the top, and the heap is
// rebuilt from its live entries once the released ones outnumber them.
// add is O(log n), release O(1), floor amortised O(log n).
type holds struct {
	heap  []hold
	live  map[int64]int // holds per key not yet released
	count int           // the sum of live
}

type hold struct {
	until int64
	floor int64
}

func (h *holds) add(until, floor int64) {
	if h.live == nil {
		h.live = make(map[int64]int)
	}
	h.live[until]++
	h.count++
	h.heap = append(h.heap, hold{until: until, floor: floor})
	h.up(len(h.heap) - 1)
}

// release drops the holds keyed by until.
func (h *holds) release(until int64) {
	n, ok := h.live[until]
	if !ok {
		return
	}
	delete(h.live, until)
	h.count -= n
	if len(h.heap) > 2*h.count+64 {
		h.rebuild()
	}
}

// floor returns the lowest floor of the live holds (math.MaxInt64 for none).
func (h *holds) floor() int64 {
	for len(h.heap) > 0 {
		if _, ok := h.live[h.heap[0].until]; ok {
			return h.heap[0].floor
		}
		h.pop()
	}
	return math.MaxInt64
}

// rebuild keeps only the live entries and restores the heap order.
func (h *holds) rebuild() {
	kept := h.heap[:0]
	for _, x := range h.heap {
		if _, ok := h.live[x.until]; ok {
			kept = append(kept, x)
		}
	}
	clear(h.heap[len(kept):])
	h.heap = kept
	for i := len(h.heap)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *holds) pop() {
	last := len(h.heap) - 1
	h.heap[0] = h.heap[last]
	h.heap = h.heap[:last]
	if last > 0 {
		h.down(0)
	}
}

func (h *holds) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if h.heap[parent].floor <= h.heap[i].floor {
			return
		}
		h.heap[parent], h.heap[i] = h.heap[i], h.heap[parent]
		i = parent
	}
}

func (h *holds) down(i int) {
	for {
		least, l, r := i, 2*i+1, 2*i+2
		if l < len(h.heap) && h.heap[l].floor < h.heap[least].floor {
			least = l
		}
		if r < len(h.heap) && h.heap[r].floor < h.heap[least].floor {
			least = r
		}
		if least == i {
			return
		}
		h.heap[i], h.heap[least] = h.heap[least], h.heap[i]
		i = least
	}
}
