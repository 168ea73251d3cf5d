package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/processor/output"
)

func runRead(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("oscheck read", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "localhost:9092", "Kafka bootstrap brokers, comma-separated")
	topic := fs.String("topic", "os-check", "topic to read")
	format := fs.String("format", string(output.KStreams), "format the topic is written in: kstreams, json or text")
	window := fs.Duration("window", 2*time.Second, "window size (kstreams keys carry only the start)")
	securityFlags(fs)
	v, err := flagsAndEnv(fs, args)
	if err != nil {
		return err
	}
	f, err := output.ParseFormat(*format)
	if err != nil {
		return fmt.Errorf("config key \"format\": %w", err)
	}
	sec, err := validSecurity(v, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	conn, err := sec.KgoOpts(brokerList(*brokers))
	if err != nil {
		return err
	}
	return readWindows(ctx, conn, *topic, f, *window, func(w output.Window) {
		fmt.Fprintln(stdout, w)
	}, func(err error) {
		fmt.Fprintln(stderr, "oscheck read:", err)
	})
}

// readWindows prints every record of topic from the beginning, following it
// until ctx is done. Records that do not decode in format f are reported to
// bad and skipped. It reads committed records only: under exactly_once_v2,
// what an aborted transaction wrote is not output.
func readWindows(ctx context.Context, conn []kgo.Opt, topic string, f output.Format, window time.Duration,
	each func(output.Window), bad func(error)) error {
	cl, err := kgo.NewClient(append(conn, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))...)
	if err != nil {
		return fmt.Errorf("reader client: %w", err)
	}
	defer cl.Close()
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var errs []error
		fetches.EachError(func(t string, p int32, err error) {
			errs = append(errs, fmt.Errorf("reading %s[%d]: %w", t, p, err))
		})
		if err := errors.Join(errs...); err != nil {
			return err
		}
		fetches.EachRecord(func(r *kgo.Record) {
			w, err := f.Decode(r.Key, r.Value, window)
			if err != nil {
				bad(fmt.Errorf("%s[%d]@%d: %w", r.Topic, r.Partition, r.Offset, err))
				return
			}
			each(w)
		})
	}
}
