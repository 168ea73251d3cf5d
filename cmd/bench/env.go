package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/proc"
)

// env is what every contender shares: the binaries and the broker process.
type env struct {
	o       options
	dir     string
	oscheck string // the oscheck binary
	self    string // this binary, for the baselines' workers
	broker  *proc.Proc
	addr    string
	log     io.Writer
}

// newEnv builds the binaries and starts the broker with brokerEnv added to
// its environment.
func newEnv(ctx context.Context, o options, log io.Writer, brokerEnv ...string) (*env, error) {
	e := &env{o: o, dir: o.dir, log: log}
	if e.dir == "" {
		dir, err := os.MkdirTemp("", "oscheck-bench-")
		if err != nil {
			return nil, err
		}
		e.dir = dir
	}
	bins, err := proc.Build(ctx, filepath.Join(e.dir, "bin"), "oscheck", "devbroker")
	if err != nil {
		return nil, err
	}
	e.oscheck = bins[0]
	if e.self, err = os.Executable(); err != nil {
		return nil, fmt.Errorf("finding the bench binary: %w", err)
	}
	port, err := proc.FreePort()
	if err != nil {
		return nil, err
	}
	e.addr = "127.0.0.1:" + strconv.Itoa(port)
	topics := fmt.Sprintf("access_log:%d", o.partitions)
	if o.flood > 0 {
		topics += fmt.Sprintf(",%s:%d", floodTopic, o.partitions)
	}
	e.broker, err = proc.New(e.dir, "broker", bins[1], "--port", strconv.Itoa(port),
		"--partitions", strconv.Itoa(int(o.partitions)), "--topics", topics)
	if err != nil {
		return nil, err
	}
	e.broker.Env = brokerEnv
	if err := e.broker.Start(); err != nil {
		return nil, err
	}
	if err := proc.WaitFor(ctx, 30*time.Second, "broker", func() bool { return proc.Listening(e.addr) }); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// launch starts a contender's process, logging to the work directory;
// stop ends it with SIGTERM.
func (e *env) launch(name string, args ...string) (p *proc.Proc, stop func(), err error) {
	p, err = proc.New(e.dir, name, args...)
	if err != nil {
		return nil, nil, err
	}
	if err := p.Start(); err != nil {
		return nil, nil, err
	}
	return p, func() { _ = p.Signal(syscall.SIGTERM, 30*time.Second) }, nil
}

// producer writes records to access_log, uncompressed, as a Kafka Connect
// FileStreamSource with the JsonConverter does, and remembers the first
// failure.
type producer struct {
	cl      *kgo.Client
	mu      sync.Mutex
	failure error
}

func (e *env) producer(linger time.Duration) (*producer, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerLinger(linger),
		kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	return &producer{cl: cl}, nil
}

// send produces value to partition of access_log asynchronously; it fails
// once an earlier record has failed.
func (p *producer) send(ctx context.Context, partition int32, value []byte) error {
	return p.sendTo(ctx, "access_log", partition, value)
}

// sendTo is send to another topic.
func (p *producer) sendTo(ctx context.Context, topic string, partition int32, value []byte) error {
	p.mu.Lock()
	err := p.failure
	p.mu.Unlock()
	if err != nil {
		return err
	}
	p.cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: partition, Value: value}, func(_ *kgo.Record, err error) {
		if err != nil {
			p.mu.Lock()
			p.failure = cmp.Or(p.failure, fmt.Errorf("producing to %s: %w", topic, err))
			p.mu.Unlock()
		}
	})
	return nil
}

// close waits for every record sent and reports the first failure.
func (p *producer) close(ctx context.Context) error {
	defer p.cl.Close()
	if err := p.cl.Flush(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failure
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.log, "%s bench: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func (e *env) close() {
	e.broker.SampleRSS()
	_ = e.broker.Signal(syscall.SIGTERM, 30*time.Second)
}

// sample is one reading of a process's CPU time and resident memory.
type sample struct {
	at  time.Time
	cpu time.Duration
	rss int64
}

// sampler reads a process's CPU time and RSS every 10 ms, the kernel's CPU
// accounting resolution, until stopped.
type sampler struct {
	mu      sync.Mutex
	samples []sample
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func sampleProc(p *proc.Proc) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			cpu, err := p.CPU()
			if err != nil {
				continue
			}
			rss := p.SampleRSS()
			s.mu.Lock()
			s.samples = append(s.samples, sample{time.Now(), cpu, rss})
			s.mu.Unlock()
		}
	}()
	return s
}

// close stops sampling, if it has not stopped yet, and returns the samples.
func (s *sampler) close() []sample {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	return s.samples
}

// cpuBetween is the CPU time used from the last sample at or before from to
// the first at or after to: it can only overstate.
func cpuBetween(samples []sample, from, to time.Time) time.Duration {
	var a, b time.Duration
	for _, s := range samples {
		if !s.at.After(from) {
			a = s.cpu
		}
		if !s.at.Before(to) {
			b = s.cpu
			break
		}
		b = s.cpu
	}
	return b - a
}

// rssAt returns the RSS sampled last before each fraction of [from, to].
func rssAt(samples []sample, from, to time.Time, fractions ...float64) []int64 {
	out := make([]int64, len(fractions))
	for i, f := range fractions {
		at := from.Add(time.Duration(f * float64(to.Sub(from))))
		for _, s := range samples {
			if s.at.After(at) {
				break
			}
			out[i] = s.rss
		}
	}
	return out
}
