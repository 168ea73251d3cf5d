package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/proc"
	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
	"github.com/oscheck/oscheck/cmd/internal/traffic"
)

// logWriter appends numbered nginx lines to a log the way nginx does, and
// rotates it the way logrotate and nginx do: rename, keep writing to the
// renamed file for a moment (until nginx would reopen), then create the file
// anew.
type logWriter struct {
	path    string
	mu      sync.Mutex
	f       *os.File
	w       *bufio.Writer
	written int
	gen     *traffic.Generator
}

func newLogWriter(t *testing.T, path string) *logWriter {
	t.Helper()
	l := &logWriter{path: path, gen: traffic.NewGenerator(5)}
	l.reopen(t)
	return l
}

func (l *logWriter) reopen(t *testing.T) {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if l.f != nil {
		l.w.Flush()
		l.f.Close()
	}
	l.f, l.w = f, bufio.NewWriter(f)
}

// write appends n lines, each naming its sequence number in its request.
func (l *logWriter) write(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for range n {
		line, _ := l.gen.Append(nil, time.Now())
		line = []byte(strings.Replace(string(line), " HTTP/", fmt.Sprintf("&seq=%d HTTP/", l.written), 1))
		l.w.Write(line)
		l.w.WriteByte('\n')
		l.written++
	}
	l.w.Flush()
}

func (l *logWriter) rotate(t *testing.T, to string) {
	if err := os.Rename(l.path, to); err != nil {
		t.Fatal(err)
	}
	l.write(20) // still to the renamed file, as nginx does until it reopens
	l.mu.Lock()
	l.reopen(t)
	l.mu.Unlock()
}

// TestShipExactlyOnceAcrossKills follows a log that is written and rotated
// while `oscheck ship` is killed with SIGKILL again and again, and restarted;
// a read-committed consumer must then see every line exactly once, in file
// order within each partition.
func TestShipExactlyOnceAcrossKills(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	dir := t.TempDir()
	brokers := startBroker(t, 3, "access_log")
	path := filepath.Join(dir, "access.log")
	lw := newLogWriter(t, path)
	logs := secrettest.LogDir(t) // scanned by cmd/secretscan
	shipper, err := proc.New(logs, "ship", oscheckBinary(t), "ship", "--file", path, "--brokers", brokers[0], "--id", "test-ship",
		"--batch-lines", "50", "--poll-interval", "20ms", "--log-level", "debug", "--report-every", "0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		shipper.Signal(syscall.SIGKILL, 10*time.Second)
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(logs, "ship.log"))
			t.Logf("ship log:\n%s", b)
		}
	})
	if err := shipper.Start(); err != nil {
		t.Fatal(err)
	}

	// writeFor writes about 1,000 lines a second for d.
	writeFor := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); {
			lw.write(10)
			time.Sleep(10 * time.Millisecond)
		}
	}
	const kills = 6
	for i := range kills {
		writeFor(300*time.Millisecond + 150*time.Millisecond*time.Duration(i%4))
		rotated := i%2 == 1
		if rotated {
			lw.rotate(t, fmt.Sprintf("%s.%d", path, i))
			writeFor(200 * time.Millisecond) // the kill lands while the renamed file drains
		}
		if err := shipper.Signal(syscall.SIGKILL, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		lw.write(30) // written while no shipper runs
		if err := shipper.Start(); err != nil {
			t.Fatal(err)
		}
		if rotated {
			// One rotation at a time: a log rotated twice before the
			// shipper finishes the first renamed file loses the file in
			// between (package tail's documented limit).
			writeFor(2 * time.Second)
		}
	}
	lw.write(100)
	total := lw.written

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics("access_log"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := make(map[int]int)
	last := make(map[int32]int)
	records := 0
	// Read until every line arrived, then a little longer: a duplicate
	// would come after.
	var quietSince time.Time
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); {
		pctx, pcancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fetches := cl.PollFetches(pctx)
		pcancel()
		n := 0
		fetches.EachRecord(func(r *kgo.Record) {
			n++
			records++
			seq := seqOf(t, string(r.Value))
			seen[seq]++
			if prev, ok := last[r.Partition]; ok && seq <= prev {
				t.Errorf("partition %d: line %d after line %d", r.Partition, seq, prev)
			}
			last[r.Partition] = seq
		})
		if len(seen) == total && n == 0 {
			if quietSince.IsZero() {
				quietSince = time.Now()
			} else if time.Since(quietSince) > 2*time.Second {
				break
			}
		}
	}
	for seq := range total {
		if seen[seq] != 1 {
			t.Errorf("line %d shipped %d times", seq, seen[seq])
		}
	}
	if records != total {
		t.Errorf("%d records for %d lines", records, total)
	}
	t.Logf("%d lines, %d kills, %d rotations: %d records read committed, %d written in all (the rest aborted)",
		total, kills, kills/2, records, uncommitted(t, brokers))
}

func seqOf(t *testing.T, line string) int {
	t.Helper()
	i := strings.Index(line, "&seq=")
	if i < 0 {
		t.Fatalf("line without a sequence number: %q", line)
	}
	rest := line[i+len("&seq="):]
	n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ' ')])
	if err != nil {
		t.Fatalf("line %q: %v", line, err)
	}
	return n
}

// TestShipRejectsBadConfig checks that `oscheck ship` stops before touching
// Kafka or the file, naming the key, when a setting is invalid.
func TestShipRejectsBadConfig(t *testing.T) {
	cases := []struct {
		args []string
		key  string
	}{
		{nil, `"file"`},
		{[]string{"--file", "x.log", "--brokers", ""}, `"brokers"`},
		{[]string{"--file", "x.log", "--topic", ""}, `"topic"`},
		{[]string{"--file", "x.log", "--batch-lines", "0"}, `"batch-lines"`},
		{[]string{"--file", "x.log", "--compression", "brotli"}, `"compression"`},
		{[]string{"--file", "x.log", "--poll-interval", "0s"}, `"poll-interval"`},
		{[]string{"--file", "x.log", "--report-every", "soon"}, `"report-every"`},
		{[]string{"--file", "x.log", "--log-level", "loud"}, `"log-level"`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, append([]string{"ship"}, c.args...), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.key) {
				t.Fatalf("got %v, want an error naming %s", err, c.key)
			}
		})
	}
}

// uncommitted counts every record of access_log, aborted ones included.
func uncommitted(t *testing.T, brokers []string) int {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics("access_log"),
		kgo.FetchIsolationLevel(kgo.ReadUncommitted()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	n := 0
	for empty := 0; empty < 3; {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		got := 0
		cl.PollFetches(ctx).EachRecord(func(*kgo.Record) { got++ })
		cancel()
		if n += got; got == 0 {
			empty++
		}
	}
	return n
}
