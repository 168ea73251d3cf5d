// Command bench measures oscheck against two goka baselines on the same
// broker and the same preloaded input, each contender in a process of its own:
//
//   - oscheck: `oscheck run` as shipped (exactly_once_v2), from its first
//     record read to the last final window visible on its output topic to a
//     read_committed reader;
//   - oscheck-alo: the same with --processing-guarantee at_least_once, what
//     exactly-once is measured against;
//   - naive: the straightforward goka design, a loopback repartition and a
//     table update (and an output record) per event;
//   - noop: a goka processor whose callback does nothing, the ceiling of any
//     goka design, with goka's default client configuration;
//   - noop-tuned: the same with oscheck's tuning (buffering, GC), the ceiling of
//     a goka design tuned as oscheck is.
//
// The broker (cmd/devbroker, in memory) runs as a separate process too, so
// each contender's CPU time and peak RSS are its own.
//
//	go run ./cmd/bench                                 # 2,000,000 lines, 6 partitions, 3 runs: throughput table
//	go run ./cmd/bench --logs ../shared/data/access-logs/nginx_logs_elastic_29480.log
//	go run ./cmd/bench --mode latency                  # 50,000 lines/s for 60 s: window end+grace to visible
//	go run ./cmd/bench --mode latency --guarantees exactly_once_v2,at_least_once
//	go run ./cmd/bench --flood 1000000 --contenders oscheck,oscheck-flood
//
// --flood N adds a contender, oscheck-flood: oscheck as shipped on a second
// topic that holds the same lines and, among them, N with distinct os_type
// values and N late ones.
//
// Figures are for comparison within one run on one machine; it exits 1 when
// the output of an oscheck contender is not exactly one right record per
// (os_type, window).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/oscheck/oscheck/topology"
)

// options shape a bench run.
type options struct {
	mode        string
	lines       int
	partitions  int32
	runs        int
	span        time.Duration // event time the generated input covers
	logs        []string      // real access-log files instead of generated lines
	flood       int           // lines with distinct os_type values, and late lines, in the flood topic; 0: none
	contenders  []string
	guarantees  []topology.Guarantee // latency mode: each measured in turn
	seed        uint64
	idleTimeout time.Duration // oscheck's: how soon the last windows close once the input is consumed
	rate        int           // latency mode: lines per second
	duration    time.Duration // latency mode: how long to produce
	timeout     time.Duration // a contender that has not finished by then failed
	page        string        // a browser that watches each oscheck run's live page; "": none
	dir         string
}

