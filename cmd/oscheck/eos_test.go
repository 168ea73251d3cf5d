package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/proc"
	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/processor/output"
)

// TestStopLeavesNothingOpen stops a service (SIGTERM, as the context's end)
// with records processed but not committed yet, and checks what
// exactly_once_v2 promises of a graceful stop: it commits what is done, and
// leaves no transaction open on any topic it writes; a new service on the
// same group writes nothing again. The commit interval is longer than the
// test, so that only closing windows (which ask for a commit) and the stop
// commit; the last records, malformed, close none.
func TestStopLeavesNothingOpen(t *testing.T) {
	const partitions = 4
	window, grace := 2*time.Second, time.Second
	brokers := startBroker(t, partitions, "access_log")
	s := makeStream(20_000, partitions, time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC), 30*time.Second, window, grace, 17)
	produce(t, brokers, s.records)
	addr := freeAddr(t)
	args := []string{"run", "--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
		"--idle-timeout", "1s", "--commit-interval", "1h", "--http-addr", addr}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, io.Discard, secrettest.LogFile(t)) }()
	awaitFinals(t, brokers, output.KStreams, window, s.want(), time.Minute)
	var tail []*kgo.Record
	for p := range int32(partitions) {
		tail = append(tail, &kgo.Record{Topic: "access_log", Partition: p, Value: []byte("not an access log line")})
	}
	produce(t, brokers, tail)
	// Processed (their dead letters written, in the open transaction) once
	// the parse stage's lag is gone.
	err := proc.WaitFor(context.Background(), time.Minute, "the parse stage to process the last records", func() bool {
		lag := scrape(t, addr, "oscheck_consumer_lag_offsets")
		for p := range partitions {
			if lag[fmt.Sprintf(`partition="%d",stage="parse",topic="access_log"`, p)] != 0 {
				return false
			}
		}
		return len(lag) > 0
	})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("oscheck run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("oscheck run did not stop within 30s")
	}
	if n := len(readAll(t, brokers, parseGroup+"-dlq")); n != len(s.malformed)+partitions {
		t.Errorf("the dead-letter topic holds %d records, want %d", n, len(s.malformed)+partitions)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, topic := range []string{"os-check", repartition, windowGroup + "-table", parseGroup + "-partials-changelog", parseGroup + "-dlq"} {
		stable, err := adm.ListCommittedOffsets(context.Background(), topic)
		if err == nil {
			err = stable.Error()
		}
		if err != nil {
			t.Fatalf("last stable offsets of %s: %v", topic, err)
		}
		ends, err := adm.ListEndOffsets(context.Background(), topic)
		if err == nil {
			err = ends.Error()
		}
		if err != nil {
			t.Fatalf("end offsets of %s: %v", topic, err)
		}
		ends.Each(func(e kadm.ListedOffset) {
			if lso, _ := stable.Lookup(topic, e.Partition); lso.Offset != e.Offset {
				t.Errorf("%s/%d: a transaction is open from offset %d (end %d) after the service stopped", topic, e.Partition, lso.Offset, e.Offset)
			}
		})
	}
	committed, err := committedOffsets(context.Background(), adm, parseGroup, "access_log")
	if err != nil {
		t.Fatal(err)
	}
	records := make(map[int32]int64)
	for _, r := range append(s.records, tail...) {
		records[r.Partition]++
	}
	for p, n := range records {
		if committed[p] != n {
			t.Errorf("the parse group committed access_log/%d to %d, want its end, %d", p, committed[p], n)
		}
	}

	before := readAll(t, brokers, "os-check")
	service(t, slices.Concat(args[1:len(args)-1], []string{freeAddr(t)})...)
	settle(t, brokers, 0, time.Minute)
	after := readAll(t, brokers, "os-check")
	if len(after) != len(before) {
		t.Errorf("a new service on the same group wrote %d more records", len(after)-len(before))
	}
	checkFinals(t, after, window, s.want())
}

// TestStalledInstanceRecovers freezes an instance (SIGSTOP) for longer than
// its consumer-group session and its transaction timeout, while records
// flow: the brokers abort its open transaction and give its partitions to
// no one. Let go, it must find out by itself and carry on from what was
// committed, so that os-check ends with exactly one right record per window.
func TestStalledInstanceRecovers(t *testing.T) {
	const partitions = 4
	window, grace := 2*time.Second, time.Second
	brokers := startBroker(t, partitions, "access_log")
	start, span := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC), 60*time.Second
	s := makeStream(60_000, partitions, start, span, window, grace, 23)
	chunks := chunked(s.records, partitions, 20)
	// Records past the stream close its last windows (the idle timeout is
	// longer than the test).
	chunks = append(chunks, sentinels(partitions, start.Add(span+window+grace+time.Minute)))
	want := s.want()
	out, err := truth.Collect(brokers[0], "os-check", window)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(out.Close)
	addr := freeAddr(t)
	p, _ := serviceProcess(t, "oscheck", "--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
		"--idle-timeout", "10m", "--http-addr", addr)
	produce(t, brokers, slices.Concat(chunks[:5]...))
	awaitWindows(t, out, want, 1, addr, 2*time.Minute)

	frozen := make(chan error, 1)
	go func() { frozen <- p.Pause(15 * time.Second) }()
	for _, c := range chunks[5:] {
		produce(t, brokers, c)
		time.Sleep(500 * time.Millisecond)
	}
	if err := <-frozen; err != nil {
		t.Fatal(err)
	}
	awaitWindows(t, out, want, len(want), addr, 3*time.Minute)
	settle(t, brokers, 1, 3*time.Minute)
	checkFinals(t, readAll(t, brokers, "os-check"), window, want)
	var aborted float64
	for labels, n := range scrape(t, addr, "oscheck_transactions_total") {
		if strings.Contains(labels, `result="aborted"`) {
			aborted += n
		}
	}
	restarts := sum(scrape(t, addr, "oscheck_restarts_total"))
	t.Logf("after the stall: %v transactions aborted, %v restarts", aborted, restarts)
	if aborted+restarts == 0 {
		t.Error("the stall cost no transaction and no restart: it did not outlast the session and transaction timeouts")
	}
}
