package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"

	"github.com/oscheck/oscheck/processor/classify"
	"github.com/oscheck/oscheck/processor/decode"
	"github.com/oscheck/oscheck/topology"
	"github.com/oscheck/oscheck/topology/cluster"
)

// The baselines run as `bench worker`, each in a process of its own, so
// their CPU and memory are measured apart from the broker's and the
// harness's, as oscheck's are.

// workerResult is what a worker writes to its result file once it has
// processed what it expected: the instants and process CPU times of its
// first and last record.
type workerResult struct {
	First, Last       time.Time
	CPUFirst, CPULast time.Duration
}

// recorder notes the first and the expected last record.
type recorder struct {
	expect int64
	done   atomic.Int64
	once   sync.Once
	res    workerResult
	path   string
	failed chan error
}

func (r *recorder) first() {
	r.once.Do(func() { r.res.First, r.res.CPUFirst = time.Now(), cpuTime() })
}

// count counts one finished unit of work and writes the result at the
// expected last one.
func (r *recorder) count() {
	if r.done.Add(1) != r.expect {
		return
	}
	r.res.Last, r.res.CPULast = time.Now(), cpuTime()
	b, _ := json.Marshal(r.res)
	if err := os.WriteFile(r.path, b, 0o644); err != nil {
		r.failed <- fmt.Errorf("writing result: %w", err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// baselineConfig is goka's default client configuration, reading the input
// from its start as every contender does; tuned adds oscheck's consumer
// buffering (runWorker adds the rest of oscheck's tuning), so the ceiling is
// measured with the same advantage.
func baselineConfig(tuned bool) *sarama.Config {
	c := goka.DefaultConfig()
	c.Version = sarama.V2_8_0_0
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	if tuned {
		cluster.TuneConsumer(c)
	}
	return c
}

// noopGraph is the goka ceiling: a processor whose callback does nothing.
// Its work is done when it has seen every record.
func noopGraph(group, input string, rec *recorder) *goka.GroupGraph {
	return goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(input), new(codec.Bytes), func(goka.Context, any) {
			rec.first()
			rec.count()
		}))
}

// naiveGraph is the straightforward goka design, as the reference Kafka
// Streams app without a record cache: every record is decoded and
// classified (with oscheck's own zero-allocation code, so the comparison is
// of the topology alone), repartitioned by (os_type, window) through the
// group's loopback topic, and counted by a table update that emits the new
// count. Its work is done when every decodable record has updated the table.
func naiveGraph(group, input, output string, partitions int, window time.Duration, rec *recorder) *goka.GroupGraph {
	type parser struct {
		mu  sync.Mutex
		dec *decode.Decoder
		cls *classify.Classifier
		req decode.Request
	}
	parsers := make([]*parser, partitions)
	for i := range parsers {
		parsers[i] = &parser{dec: decode.NewDecoder("os_type"), cls: classify.New()}
	}
	size := window.Milliseconds()
	parse := func(ctx goka.Context, msg any) {
		rec.first()
		p := parsers[ctx.Partition()]
		p.mu.Lock()
		defer p.mu.Unlock()
		if err := p.dec.Decode(msg.([]byte), &p.req); err != nil {
			return
		}
		os := p.cls.OSType(p.req.OSParam, p.req.UserAgent)
		ctx.Loopback(os+"@"+strconv.FormatInt(p.req.Time/size*size, 10), int64(1))
	}
	count := func(ctx goka.Context, msg any) {
		n, _ := ctx.Value().(int64)
		n += msg.(int64)
		ctx.SetValue(n)
		ctx.Emit(goka.Stream(output), ctx.Key(), n)
		rec.count()
	}
	return goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(input), new(codec.Bytes), parse),
		goka.Loop(new(codec.Int64), count),
		goka.Persist(new(codec.Int64)),
		goka.Output(goka.Stream(output), new(codec.Int64)))
}

// runWorker runs one baseline until ctx ends.
func runWorker(ctx context.Context, w workerFlags) error {
	rec := &recorder{expect: w.expect, path: w.result, failed: make(chan error, 1)}
	var g *goka.GroupGraph
	switch w.kind {
	case "noop":
		g = noopGraph(w.group, w.input, rec)
	case "naive":
		g = naiveGraph(w.group, w.input, w.output, w.partitions, w.window, rec)
	default:
		return fmt.Errorf("unknown worker %q", w.kind)
	}
	goka.ReplaceGlobalConfig(baselineConfig(w.tuned))
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication, tmc.Stream.Replication = 1, 1
	opts := []goka.ProcessorOption{goka.WithStorageBuilder(storage.MemoryBuilder()),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tmc))}
	if w.tuned {
		opts = append(opts, topology.PartitionChannel())
		topology.TuneGC()
	}
	p, err := goka.NewProcessor([]string{w.broker}, g, opts...)
	if err != nil {
		return fmt.Errorf("%s processor: %w", w.kind, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	select {
	case err := <-rec.failed:
		cancel()
		<-errc
		return err
	case err := <-errc:
		return err
	}
}
