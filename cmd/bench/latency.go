package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/testkit/proc"
	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/cmd/internal/traffic"
	"github.com/oscheck/oscheck/topology"
)

// latency measures each of o.guarantees in turn (latencyOf) and reports
// whether os-check was exactly one right record per window every time.
func latency(ctx context.Context, o options, w io.Writer) (bool, error) {
	exact := true
	for i, g := range o.guarantees {
		if i > 0 {
			fmt.Fprintln(w)
		}
		ok, err := latencyOf(ctx, o, g, w)
		if err != nil {
			return false, fmt.Errorf("%s: %w", g, err)
		}
		exact = exact && ok
	}
	return exact, nil
}

// latencyOf runs oscheck with guarantee g, and otherwise its defaults, under
// a steady load of lines stamped with the current time, and measures for
// every final record how long after its window's end + grace it became
// visible on os-check to a read_committed consumer in this process. Only
// windows that closed by event time count: those ending at least a second
// before production stopped. Each guarantee gets a broker of its own, so
// none is measured against a heap the one before it grew. It reports whether
// os-check was exactly one right record per window.
func latencyOf(ctx context.Context, o options, g topology.Guarantee, w io.Writer) (bool, error) {
	// kfake keeps every record in its Go heap, and here the heap grows by
	// gigabytes while the tail is measured. At the default GOGC, its
	// collections stalled fetches for up to two seconds, which the figures
	// would have charged to oscheck.
	e, err := newEnv(ctx, o, os.Stderr, "GOGC="+latencyBrokerGOGC)
	if err != nil {
		return false, err
	}
	defer e.close()
	port, err := proc.FreePort()
	if err != nil {
		return false, err
	}
	httpAddr := "127.0.0.1:" + strconv.Itoa(port)
	p, stop, err := e.launch("oscheck-"+string(g), e.oscheck, "run", "--brokers", e.addr, "--http-addr", httpAddr,
		"--grace", benchGrace.String(), "--window", benchWindow.String(), "--processing-guarantee", string(g), "--log-level", "warn")
	if err != nil {
		return false, err
	}
	defer stop()
	if err := poll(ctx, 50*time.Millisecond, time.Minute, "oscheck ready", p, func() bool { return proc.Ready(httpAddr) }); err != nil {
		return false, err
	}
	out, err := truth.Collect(e.addr, "os-check", benchWindow)
	if err != nil {
		return false, err
	}
	defer out.Close()

	s := sampleProc(p)
	began := time.Now()
	want, stall, err := e.steadyLoad(ctx)
	if err != nil {
		s.close()
		return false, err
	}
	ended := time.Now()
	// The last windows close by the idle timeout (5 s by default).
	err = poll(ctx, 50*time.Millisecond, time.Minute, "every window", p, func() bool { return out.Have(want) == len(want) })
	samples := s.close()
	if err != nil {
		return false, err
	}
	time.Sleep(time.Second) // read on for duplicates
	records, arrived := out.Records()
	verdict := truth.Compare(records, want)

	size, grace := benchWindow.Milliseconds(), benchGrace.Milliseconds()
	var lat []time.Duration
	seen := make(map[truth.Key]bool)
	for i, r := range records {
		deadline := time.UnixMilli(r.Key.Start + size + grace)
		if seen[r.Key] || deadline.After(ended.Add(-time.Second)) {
			continue
		}
		seen[r.Key] = true
		lat = append(lat, arrived[i].Sub(deadline))
	}
	if len(lat) == 0 {
		return false, fmt.Errorf("no window closed by event time; run longer than %v", o.duration)
	}
	slices.Sort(lat)
	at := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	cpu := cpuBetween(samples, began, ended)

	fmt.Fprintf(w, "latency: %d lines/s for %v into %d partitions (Connect envelopes, stamped with the current time); oscheck %s, otherwise its defaults (window %v, grace %v); broker GOGC=%s\n",
		o.rate, o.duration, o.partitions, g, benchWindow, benchGrace, latencyBrokerGOGC)
	fmt.Fprintf(w, "window end + grace -> final record visible on os-check to a read_committed reader, over %d records of windows closed by event time:\n", len(lat))
	fmt.Fprintf(w, "  p50 %v  p99 %v  max %v  (min %v)\n", round(at(0.5)), round(at(0.99)), round(lat[len(lat)-1]), round(lat[0]))
	fmt.Fprintf(w, "load generator: longest stall between produce rounds %v (a window cannot close before the load reaches past it)\n", round(stall))
	fmt.Fprintf(w, "oscheck: %.2f cores, peak RSS %.1f MB\n", cpu.Seconds()/ended.Sub(began).Seconds(), mb(p.PeakRSS()))
	exact := verdict.OnePerWindow()
	fmt.Fprintf(w, "os-check: %d records for %d windows; exactly one right record per window: %v\n", len(records), len(want), exact)
	for _, pr := range verdict.Problems {
		fmt.Fprintln(w, "  ", pr)
	}
	return exact, nil
}

// latencyBrokerGOGC is the broker's GC target in latency mode.
const latencyBrokerGOGC = "400"

func round(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }

// steadyLoad produces o.rate lines a second for o.duration, each stamped
// with the time it is produced, round-robin over the partitions, and returns
// the truth of what it produced and the longest time between two rounds of
// producing, every 5 ms as planned.
func (e *env) steadyLoad(ctx context.Context) (want map[truth.Key]int64, stall time.Duration, err error) {
	pr, err := e.producer(time.Millisecond)
	if err != nil {
		return nil, 0, err
	}
	gen := traffic.NewGenerator(int64(e.o.seed))
	count := truth.NewCounter(benchWindow, benchGrace)
	var line []byte
	began := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	sent := 0
	last := began
	for now := began; now.Sub(began) < e.o.duration; now = <-tick.C {
		stall, last = max(stall, now.Sub(last)), now
		due := int(float64(e.o.rate) * now.Sub(began).Seconds())
		for ; sent < due; sent++ {
			at := time.Now()
			var os string
			line, os = gen.Append(line[:0], at)
			part := int32(sent) % e.o.partitions
			count.Add(part, at.Truncate(time.Second).UnixMilli(), os)
			if err := pr.send(ctx, part, traffic.Envelope(nil, line)); err != nil {
				pr.close(ctx)
				return nil, 0, err
			}
		}
		if ctx.Err() != nil {
			pr.close(ctx)
			return nil, 0, ctx.Err()
		}
	}
	if err := pr.close(ctx); err != nil {
		return nil, 0, err
	}
	e.logf("produced %d lines in %v", sent, time.Since(began).Round(time.Millisecond))
	return count.Counts, stall, nil
}
