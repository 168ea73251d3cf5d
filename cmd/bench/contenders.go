package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/proc"
	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/topology"
)

// result is one contender's run.
type result struct {
	contender string
	run       int
	events    int           // input records processed
	wall      time.Duration // first record read to work done
	cpu       time.Duration // process CPU time over wall
	brokerCPU time.Duration // the broker's CPU time over wall
	peakRSS   int64
	rss       []int64 // RSS at a quarter, half, three quarters and the end of wall
	output    int     // records on the contender's output topic
	verdict   truth.Verdict
	// naive only: windows whose last record carries the right count
	lastRight int
}

func (r result) perSecond() float64 { return float64(r.events) / r.wall.Seconds() }

// cpuPerMillion is CPU-seconds per million events.
func (r result) cpuPerMillion() float64 { return perMillion(r.cpu, r.events) }

func perMillion(d time.Duration, events int) float64 { return d.Seconds() / float64(events) * 1e6 }

// oscheckGuarantees is the processing guarantee of each oscheck contender:
// oscheck is the service as shipped, oscheck-alo what exactly-once costs
// against, oscheck-flood the service as shipped on the flood topic.
var oscheckGuarantees = map[string]topology.Guarantee{
	"oscheck":       topology.ExactlyOnceV2,
	"oscheck-alo":   topology.AtLeastOnce,
	"oscheck-flood": topology.ExactlyOnceV2,
}

// runOscheck runs `oscheck run` from an empty consumer group over the
// preloaded input topic in and times it from its first record read (the metric
// oscheck_records_consumed_total leaving 0) to the arrival of the last window
// the input has on its output topic, read read_committed: under
// exactly_once_v2 a record counts once its transaction has committed.
func (e *env) runOscheck(ctx context.Context, contender string, run int, in *input) (result, error) {
	res := result{contender: contender, run: run, events: in.records}
	group := fmt.Sprintf("bench-%s-%d", contender, run)
	outTopic := group + "-out"
	port, err := proc.FreePort()
	if err != nil {
		return res, err
	}
	httpAddr := "127.0.0.1:" + strconv.Itoa(port)
	out, err := truth.Collect(e.addr, outTopic, benchWindow)
	if err != nil {
		return res, err
	}
	defer out.Close()
	if e.o.page != "" {
		closePage, err := watchPage(ctx, e.o.page, httpAddr)
		if err != nil {
			return res, err
		}
		defer closePage()
	}
	p, stop, err := e.launch(group, e.oscheck, "run", "--brokers", e.addr, "--input", in.topic, "--group", group, "--output", outTopic,
		"--http-addr", httpAddr, "--idle-timeout", e.o.idleTimeout.String(), "--grace", benchGrace.String(),
		"--window", benchWindow.String(), "--processing-guarantee", string(oscheckGuarantees[contender]), "--log-level", "warn")
	if err != nil {
		return res, err
	}
	defer stop()
	s, bs := sampleProc(p), sampleProc(e.broker)
	defer s.close()
	defer bs.close()

	// The last poll that still saw nothing consumed: timing from there can
	// only overstate oscheck's time.
	var t0 time.Time
	err = poll(ctx, 10*time.Millisecond, e.o.timeout, "oscheck's first record", p, func() bool {
		at := time.Now()
		n, ok := consumed(httpAddr)
		if ok && n == 0 {
			t0 = at
		}
		return ok && n > 0
	})
	if err != nil {
		return res, err
	}
	if t0.IsZero() {
		return res, errors.New("oscheck consumed before its metrics could be read")
	}
	err = poll(ctx, 5*time.Millisecond, e.o.timeout, "oscheck's last window", p, func() bool { return out.Have(in.want) == len(in.want) })
	if err != nil {
		return res, err
	}
	// Done when the last window first arrived; a duplicate after it is no
	// work still to do.
	records, arrived := out.Records()
	first := make(map[truth.Key]time.Time)
	for i, r := range records {
		if _, ok := first[r.Key]; !ok {
			first[r.Key] = arrived[i]
		}
	}
	var t1 time.Time
	for k := range in.want {
		if first[k].After(t1) {
			t1 = first[k]
		}
	}
	// Read on for duplicates: the clock has stopped.
	time.Sleep(time.Second)
	got, brokerGot := s.close(), bs.close()
	records, _ = out.Records()
	res.wall, res.cpu, res.brokerCPU = t1.Sub(t0), cpuBetween(got, t0, t1), cpuBetween(brokerGot, t0, t1)
	res.rss = rssAt(got, t0, t1, 0.25, 0.5, 0.75, 1)
	res.peakRSS = p.PeakRSS()
	res.output = len(records)
	res.verdict = truth.Compare(records, in.want)
	return res, nil
}

