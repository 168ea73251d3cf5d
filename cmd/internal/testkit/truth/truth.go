// Package truth is the harnesses' independent ground truth: the final count
// of every (os_type, window) computed from the input by the rule oscheck
// documents, and the comparison of an os-check topic with it. It shares no
// code with the service's own windowing, so it can find the service wrong.
package truth

import (
	"math"
	"time"
)

// Key is one (os_type, window) result.
type Key struct {
	OS    string
	Start int64 // window start, Unix ms
}

// Counter computes the expected final counts from records fed in each
// partition's offset order: a record is late, and not counted, when its
// window ended at least grace before the highest event time seen earlier in
// its partition, or, on a partition that joined the input late (Join), when
// its window was final before the partition joined.
type Counter struct {
	size, grace int64
	watermark   map[int32]int64
	Counts      map[Key]int64
	Late        int

	// joined holds, per partition added to the input while the service ran,
	// the growth frontier (Join).
	joined map[int32]int64
	// LateJoined counts the late records that only the growth frontier made
	// late: their own partition had not closed their windows.
	LateJoined int

	// The os_type bound (Bound); max 0: none.
	max  int
	kept map[string]bool
	fold string
	// admitted holds, per partition and open window start, the os types
	// outside kept that the window counts under their own names; closed is
	// the partition's boundary when admitted was last pruned.
	admitted map[int32]map[int64]map[string]bool
	closed   map[int32]int64
	Folded   int // records counted under fold instead of their own os type
}

// NewCounter returns an empty Counter for tumbling windows of size.
func NewCounter(window, grace time.Duration) *Counter {
	return &Counter{size: window.Milliseconds(), grace: grace.Milliseconds(),
		watermark: make(map[int32]int64), Counts: make(map[Key]int64), joined: make(map[int32]int64)}
}

// Join applies oscheck's rule for a partition added to the input while it
// runs: the partition takes part in every window not yet final when the
// service learns of it, and its records for windows already final are late.
// Which windows were final then depends on timing; frontier makes it
// deterministic: the windows ending at or before it (Frontier of the
// partitions that existed, over the records written before the growth) are
// the ones the truth takes as final. A harness must keep the rule from
// deciding alone (LateJoined 0), since the service may learn of the growth
// before or after it finalizes any of the windows past the frontier.
func (c *Counter) Join(partition int32, frontier int64) {
	c.joined[partition] = frontier
}

// Frontier returns where the windows closed on every partition in [0, n)
// end: each of them has seen records whose event time closed every window
// ending at or before it. It is math.MinInt64 while one of them has none.
func (c *Counter) Frontier(n int32) int64 {
	if n <= 0 {
		return math.MinInt64
	}
	frontier := int64(math.MaxInt64)
	for p := range n {
		w, ok := c.watermark[p]
		if !ok {
			return math.MinInt64
		}
		frontier = min(frontier, floorDiv(w-c.grace, c.size)*c.size)
	}
	return frontier
}

// Bound applies oscheck's max-os-types rule from now on: each partition
// counts, per window, every os type in kept under its own name, and at most
// max others, the first to appear in that window on that partition in
// offset order (late records do not appear: they are not counted). A record
// of any further os type counts under fold. max 0 turns the bound off.
//
// The Counter remembers, per partition, only the admitted names of the
// windows still open there: at most max each.
func (c *Counter) Bound(max int, kept map[string]bool, fold string) {
	c.max, c.kept, c.fold = max, kept, fold
	c.admitted = make(map[int32]map[int64]map[string]bool)
	c.closed = make(map[int32]int64)
}

// Add counts the next record of partition, with event time t (Unix ms).
func (c *Counter) Add(partition int32, t int64, os string) {
	w, ok := c.watermark[partition]
	if !ok || t > w {
		w = t
		c.watermark[partition] = w
	}
	closed := floorDiv(w-c.grace, c.size) * c.size
	start := floorDiv(t, c.size) * c.size
	if start+c.size <= closed {
		c.Late++
		return
	}
	// The watermark moved all the same: the partition's own parse stage
	// does not know the window stage finalized the window before it joined.
	if frontier, ok := c.joined[partition]; ok && start+c.size <= frontier {
		c.Late++
		c.LateJoined++
		return
	}
	if c.max > 0 {
		os = c.bound(partition, closed, start, os)
	}
	c.Counts[Key{os, start}]++
}

// bound returns what a record of os in the window at start counts as on
// partition, whose windows ending at or before closed are closed.
func (c *Counter) bound(partition int32, closed, start int64, os string) string {
	windows := c.admitted[partition]
	if windows == nil {
		windows = make(map[int64]map[string]bool)
		c.admitted[partition] = windows
	}
	if last, ok := c.closed[partition]; !ok || closed > last {
		c.closed[partition] = closed
		for s := range windows {
			if s+c.size <= closed {
				delete(windows, s)
			}
		}
	}
	if c.kept[os] {
		return os
	}
	names := windows[start]
	if names == nil {
		names = make(map[string]bool, c.max)
		windows[start] = names
	}
	switch {
	case names[os]:
	case len(names) < c.max:
		names[os] = true
	default:
		c.Folded++
		return c.fold
	}
	return os
}

// open returns how many windows of partition hold admitted names: for tests
// of the Counter's memory.
func (c *Counter) open(partition int32) int { return len(c.admitted[partition]) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
