package main

import (
	"context"
	"io"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/cmd/internal/traffic"
	"github.com/oscheck/oscheck/processor/output"
)

// TestRepartitionTopicRecreated is an operator deleting and creating again
// the repartition topic (kafka-topics --delete, then --create with the same
// partitions) while oscheck is stopped, with every report in it already
// applied. The window table still holds, per slot, the offset of the last
// report applied from the old topic: the new topic's reports, at offsets from
// 0 again, looked like replays of it and were ignored, so os-check silently
// got nothing more. The windows of the lines produced after the restart must
// all come, each once with its count.
//
// TestRepartitionTopicTruncated is the same with the topic's records deleted
// (DeleteRecords to its end, as Kafka Streams purges its repartition topics)
// instead: offsets go on, so nothing changes.
func TestRepartitionTopicRecreated(t *testing.T) {
	for _, guarantee := range []string{"exactly_once_v2", "at_least_once"} {
		t.Run(guarantee, func(t *testing.T) {
			testRepartitionTopicReplaced(t, guarantee, func(ctx context.Context, adm *kadm.Client, partitions int32) error {
				if _, err := adm.DeleteTopic(ctx, repartition); err != nil {
					return err
				}
				_, err := adm.CreateTopic(ctx, partitions, -1, nil, repartition)
				return err
			})
		})
	}
}

func TestRepartitionTopicTruncated(t *testing.T) {
	for _, guarantee := range []string{"exactly_once_v2", "at_least_once"} {
		t.Run(guarantee, func(t *testing.T) {
			testRepartitionTopicReplaced(t, guarantee, func(ctx context.Context, adm *kadm.Client, _ int32) error {
				ends, err := adm.ListEndOffsets(ctx, repartition)
				if err == nil {
					err = ends.Error()
				}
				if err != nil {
					return err
				}
				to := make(kadm.Offsets)
				ends.Each(func(o kadm.ListedOffset) { to.AddOffset(o.Topic, o.Partition, o.Offset, -1) })
				deleted, err := adm.DeleteRecords(ctx, to)
				if err == nil {
					err = deleted.Error()
				}
				return err
			})
		})
	}
}

