package main

import (
	"hash/fnv"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/traffic"
	"github.com/oscheck/oscheck/cmd/internal/truth"
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

// newStream generates the backlog and keeps it.
func newStream(b traffic.Backlog) *stream {
	s := &stream{partitions: b.Partitions, values: make([][][]byte, b.Partitions), index: make(map[uint64]line, b.Lines)}
	_ = b.Each(func(p int32, v []byte, t int64, os string) error {
		s.values[p] = append(s.values[p], v)
		s.index[hash(v)] = line{t: t, os: os}
		return nil
	})
	return s
}

func hash(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// truth computes the expected final counts from the input as the broker
// holds it (per partition, in offset order); unknown counts records the
// harness did not produce.
func (s *stream) truth(input [][][]byte, window, grace time.Duration) (counts map[truth.Key]int64, late, unknown int) {
	c := truth.NewCounter(window, grace)
	for p, recs := range input {
		for _, v := range recs {
			l, ok := s.index[hash(v)]
			if !ok {
				unknown++
				continue
			}
			c.Add(int32(p), l.t, l.os)
		}
	}
	return c.Counts, c.Late, unknown
}