// consumed reads oscheck_records_consumed_total from an instance's /metrics.
func consumed(addr string) (float64, bool) {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "oscheck_records_consumed_total "); ok {
			n, err := strconv.ParseFloat(v, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// poll calls done every interval until it holds; it fails when p exits, ctx
// ends or timeout passes.
func poll(ctx context.Context, interval, timeout time.Duration, what string, p *proc.Proc, done func() bool) error {
	deadline := time.Now().Add(timeout)
	for !done() {
		if up, _ := p.Running(); !up {
			return fmt.Errorf("%s exited while waiting for %s: %v (log in %s.log)", p.Name, what, p.ExitErr(), p.Name)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s within %v", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
	return nil
}

// runBaseline runs a baseline in a process of its own and takes its timing
// from the worker's own result.
func (e *env) runBaseline(ctx context.Context, contender string, run int, in *input) (result, error) {
	res := result{contender: contender, run: run, events: in.records}
	kind, tuned := strings.CutSuffix(contender, "-tuned")
	group := fmt.Sprintf("bench-%s-%d", contender, run)
	outTopic := group + "-out"
	resultFile := filepath.Join(e.dir, group+".json")
	expect := int64(in.records)
	if kind == "naive" {
		expect = in.valid
	}
	p, stop, err := e.launch(group, e.self, "worker", "--kind", kind, "--broker", e.addr, "--group", group,
		"--output", outTopic, "--result", resultFile, "--partitions", strconv.Itoa(int(e.o.partitions)),
		"--window", benchWindow.String(), "--expect", strconv.FormatInt(expect, 10), "--tuned="+strconv.FormatBool(tuned))
	if err != nil {
		return res, err
	}
	defer stop()
	s, bs := sampleProc(p), sampleProc(e.broker)
	err = poll(ctx, 20*time.Millisecond, e.o.timeout, kind+"'s result", p, func() bool {
		_, err := os.Stat(resultFile)
		return err == nil
	})
	got, brokerGot := s.close(), bs.close()
	if err != nil {
		return res, err
	}
	b, err := os.ReadFile(resultFile)
	if err != nil {
		return res, err
	}
	var w workerResult
	if err := json.Unmarshal(b, &w); err != nil {
		return res, fmt.Errorf("%s result: %w", kind, err)
	}
	res.wall, res.cpu, res.brokerCPU = w.Last.Sub(w.First), w.CPULast-w.CPUFirst, cpuBetween(brokerGot, w.First, w.Last)
	res.rss = rssAt(got, w.First, w.Last, 0.25, 0.5, 0.75, 1)
	res.peakRSS = p.PeakRSS()
	if kind == "naive" {
		if err := e.judgeNaive(ctx, outTopic, in, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// judgeNaive reads the naive design's output, one record per update keyed
// os@start with the new count, and finds how many records each window got
// and whether the last one is right.
func (e *env) judgeNaive(ctx context.Context, topic string, in *input, res *result) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	last := make(map[truth.Key]int64)
	ctx, cancel := context.WithTimeout(ctx, e.o.timeout)
	defer cancel()
	for int64(res.output) < in.valid {
		f := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading the naive output (%d of %d records): %w", res.output, in.valid, err)
		}
		f.EachRecord(func(r *kgo.Record) {
			res.output++
			os, start, ok := strings.Cut(string(r.Key), "@")
			s, err1 := strconv.ParseInt(start, 10, 64)
			n, err2 := strconv.ParseInt(string(r.Value), 10, 64)
			if ok && err1 == nil && err2 == nil {
				last[truth.Key{OS: os, Start: s}] = n
			}
		})
	}
	for k, n := range in.want {
		if last[k] == n {
			res.lastRight++
		}
	}
	return nil
}
