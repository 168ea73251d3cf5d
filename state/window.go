package state

import "math"

// Unbounded is the start of a claim that reaches back to the beginning of
// time: what a source partition claims when it does not know what it
// reported before (its first report after an assignment).
const Unbounded int64 = math.MinInt64

// Windows is the arithmetic of epoch-aligned tumbling windows [start, start+Size),
// in Unix milliseconds.
type Windows struct {
	Size int64 // window length in milliseconds, > 0
}

// Start returns the start of the window holding t.
// Times so early that their window start is not representable map to Unbounded.
func (w Windows) Start(t int64) int64 {
	q := floorDiv(t, w.Size)
	if q < math.MinInt64/w.Size {
		return Unbounded
	}
	return q * w.Size
}

// Index returns the window number of the window starting at start
// (windows are numbered from the epoch).
func (w Windows) Index(start int64) int64 {
	return floorDiv(start, w.Size)
}

// floorDiv rounds towards negative infinity, so times before the epoch still
// fall into the window that holds them.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
