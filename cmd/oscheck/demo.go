package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/processor/output"
	"github.com/oscheck/oscheck/topology"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("oscheck demo", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
	rate := fs.Int("rate", 2000, "synthetic access-log lines per second")
	partitions := fs.Int32("partitions", 6, "partitions of the embedded access_log topic")
	window := fs.Duration("window", 2*time.Second, "tumbling window size")
	grace := fs.Duration("grace", 500*time.Millisecond, "grace after a window's end")
	idle := fs.Duration("idle-timeout", 2*time.Second, "close windows of an idle partition after this long")
	httpAddr := fs.String("http-addr", "127.0.0.1:9464", "address of the live page, /metrics, /healthz and /readyz (empty: off)")
	logLevel := fs.String("log-level", "warn", "service log level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rate <= 0 || *partitions <= 0 {
		return errors.New("rate and partitions must be positive")
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}

	cfg := topology.DefaultConfig()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(*partitions, cfg.Input))
	if err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	defer cluster.Close()
	cfg.Brokers = cluster.ListenAddrs()
	cfg.Window, cfg.Grace, cfg.IdleTimeout = *window, *grace, *idle
	cfg.ReplicationFactor = 1

	fs2 := pflag.NewFlagSet("", pflag.ContinueOnError)
	fs2.String("log-level", *logLevel, "")
	v, _ := settings(fs2, nil)
	log, err := newLogger(v, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "embedded Kafka broker at %s; topic %s (%d partitions) gets %d synthetic nginx lines/s\n",
		cfg.Brokers[0], cfg.Input, *partitions, *rate)
	if *httpAddr != "" {
		fmt.Fprintf(stdout, "live page: %s\n", pageURL(*httpAddr))
	}
	fmt.Fprintf(stdout, "final windows of %v (grace %v), as written to %s in %s format:\n", cfg.Window, cfg.Grace, cfg.Output, cfg.Format)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var errs [3]error
	goRun := func(i int, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = f(); errs[i] != nil {
				cancel(errs[i])
			}
		}()
	}
	goRun(0, func() error { return serve(ctx, cfg, web{addr: *httpAddr}, 30*time.Second, log) })
	goRun(1, func() error { return produceSynthetic(ctx, cfg.Brokers, cfg.Input, *rate) })
	goRun(2, func() error {
		return readWindows(ctx, []kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}, cfg.Output, cfg.Format, cfg.Window,
			func(w output.Window) { fmt.Fprintln(stdout, w) },
			func(err error) { fmt.Fprintln(stderr, "demo reader:", err) })
	})
	wg.Wait()
	return errors.Join(errs[:]...)
}

// produceSynthetic writes rate lines per second, in Kafka Connect
// JsonConverter envelopes as the FileStreamSource connector of the reference
// setup would, with event time now; one line in ten is up to 400 ms old, out
// of order within the grace period.
func produceSynthetic(ctx context.Context, brokers []string, topic string, rate int) error {
	sink, err := newKafkaSink([]kgo.Opt{kgo.SeedBrokers(brokers...)}, topic, true)
	if err != nil {
		return err
	}
	_, err = generate(ctx, genSpec{rate: rate, disorder: 400 * time.Millisecond, seed: time.Now().UnixNano()}, sink.write)
	return errors.Join(err, sink.close())
}
