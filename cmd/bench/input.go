package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/cmd/internal/traffic"
	"github.com/oscheck/oscheck/processor/classify"
	"github.com/oscheck/oscheck/processor/decode"
	"github.com/oscheck/oscheck/topology"
)

// benchGrace is the grace every contender that has one runs with: oscheck's
// default.
const benchGrace = time.Second

// benchWindow is the window size: the reference app's.
const benchWindow = 2 * time.Second

// input is a preloaded input topic and what it must produce.
type input struct {
	topic   string
	records int   // records in the topic
	valid   int64 // records that decode: the naive design counts these
	want    map[truth.Key]int64
	late    int
	folded  int // records the truth counts as other under max-os-types
	about   string
}

// inputs are the preloaded topics: access_log, and with --flood the flood
// topic (else nil).
type inputs struct {
	normal, flood *input
}

// of returns the input contender reads.
func (ins inputs) of(contender string) *input {
	if contender == "oscheck-flood" {
		return ins.flood
	}
	return ins.normal
}

// preload writes the input to access_log, round-robin over its partitions,
// one Connect envelope per line, and with --flood the flood topic too.
func (e *env) preload(ctx context.Context) (inputs, error) {
	pr, err := e.producer(5 * time.Millisecond)
	if err != nil {
		return inputs{}, err
	}
	produce := func(p int32, v []byte) error { return pr.send(ctx, p, v) }
	began := time.Now()
	in := &input{topic: "access_log"}
	count := boundedCounter()
	var flood *input
	var floodCount *truth.Counter
	if len(e.o.logs) > 0 {
		err = e.realLines(count, in, produce)
	} else {
		var fl *flooder
		if e.o.flood > 0 {
			flood = &input{topic: floodTopic}
			floodCount = boundedCounter()
		}
		fl, err = eachLine(e.backlog(), e.o.flood, func(p int32, v []byte, t int64, os string, kind floodKind) error {
			if kind == floodNone {
				count.Add(p, t, os)
				in.records++
				if err := produce(p, v); err != nil || flood == nil {
					return err
				}
			}
			floodCount.Add(p, t, os)
			flood.records++
			return pr.sendTo(ctx, floodTopic, p, v)
		})
		in.valid = int64(in.records)
		in.about = fmt.Sprintf("%d generated lines in Connect envelopes, %v of event time", in.records, e.o.span)
		if flood != nil {
			flood.valid = int64(flood.records)
			flood.about = fmt.Sprintf("%s: the same lines, and %d with distinct os_type values at the current event time and %d late by %v among them",
				floodTopic, fl.distinct, fl.late, floodLateBy)
		}
	}
	if err := errors.Join(err, pr.close(ctx)); err != nil {
		return inputs{}, err
	}
	in.want, in.late, in.folded = count.Counts, count.Late, count.Folded
	if flood == nil {
		e.logf("preloaded %d records into %d partitions in %v", in.records, e.o.partitions, time.Since(began).Round(time.Millisecond))
	} else {
		flood.want, flood.late, flood.folded = floodCount.Counts, floodCount.Late, floodCount.Folded
		e.logf("preloaded %d records into access_log and %d into %s, %d partitions each, in %v", in.records, flood.records,
			floodTopic, e.o.partitions, time.Since(began).Round(time.Millisecond))
	}
	return inputs{in, flood}, nil
}

// backlog is the generated input.
func (e *env) backlog() traffic.Backlog {
	return traffic.Backlog{Lines: e.o.lines, Partitions: e.o.partitions, Span: e.o.span, Grace: benchGrace, Seed: e.o.seed,
		Start: time.Date(2019, 8, 14, 0, 0, 0, 0, time.FixedZone("+0800", 8*3600))}
}

// boundedCounter is a truth that applies max-os-types as oscheck does by
// default: the classifier's bucket names count as themselves, the first
// max-os-types other values of a window on a partition too, the rest as
// other.
func boundedCounter() *truth.Counter {
	c := truth.NewCounter(benchWindow, benchGrace)
	kept := make(map[string]bool)
	for _, name := range classify.BucketNames() {
		kept[name] = true
	}
	c.Bound(topology.DefaultConfig().MaxOSTypes, kept, classify.Other)
	return c
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
