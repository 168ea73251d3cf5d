package traffic

import (
	"math/rand/v2"
	"time"
)

// Backlog is a finite, reproducible input topic: Lines lines spread
// round-robin over Partitions, in Kafka Connect envelopes, with event time
// advancing evenly through Span from Start. One line in ten is up to 90% of
// Grace older than its neighbours: out of order, as real shippers deliver,
// but never late. Late lines are asked for apart (LateEvery).
type Backlog struct {
	Lines      int
	Partitions int32
	Start      time.Time
	Span       time.Duration
	Grace      time.Duration
	Seed       uint64
	// LateEvery, when positive, makes one line in LateEvery (at random)
	// LateBy older than its neighbours instead: late, once LateBy exceeds
	// grace and a window.
	LateEvery int
	LateBy    time.Duration
	// OnTime, when set, names lines (by index in production order) that
	// must not be late whatever LateEvery draws: a line drawn late there is
	// written with its neighbours' time instead, and every other line is
	// the one the seed gives without OnTime.
	OnTime func(i int) bool
}

// Each calls f with every record in production order: its partition, its
// value (a new slice f may keep), its event time (Unix ms, the log's second
// resolution) and the os_type it must be counted under. It stops at the
// first error f returns.
func (b Backlog) Each(f func(partition int32, value []byte, t int64, osType string) error) error {
	gen := NewGenerator(int64(b.Seed))
	rng := rand.New(rand.NewPCG(b.Seed, 3))
	var line []byte
	for i := range b.Lines {
		at := b.Start.Add(time.Duration(int64(b.Span) * int64(i) / int64(b.Lines)))
		// Drawn only with LateEvery, so that a backlog without late lines
		// keeps the lines its seed always gave.
		if b.LateEvery > 0 && rng.IntN(b.LateEvery) == 0 {
			if b.OnTime == nil || !b.OnTime(i) {
				at = at.Add(-b.LateBy)
			}
		} else if rng.IntN(10) == 0 && b.Grace > 0 {
			at = at.Add(-time.Duration(rng.Int64N(int64(b.Grace) * 9 / 10)))
		}
		var os string
		line, os = gen.Append(line[:0], at)
		if err := f(int32(i)%b.Partitions, Envelope(nil, line), at.Truncate(time.Second).UnixMilli(), os); err != nil {
			return err
		}
	}
	return nil
}
