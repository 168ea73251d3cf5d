package main

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/traffic"
	"github.com/oscheck/oscheck/cmd/internal/truth"
)

// stream is the known input: every record's partition and envelope bytes in
// production order, and what each one is.
type stream struct {
	records []record // the producer's, in order: the main stream, then from tail on the tail
	tail    int
	// held is the held-back partition's after the main stream, produced in
	// one transaction that stays open until the rest of the stream is through.
	held      []record
	tailStart int64 // start of the tail's first window, Unix ms
	end       int64 // end of the last window of records (not of held), Unix ms
	index     map[uint64]line
	malformed map[uint64]bool
}

type record struct {
	p int32
	v []byte
}

type line struct {
	t  int64 // event time, ms (the log's second resolution)
	os string
}

// heldLate is how many lines the held-back partition has after its first
// (a line past every window of the stream): late, every one.
const heldLate = 10

// newStream generates the input o asks for, its event time from start:
//   - the main stream, o.Lines lines over o.Windows windows round-robin over
//     the partitions, one in o.LateEvery late, o.Malformed malformed records
//     among them;
//   - the tail, one line per window over o.TailWindows windows more;
//   - with o.HoldBack, the tail leaves the last partition out, which has
//     held instead: a line a window past the end of the tail, then heldLate
//     lines from the main stream's span.
func newStream(o Options, start time.Time) *stream {
	s := &stream{index: make(map[uint64]line, o.Lines+o.TailWindows),
		malformed: make(map[uint64]bool, o.Malformed)}
	span := time.Duration(o.Windows) * o.Window
	every := 0
	if o.Malformed > 0 {
		every = max(1, o.Lines/o.Malformed)
	}
	i := 0
	_ = traffic.Backlog{Lines: o.Lines, Partitions: o.Partitions, Start: start, Span: span, Grace: o.Grace, Seed: o.Seed,
		LateEvery: o.LateEvery, LateBy: o.Grace + 2*o.Window,
	}.Each(func(p int32, v []byte, t int64, os string) error {
		s.records = append(s.records, s.add(p, v, t, os))
		if i++; every > 0 && i%every == 0 && len(s.malformed) < o.Malformed {
			s.records = append(s.records, s.garbage(p))
		}
		return nil
	})
	s.tail, s.tailStart = len(s.records), start.Add(span).UnixMilli()
	parts := o.Partitions
	if o.HoldBack {
		parts--
	}
	_ = traffic.Backlog{Lines: o.TailWindows, Partitions: parts, Start: start.Add(span),
		Span: time.Duration(o.TailWindows) * o.Window, Seed: o.Seed + 1,
	}.Each(func(p int32, v []byte, t int64, os string) error {
		s.records = append(s.records, s.add(p, v, t, os))
		return nil
	})
	for _, l := range s.index {
		s.end = max(s.end, l.t)
	}
	size := o.Window.Milliseconds()
	s.end = (s.end/size + 1) * size
	if o.HoldBack {
		past := time.UnixMilli(s.end).Add(o.Grace + o.Window)
		for _, b := range []traffic.Backlog{
			{Lines: 1, Partitions: 1, Start: past, Seed: o.Seed + 2},
			{Lines: heldLate, Partitions: 1, Start: start, Span: span, Seed: o.Seed + 3},
		} {
			_ = b.Each(func(_ int32, v []byte, t int64, os string) error {
				s.held = append(s.held, s.add(parts, v, t, os))
				return nil
			})
		}
	}
	return s
}

func (s *stream) add(p int32, v []byte, t int64, os string) record {
	s.index[hash(v)] = line{t: t, os: os}
	return record{p, v}
}

// garbage returns the next malformed record for partition p, each one
// different, in turn of the kinds oscheck must send to its dead-letter
// topic: no access-log line, broken JSON, a line with no request, bytes
// that are not text.
func (s *stream) garbage(p int32) record {
	n := len(s.malformed)
	var v []byte
	switch n % 4 {
	case 0:
		v = traffic.Envelope(nil, fmt.Appendf(nil, "chaos: malformed record %d", n))
	case 1:
		v = fmt.Appendf(nil, `{"schema":{"type":"string","optional":false},"payload":"cut short %d`, n)
	case 2:
		v = traffic.Envelope(nil, fmt.Appendf(nil, `10.0.0.1 - - [14/Aug/2019:00:00:00 +0800] no request %d`, n))
	default:
		v = fmt.Appendf(nil, "\x00\x01chaos %d\xff", n)
	}
	s.malformed[hash(v)] = true
	return record{p, v}
}

func hash(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// input is what the truth makes of the input as the broker holds it.
type input struct {
	counts    map[truth.Key]int64
	late      int
	malformed int // records of the stream's malformed ones
	unknown   int // records the harness did not produce
}

// truth computes the expected final counts from the input as the broker
// holds it (per partition, in offset order).
func (s *stream) truth(in [][][]byte, window, grace time.Duration) input {
	c := truth.NewCounter(window, grace)
	var r input
	for p, recs := range in {
		for _, v := range recs {
			h := hash(v)
			if s.malformed[h] {
				r.malformed++
				continue
			}
			l, ok := s.index[h]
			if !ok {
				r.unknown++
				continue
			}
			c.Add(int32(p), l.t, l.os)
		}
	}
	r.counts, r.late = c.Counts, c.Late
	return r
}

// dlq is how the dead-letter topic compares with the malformed records sent.
type dlq struct {
	Sent       int // malformed records in the input
	Records    int // records on the dead-letter topic
	Missing    int // malformed records not there
	Duplicates int // extra copies of one that is
	Unexpected int // records that are not malformed ones of the input
}

// deadLetters judges the dead-letter topic's values.
func (s *stream) deadLetters(values [][]byte) dlq {
	d := dlq{Sent: len(s.malformed), Records: len(values)}
	seen := make(map[uint64]bool, len(values))
	for _, v := range values {
		h := hash(v)
		switch {
		case !s.malformed[h]:
			d.Unexpected++
		case seen[h]:
			d.Duplicates++
		default:
			seen[h] = true
		}
	}
	d.Missing = d.Sent - len(seen)
	return d
}
