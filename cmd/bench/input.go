package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/traffic"
	"github.com/oscheck/oscheck/cmd/internal/truth"
	"github.com/oscheck/oscheck/processor/classify"
	"github.com/oscheck/oscheck/processor/decode"
)

// benchGrace is the grace every contender that has one runs with: oscheck's
// default.
const benchGrace = time.Second

// benchWindow is the window size: the reference app's.
const benchWindow = 2 * time.Second

// input is the preloaded access_log topic and what it must produce.
type input struct {
	records int   // records in the topic
	valid   int64 // records that decode: the naive design counts these
	want    map[truth.Key]int64
	late    int
	about   string
}

// preload writes the input to access_log, round-robin over its partitions,
// one Connect envelope per line.
func (e *env) preload(ctx context.Context) (*input, error) {
	pr, err := e.producer(5 * time.Millisecond)
	if err != nil {
		return nil, err
	}
	produce := func(p int32, v []byte) error { return pr.send(ctx, p, v) }
	began := time.Now()
	in := &input{}
	count := truth.NewCounter(benchWindow, benchGrace)
	if len(e.o.logs) > 0 {
		err = e.realLines(count, in, produce)
	} else {
		b := traffic.Backlog{Lines: e.o.lines, Partitions: e.o.partitions, Span: e.o.span, Grace: benchGrace, Seed: e.o.seed,
			Start: time.Date(2019, 8, 14, 0, 0, 0, 0, time.FixedZone("+0800", 8*3600))}
		err = b.Each(func(p int32, v []byte, t int64, os string) error {
			count.Add(p, t, os)
			in.records++
			return produce(p, v)
		})
		in.valid = int64(in.records)
		in.about = fmt.Sprintf("%d generated lines in Connect envelopes, %v of event time", in.records, e.o.span)
	}
	if err := errors.Join(err, pr.close(ctx)); err != nil {
		return nil, err
	}
	in.want, in.late = count.Counts, count.Late
	e.logf("preloaded %d records into %d partitions in %v", in.records, e.o.partitions, time.Since(began).Round(time.Millisecond))
	return in, nil
}

// realLines reads the --logs files. Their truth is what oscheck's decoder and
// classifier make of each line, windowed by the independent rule: the
// benchmark checks the windowing and the exactly-once output, and the
// classifier has tests of its own.
func (e *env) realLines(count *truth.Counter, in *input, produce func(int32, []byte) error) error {
	dec, cls := decode.NewDecoder("os_type"), classify.New()
	var req decode.Request
	for _, path := range e.o.logs {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if len(sc.Bytes()) == 0 {
				continue
			}
			v := traffic.Envelope(nil, sc.Bytes())
			p := int32(in.records) % e.o.partitions
			in.records++
			if dec.Decode(v, &req) == nil {
				in.valid++
				count.Add(p, req.Time, cls.OSType(req.OSParam, req.UserAgent))
			}
			if err := produce(p, v); err != nil {
				f.Close()
				return err
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
	}
	in.about = fmt.Sprintf("%d real lines from %d files in Connect envelopes", in.records, len(e.o.logs))
	return nil
}
