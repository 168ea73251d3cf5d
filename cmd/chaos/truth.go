package main

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/cmd/internal/traffic"
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

	// With growth, records[:grow] go to partitions [0, before) and the
	// rest to [0, sources): the harness raises access_log from before to
	// sources partitions once it has produced records[:grow]. frontier is
	// the growth frontier (truth.Counter.Frontier) of records[:grow]. grow is
	// -1 without growth, and before equals sources.
	grow            int
	before, sources int32
	frontier        int64
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
//     lines from the main stream's span;
//   - with o.GrowTo, the main stream's lines go round-robin over o.GrowTo
//     partitions, those before the growth (growLine) folded onto the first
//     o.Partitions; the tail and the held-back partition (the last) are
//     among all o.GrowTo.
func newStream(o Options, start time.Time) *stream {
	s := &stream{index: make(map[uint64]line, o.Lines+o.TailWindows),
		malformed: make(map[uint64]bool, o.Malformed), grow: -1, before: o.Partitions, sources: o.sources()}
	span := time.Duration(o.Windows) * o.Window
	every := 0
	if o.Malformed > 0 {
		every = max(1, o.Lines/o.Malformed)
	}
	growAt := growLine(o)
	i := 0
	_ = traffic.Backlog{Lines: o.Lines, Partitions: s.sources, Start: start, Span: span, Grace: o.Grace, Seed: o.Seed,
		LateEvery: o.LateEvery, LateBy: o.Grace + 2*o.Window, OnTime: onTimeAfter(growAt, o.Lines, s.sources),
	}.Each(func(p int32, v []byte, t int64, os string) error {
		if i == growAt {
			s.grow = len(s.records)
		}
		if i < growAt {
			// Before the growth only the first partitions exist; the
			// lines meant for the others go to them in turn.
			p %= s.before
		}
		s.records = append(s.records, s.add(p, v, t, os))
		if i++; every > 0 && i%every == 0 && len(s.malformed) < o.Malformed {
			s.records = append(s.records, s.garbage(p))
		}
		return nil
	})
	s.tail, s.tailStart = len(s.records), start.Add(span).UnixMilli()
	parts := s.sources
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
	if s.grow >= 0 {
		s.frontier = s.frontierAt(s.grow, o.Window, o.Grace)
	}
	return s
}

// onTimeRecords is how many of a new partition's first lines the growth
// scenario keeps on time: a deliberately late line among them might be
// late only by the growth frontier, not by its own partition's event time
// (which starts with it), and whether oscheck counts it would then depend
// on when it learned of the growth.
const onTimeRecords = 100

// growLine returns the index of the main-stream line before which the input
// grows: 30 to 40% into the main stream, by the seed (so that the kills of
// the chaos schedule fall before and after it); o.Lines without growth.
func growLine(o Options) int {
	if o.GrowTo == 0 {
		return o.Lines
	}
	frac := 0.30 + 0.10*rand.New(rand.NewPCG(o.Seed, 11)).Float64()
	return int(float64(o.Lines) * frac)
}

// onTimeAfter keeps late lines off the first onTimeRecords lines of every
// partition from line growAt on (the lines go round-robin over sources);
// nil without growth (growAt past the lines), so that the stream stays the
// one the seed always gave.
func onTimeAfter(growAt, lines int, sources int32) func(int) bool {
	if growAt >= lines {
		return nil
	}
	return func(i int) bool { return i >= growAt && i < growAt+onTimeRecords*int(sources) }
}

// frontierAt returns the growth frontier of records[:n]: the end of the
// windows every partition that existed before the growth had closed.
func (s *stream) frontierAt(n int, window, grace time.Duration) int64 {
	c := truth.NewCounter(window, grace)
	for _, r := range s.records[:n] {
		if l, ok := s.index[hash(r.v)]; ok { // malformed records are not in the index
			c.Add(r.p, l.t, l.os)
		}
	}
	return c.Frontier(s.before)
}

// checkGrowth makes sure that the growth scenario has one right answer
// whenever oscheck learns of the growth: no record goes to a partition
// before it exists, none of the first onTimeRecords lines of a new
// partition is late, and the growth frontier never decides alone (a new
// partition's record in a window ending at or before the frontier is late
// by its own partition's event time too). The generator's event time runs
// ahead with production, so this holds by construction; checked, not
// assumed.
func (s *stream) checkGrowth(window, grace time.Duration) error {
	if s.grow < 0 {
		return nil
	}
	for i, r := range s.records[:s.grow] {
		if r.p >= s.before {
			return fmt.Errorf("record %d, before the growth, goes to partition %d of %d", i, r.p, s.before)
		}
	}
	c := s.counter(window, grace)
	seen := make(map[int32]int)
	// The held-back partition has no tail records: records then held is
	// every partition's production order.
	for _, r := range slices.Concat(s.records, s.held) {
		l, ok := s.index[hash(r.v)]
		if !ok {
			continue
		}
		late, lateJoined := c.Late, c.LateJoined
		c.Add(r.p, l.t, l.os)
		if r.p < s.before {
			continue
		}
		seen[r.p]++
		if c.LateJoined > lateJoined {
			return fmt.Errorf("line %d of new partition %d (event time %d) is in a window ending at or before the growth frontier %d "+
				"that its partition has not closed: whether it counts would depend on when oscheck learns of the growth", seen[r.p], r.p, l.t, s.frontier)
		}
		if c.Late > late && seen[r.p] <= onTimeRecords {
			return fmt.Errorf("line %d of new partition %d (event time %d) is late, among its first %d", seen[r.p], r.p, l.t, onTimeRecords)
		}
	}
	for p := s.before; p < s.sources; p++ {
		if seen[p] < onTimeRecords {
			return fmt.Errorf("new partition %d has %d lines, fewer than %d", p, seen[p], onTimeRecords)
		}
	}
	return nil
}

// counter returns the truth's Counter for this stream: with growth, the
// new partitions join at the growth frontier.
func (s *stream) counter(window, grace time.Duration) *truth.Counter {
	c := truth.NewCounter(window, grace)
	if s.grow >= 0 {
		for p := s.before; p < s.sources; p++ {
			c.Join(p, s.frontier)
		}
	}
	return c
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
	counts map[truth.Key]int64
	late   int
	// lateJoined counts the late records only the growth frontier made
	// late: checkGrowth keeps it 0.
	lateJoined int
	malformed  int // records of the stream's malformed ones
	unknown    int // records the harness did not produce
}

// truth computes the expected final counts from the input as the broker
// holds it (per partition, in offset order).
func (s *stream) truth(in [][][]byte, window, grace time.Duration) input {
	c := s.counter(window, grace)
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
	r.counts, r.late, r.lateJoined = c.Counts, c.Late, c.LateJoined
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
