package processor

import "math"

// Committer is what the topology asks before it commits a partition's offset.
type Committer interface {
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
// not tied to a record, until released by key). There are only ever a few, so
// a slice beats any map.
type holds []hold

type hold struct {
	until int64
	floor int64
}

func (h *holds) add(until, floor int64) {
	*h = append(*h, hold{until: until, floor: floor})
}

// release drops the holds keyed by until.
func (h *holds) release(until int64) {
	kept := (*h)[:0]
	for _, x := range *h {
		if x.until != until {
			kept = append(kept, x)
		}
	}
	*h = kept
}

func (h holds) floor() int64 {
	f := int64(math.MaxInt64)
	for _, x := range h {
		f = min(f, x.floor)
	}
	return f
}
