package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/traffic"
	"github.com/oscheck/oscheck/topology"
)

func runGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("oscheck gen", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	rate := fs.Int("rate", 1000, "lines per second (0: as fast as possible)")
	count := fs.Int64("count", 0, "stop after this many lines (0: no limit)")
	duration := fs.Duration("duration", 0, "stop after this long (0: no limit)")
	file := fs.String("file", "", "append lines to this file, as nginx writes its access log (instead of Kafka)")
	target := fs.String("url", "", "instead of Kafka, send each line's request (method, path and query, User-Agent) to this web server, "+
		"http://host[:port][/prefix], for its own access log; only answered requests are counted, whatever their status. "+
		"A refused connection is retried for 10s (a server still starting); other failures are logged and counted, "+
		"more than 1% of requests failing stops gen, and any failure makes it exit non-zero")
	brokers := fs.String("brokers", "localhost:9092", "Kafka bootstrap brokers, comma-separated")
	topic := fs.String("topic", "access_log", "topic to produce to")
	envelope := fs.String("envelope", "plain", "record value: plain (the line) or connect (Kafka Connect's JsonConverter envelope)")
	disorder := fs.Duration("disorder", 0, "make one line in ten up to this much older than now")
	seed := fs.Int64("seed", 0, "random seed (0: from the clock)")
	securityFlags(fs)
	v, err := flagsAndEnv(fs, args)
	if err != nil {
		return err
	}
	if *rate < 0 || *count < 0 || *duration < 0 || *disorder < 0 {
		return errors.New("rate, count, duration and disorder must not be negative")
	}
	if *envelope != "plain" && *envelope != "connect" {
		return fmt.Errorf("config key \"envelope\": unknown envelope %q (want plain or connect)", *envelope)
	}
	dest, err := genDestination(*file, *target, fs.Changed("brokers"))
	if err != nil {
		return err
	}
	if dest == "url" && *disorder > 0 {
		return &topology.KeyError{Key: "disorder", Reason: "the server, not gen, timestamps the requests --url sends"}
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano()
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	spec := genSpec{rate: *rate, count: *count, disorder: *disorder, seed: *seed}
	if dest == "url" {
		return genRequests(ctx, spec, *target, stdout, stderr)
	}
	var sink lineSink
	if dest == "file" {
		sink, err = newFileSink(*file)
	} else {
		var conn []kgo.Opt
		if conn, err = genKafkaClient(v, *brokers, stderr); err == nil {
			sink, err = newKafkaSink(conn, *topic, *envelope == "connect")
		}
	}
	if err != nil {
		return err
	}
	start := time.Now()
	perOS, genErr := generate(ctx, spec, sink.write)
	err = errors.Join(genErr, sink.close())
	elapsed := time.Since(start)
	n := total(perOS)
	fmt.Fprintf(stdout, "wrote %d lines in %v (%.0f lines/s)\n", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	printPerOS(stdout, perOS)
	return err
}

// genDestination returns where gen sends its lines: "file" or "url" when
// that key is given, else "brokers", Kafka. Naming two is an error: each
// line goes to one place, so that the counts gen prints are the counts
// there.
func genDestination(file, target string, brokersSet bool) (string, error) {
	var given []string
	if brokersSet {
		given = append(given, "brokers")
	}
	if file != "" {
		given = append(given, "file")
	}
	if target != "" {
		given = append(given, "url")
	}
	switch len(given) {
	case 0:
		return "brokers", nil
	case 1:
		return given[0], nil
	}
	return "", &topology.KeyError{Key: given[0], Reason: fmt.Sprintf("conflicts with %q: gen writes to one of file, brokers and url", given[1])}
}

func total(perOS map[string]int64) int64 {
	var n int64
	for _, c := range perOS {
		n += c
	}
	return n
}

// printPerOS prints a count per os_type, a line each, sorted.
func printPerOS(w io.Writer, perOS map[string]int64) {
	for _, os := range slices.Sorted(maps.Keys(perOS)) {
		fmt.Fprintf(w, "%-10s %d\n", os, perOS[os])
	}
}

// genSpec says how many lines generate writes, how fast and how ordered.
type genSpec struct {
	rate     int           // lines per second; 0: as fast as possible
	count    int64         // stop after this many lines; 0: no limit
	disorder time.Duration // one line in ten is up to this much older than now
	seed     int64
}

// genTick is how often a rate-limited generate catches up with its rate.
const genTick = 10 * time.Millisecond

// generate passes synthetic nginx lines, timestamped now, to emit until ctx
// is done, spec.count lines are written or emit fails, and returns how many
// lines it wrote per os_type they must be counted under. The line passed to
// emit is valid only during the call.
func generate(ctx context.Context, spec genSpec, emit func(line []byte) error) (map[string]int64, error) {
	return generateRequests(ctx, spec, func(line []byte, _ traffic.Request) error { return emit(line) })
}

// generateRequests is generate for sinks that need the request each line
// records; req.Target is valid only during the call, as the line is.
func generateRequests(ctx context.Context, spec genSpec, emit func(line []byte, req traffic.Request) error) (map[string]int64, error) {
	gen := traffic.NewGenerator(spec.seed)
	rng := rand.New(rand.NewPCG(uint64(spec.seed), 2))
	perOS := make(map[string]int64)
	var written int64
	var line []byte
	one := func(now time.Time) error {
		if spec.disorder > 0 && rng.IntN(10) == 0 {
			now = now.Add(-time.Duration(rng.Int64N(int64(spec.disorder))))
		}
		var req traffic.Request
		line, req = gen.AppendRequest(line[:0], now)
		if err := emit(line, req); err != nil {
			return err
		}
		perOS[req.OSType]++
		written++
		return nil
	}
	done := func() bool { return spec.count > 0 && written >= spec.count }
	if spec.rate == 0 {
		for !done() && ctx.Err() == nil {
			if err := one(time.Now()); err != nil {
				return perOS, err
			}
		}
		return perOS, nil
	}
	t := time.NewTicker(genTick)
	defer t.Stop()
	start := time.Now()
	for !done() {
		select {
		case <-ctx.Done():
			return perOS, nil
		case now := <-t.C:
			// A sink that blocks (a slow server) can leave generate far
			// behind its rate; catching up must still end with ctx.
			due := int64(now.Sub(start).Seconds() * float64(spec.rate))
			for written < due && !done() && ctx.Err() == nil {
				if err := one(now); err != nil {
					return perOS, err
				}
			}
		}
	}
	return perOS, nil
}

// lineSink is where generated lines go.
type lineSink interface {
	write(line []byte) error
	close() error
}

// fileSink appends lines to a file and flushes at least every genTick, so
// that a reader following the file sees lines as they are written, whole.
type fileSink struct {
	f       *os.File
	w       *bufio.Writer
	flushed time.Time
}

func newFileSink(path string) (*fileSink, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("config key \"file\": %w", err)
	}
	return &fileSink{f: f, w: bufio.NewWriterSize(f, 256<<10), flushed: time.Now()}, nil
}

func (s *fileSink) write(line []byte) error {
	if s.w.Available() < len(line)+1 {
		if err := s.w.Flush(); err != nil {
			return err
		}
	}
	s.w.Write(line)
	s.w.WriteByte('\n')
	if now := time.Now(); now.Sub(s.flushed) >= genTick {
		s.flushed = now
		return s.w.Flush()
	}
	return nil
}

func (s *fileSink) close() error {
	return errors.Join(s.w.Flush(), s.f.Close())
}

// kafkaSink produces each line as one record, asynchronously; the first
// failed produce fails the next write.
type kafkaSink struct {
	cl       *kgo.Client
	envelope bool
	mu       sync.Mutex
	err      error
}

// genKafkaClient returns the client options for gen's brokers.
func genKafkaClient(v *viper.Viper, brokers string, stderr io.Writer) ([]kgo.Opt, error) {
	sec, err := validSecurity(v, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return nil, err
	}
	return sec.KgoOpts(brokerList(brokers))
}

func newKafkaSink(conn []kgo.Opt, topic string, envelope bool) (*kafkaSink, error) {
	cl, err := kgo.NewClient(append(conn, kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(5*time.Millisecond))...)
	if err != nil {
		return nil, fmt.Errorf("producer for %s: %w", topic, err)
	}
	return &kafkaSink{cl: cl, envelope: envelope}, nil
}

func (s *kafkaSink) write(line []byte) error {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	var value []byte
	if s.envelope {
		value = traffic.Envelope(nil, line)
	} else {
		value = slices.Clone(line)
	}
	// Not the generator's context: a line generated before it ended was
	// counted, so it must be produced; close waits for it.
	s.cl.Produce(context.Background(), &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
		if err != nil {
			s.mu.Lock()
			if s.err == nil {
				s.err = err
			}
			s.mu.Unlock()
		}
	})
	return nil
}

func (s *kafkaSink) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.cl.Flush(ctx)
	s.cl.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return fmt.Errorf("producing: %w", s.err)
	}
	if err != nil {
		return fmt.Errorf("flushing: %w", err)
	}
	return nil
}
