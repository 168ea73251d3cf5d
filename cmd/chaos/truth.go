package main

import (
	"hash/fnv"
	"math/rand/v2"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/traffic"
)

// stream is the known input: every record's partition, envelope bytes, event
// time and os_type, in production order per partition.
type stream struct {
	partitions int32
	values     [][][]byte // per partition, in order
	index      map[uint64]line
}

type line struct {
	t  int64 // event time, ms (the log's second resolution)
	os string
}

// newStream generates n lines spread round-robin over partitions, in Kafka
// Connect envelopes, with event time advancing evenly through span from
// start; one line in ten is up to 90% of grace older (out of order, never
// late by construction of the generator; lateness is decided by the ground
// truth anyway).
func newStream(n int, partitions int32, start time.Time, span, grace time.Duration, seed uint64) *stream {
	s := &stream{partitions: partitions, values: make([][][]byte, partitions), index: make(map[uint64]line, n)}
	gen := traffic.NewGenerator(int64(seed))
	rng := rand.New(rand.NewPCG(seed, 3))
	var buf []byte
	for i := range n {
		at := start.Add(time.Duration(int64(span) * int64(i) / int64(n)))
		if rng.IntN(10) == 0 {
			at = at.Add(-time.Duration(rng.Int64N(int64(grace) * 9 / 10)))
		}
		var os string
		buf, os = gen.Append(buf[:0], at)
		v := traffic.Envelope(nil, buf)
		p := int32(i) % partitions
		s.values[p] = append(s.values[p], v)
		s.index[hash(v)] = line{t: at.Truncate(time.Second).UnixMilli(), os: os}
	}
	return s
}

func hash(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// windowKey is one (os_type, window) result.
type windowKey struct {
	os    string
	start int64
}

// truth computes the expected final counts from the input as the broker
// holds it (per partition, in offset order), by the rule the service
// documents: a record is late when its window ended at least grace before
// the highest event time seen earlier in its partition.
func truth(input [][][]byte, index map[uint64]line, window, grace time.Duration) (counts map[windowKey]int64, late, unknown int) {
	counts = make(map[windowKey]int64)
	size := window.Milliseconds()
	for _, recs := range input {
		watermark := int64(-1 << 62)
		for _, v := range recs {
			l, ok := index[hash(v)]
			if !ok {
				unknown++
				continue
			}
			watermark = max(watermark, l.t)
			closed := (watermark - grace.Milliseconds()) / size * size
			start := l.t / size * size
			if start+size <= closed {
				late++
				continue
			}
			counts[windowKey{l.os, start}]++
		}
	}
	return counts, late, unknown
}