type workerFlags struct {
	kind, broker, group, input, output, result string
	partitions                                 int
	tuned                                      bool
	window                                     time.Duration
	expect                                     int64
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		if err := worker(ctx, os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench worker:", err)
			os.Exit(2)
		}
		return
	}
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	var exact bool
	if o.mode == "latency" {
		exact, err = latency(ctx, o, os.Stdout)
	} else {
		exact, err = throughput(ctx, o, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if !exact {
		os.Exit(1)
	}
}

func parseOptions(args []string) (options, error) {
	fs := pflag.NewFlagSet("bench", pflag.ContinueOnError)
	var o options
	fs.StringVar(&o.mode, "mode", "throughput", "throughput (preloaded input, all contenders) or latency (steady load, oscheck)")
	fs.IntVar(&o.lines, "lines", 2_000_000, "generated input lines")
	fs.Int32Var(&o.partitions, "partitions", 6, "partitions of the input topic")
	fs.IntVar(&o.runs, "runs", 3, "runs of each contender; the table shows each and the median")
	fs.DurationVar(&o.span, "span", 100*time.Second, "event time the generated input covers")
	fs.StringSliceVar(&o.logs, "logs", nil, "real access-log files (one line per record) to use instead of generated lines")
	fs.StringSliceVar(&o.contenders, "contenders", []string{"oscheck", "oscheck-alo", "naive", "noop", "noop-tuned"}, "contenders to run (oscheck-flood too with --flood)")
	fs.IntVar(&o.flood, "flood", 0, "also preload "+floodTopic+": the same lines and, spread among them, this many with distinct os_type values and as many late ones, read by the contender oscheck-flood (0: off)")
	guarantees := fs.StringSlice("guarantees", []string{string(topology.ExactlyOnceV2)},
		"latency mode: oscheck's processing guarantees to measure, one after the other, each against a broker of its own")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated input")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", 100*time.Millisecond, "oscheck's idle timeout in throughput mode: the last windows close this long after the input is consumed")
	fs.IntVar(&o.rate, "rate", 50_000, "latency mode: lines per second")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "latency mode: how long to produce")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up on a contender that has not finished its run by then")
	fs.StringVar(&o.page, "page", "", "throughput mode: open each oscheck run's live page (/) in this headless browser, e.g. chromium, to measure what watching costs")
	fs.StringVar(&o.dir, "dir", "", "work directory for binaries and logs (default: a new temporary one)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.mode != "throughput" && o.mode != "latency":
		return o, fmt.Errorf("--mode: %q is neither throughput nor latency", o.mode)
	case o.lines < 1, o.partitions < 1, o.runs < 1, o.rate < 1:
		return o, errors.New("--lines, --partitions, --runs and --rate must be positive")
	case o.span < 2*time.Second, o.duration < 10*time.Second:
		return o, errors.New("--span must be at least 2s and --duration at least 10s")
	case o.flood < 0:
		return o, errors.New("--flood must not be negative")
	case o.flood > 0 && (o.mode != "throughput" || len(o.logs) > 0):
		return o, errors.New("--flood needs the throughput mode and generated lines (no --logs)")
	case o.flood > 0 && int(o.partitions) > o.lines:
		return o, errors.New("--flood needs at least a line per partition")
	}
	if o.flood > 0 && !fs.Changed("contenders") && !slices.Contains(o.contenders, "oscheck-flood") {
		o.contenders = append(o.contenders, "oscheck-flood")
	}
	for _, c := range o.contenders {
		if _, ok := oscheckGuarantees[c]; !ok && c != "naive" && c != "noop" && c != "noop-tuned" {
			return o, fmt.Errorf("--contenders: unknown contender %q", c)
		}
		if c == "oscheck-flood" && o.flood == 0 {
			return o, errors.New("--contenders: oscheck-flood needs --flood")
		}
	}
	for _, g := range *guarantees {
		if g := topology.Guarantee(g); g != topology.ExactlyOnceV2 && g != topology.AtLeastOnce {
			return o, fmt.Errorf("--guarantees: %q is neither %s nor %s", g, topology.ExactlyOnceV2, topology.AtLeastOnce)
		}
		o.guarantees = append(o.guarantees, topology.Guarantee(g))
	}
	if len(o.guarantees) == 0 {
		return o, errors.New("--guarantees: name at least one")
	}
	return o, nil
}

func worker(ctx context.Context, args []string) error {
	fs := pflag.NewFlagSet("bench worker", pflag.ContinueOnError)
	var w workerFlags
	fs.StringVar(&w.kind, "kind", "", "noop or naive")
	fs.StringVar(&w.broker, "broker", "", "broker address")
	fs.StringVar(&w.group, "group", "", "consumer group")
	fs.StringVar(&w.input, "input", "access_log", "input topic")
	fs.StringVar(&w.output, "output", "", "output topic (naive)")
	fs.StringVar(&w.result, "result", "", "file to write the result to")
	fs.IntVar(&w.partitions, "partitions", 0, "input partitions")
	fs.BoolVar(&w.tuned, "tuned", false, "run with oscheck's tuning (cluster.TuneConsumer; topology.PartitionChannel, TuneGC)")
	fs.DurationVar(&w.window, "window", 2*time.Second, "window size (naive)")
	fs.Int64Var(&w.expect, "expect", 0, "units of work (records seen, table updates) that finish the run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return runWorker(ctx, w)
}