// testRepartitionTopicReplaced runs the service on a first stream until all
// its windows are final and every report is applied, stops it, lets replace
// do what an operator did to the repartition topic, starts the service again
// and runs it on a second stream: os-check must then hold every window of
// both, once, with its count.
func testRepartitionTopicReplaced(t *testing.T, guarantee string,
	replace func(ctx context.Context, adm *kadm.Client, partitions int32) error) {
	const partitions = 2
	window, grace := 2*time.Second, time.Second
	brokers := startBroker(t, partitions, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	// The idle timeout is longer than the test: windows close by
	// watermark, and records one minute past each stream close its last
	// windows (and are counted in windows the next stream closes).
	first := makeStream(8_000, partitions, start, 20*time.Second, window, grace, 31)
	firstEnd := start.Add(20*time.Second + time.Minute)
	second := makeStream(2_000, partitions, start.Add(5*time.Minute), 6*time.Second, window, grace, 32)
	secondEnd := start.Add(5*time.Minute + 6*time.Second + time.Minute)
	closers1, closed1 := closers(partitions, firstEnd, window)

	args := []string{"--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
		"--idle-timeout", "10m", "--processing-guarantee", guarantee, "--http-addr", ""}
	runOnce := func() (stop func()) {
		_, stop = stoppableService(t, args...)
		return stop
	}

	produce(t, brokers, append(first.records, closers1...))
	stop := runOnce()
	awaitFinals(t, brokers, output.KStreams, window, first.want(), time.Minute)
	// Every report applied, and the closers' windows open (not yet
	// committed under at_least_once).
	settle(t, brokers, 1, time.Minute)
	stop()

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := replace(ctx, kadm.NewClient(cl), partitions); err != nil {
		t.Fatalf("replacing %s: %v", repartition, err)
	}

	closers2, _ := closers(partitions, secondEnd, window)
	produce(t, brokers, append(second.records, closers2...))
	runOnce()
	want := first.want()
	maps.Copy(want, second.want())
	maps.Copy(want, closed1)
	awaitFinals(t, brokers, output.KStreams, window, want, time.Minute)
	settle(t, brokers, 1, time.Minute)
	checkFinals(t, readAll(t, brokers, "os-check"), window, want)
}

// closers returns one record per partition at time at, which closes every
// window before it, and the windows they count in (final once later
// records close them in turn).
func closers(partitions int32, at time.Time, window time.Duration) ([]*kgo.Record, map[truth.Key]int64) {
	gen := traffic.NewGenerator(1)
	var recs []*kgo.Record
	counts := make(map[truth.Key]int64)
	for p := range partitions {
		line, os := gen.Append(nil, at)
		recs = append(recs, &kgo.Record{Topic: "access_log", Partition: p, Value: traffic.Envelope(nil, line)})
		counts[truth.Key{OS: os, Start: at.Truncate(window).UnixMilli()}]++
	}
	return recs, counts
}

// TestWindowTableRecreated: the window table is deleted and created again
// while oscheck is stopped, with windows open at the window stage (one
// partition lags, so the other's counts wait in the slots). Restarted, the
// window stage read on from its committed offsets with empty slots and would
// have completed those windows without the counts they had, silently. It
// must stop instead, naming the table and the repair.
func TestWindowTableRecreated(t *testing.T) {
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	var recs []*kgo.Record
	for i := range 100 {
		at := start.Add(time.Duration(i) * 100 * time.Millisecond)
		recs = append(recs, &kgo.Record{Topic: "access_log", Partition: 0, Value: lineAt(at, "android")})
		if i < 10 {
			recs = append(recs, &kgo.Record{Topic: "access_log", Partition: 1, Value: lineAt(at, "ios")})
		}
	}
	// Once the window stage has committed reports of both slots.
	stateTopicLost(t, recs, "os-check-streams-window", func(o kadm.OffsetResponse) bool { return o.At > 0 },
		"os-check-streams-window-table")
}

// TestChangelogRecreated: the parse stage's changelog is deleted and created
// again while oscheck is stopped, with windows open at the parse stage
// (their counts are only in its checkpoints under exactly_once_v2: the
// committed offsets are past their records). Restarted, each partition
// started empty at its committed offset and the open windows' counts were
// lost, silently. It must stop instead, naming the changelog and the repair.
func TestChangelogRecreated(t *testing.T) {
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	var recs []*kgo.Record
	for i := range 10 {
		at := start.Add(time.Duration(i) * 100 * time.Millisecond)
		for p := range int32(2) {
			recs = append(recs, &kgo.Record{Topic: "access_log", Partition: p, Value: lineAt(at, "android")})
		}
	}
	// Once the parse stage has committed both partitions past their lines.
	stateTopicLost(t, recs, "os-check-streams", func(o kadm.OffsetResponse) bool { return o.Topic == "access_log" && o.At == 10 },
		"os-check-streams-partials-changelog")
}

// stateTopicLost runs the service (2 input partitions, windows left open:
// no idle close) on recs until group has committed 2 partitions for which
// committed holds, stops it, deletes topic and creates it again as it was
// (compacted, 2 partitions), and checks that the service then refuses to
// run, naming topic and a new group as the repair.
func stateTopicLost(t *testing.T, recs []*kgo.Record, group string, committed func(kadm.OffsetResponse) bool, topic string) {
	t.Helper()
	brokers := startBroker(t, 2, "access_log")
	produce(t, brokers, recs)
	args := []string{"--brokers", brokers[0], "--window", "2s", "--grace", "1s", "--idle-timeout", "10m", "--http-addr", ""}
	_, stop := stoppableService(t, args...)

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		offsets, err := adm.FetchOffsets(ctx, group)
		n := 0
		if err == nil {
			offsets.Each(func(o kadm.OffsetResponse) {
				if committed(o) {
					n++
				}
			})
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s did not commit both partitions in a minute (%v)", group, err)
		}
	}
	stop()

	if _, err := adm.DeleteTopic(ctx, topic); err != nil {
		t.Fatal(err)
	}
	compact := "compact"
	if _, err := adm.CreateTopic(ctx, 2, -1, map[string]*string{"cleanup.policy": &compact}, topic); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = run(runCtx, append([]string{"run"}, args...), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), topic) || !strings.Contains(err.Error(), "--group") {
		t.Fatalf("got %v, want an error naming %s and a new --group as the repair", err, topic)
	}
}
