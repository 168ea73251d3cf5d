// Package truth is the harnesses' independent ground truth: the final count
// of every (os_type, window) computed from the input by the rule oscheck
// documents, and the comparison of an os-check topic with it. It shares no
// code with the service's own windowing, so it can find the service wrong.
package truth

import "time"

// Key is one (os_type, window) result.
type Key struct {
	OS    string
	Start int64 // window start, Unix ms
}

// Counter computes the expected final counts from records fed in each
// partition's offset order: a record is late, and not counted, when its
// window ended at least grace before the highest event time seen earlier in
// its partition.
type Counter struct {
	size, grace int64
	watermark   map[int32]int64
	Counts      map[Key]int64
	Late        int
}

// NewCounter returns an empty Counter for tumbling windows of size.
func NewCounter(window, grace time.Duration) *Counter {
	return &Counter{size: window.Milliseconds(), grace: grace.Milliseconds(),
		watermark: make(map[int32]int64), Counts: make(map[Key]int64)}
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
	c.Counts[Key{os, start}]++
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
