package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/secrettest"
)

// startBroker starts an in-process Kafka-protocol broker with the given
// topic and options, closed when the test ends.
func startBroker(t *testing.T, partitions int32, topic string, extra ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic)}, extra...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// produce writes records to their partitions and waits for all acks; extra
// options are for a secured broker.
func produce(t *testing.T, brokers []string, recs []*kgo.Record, extra ...kgo.Opt) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(1 << 20)}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// consumer reads a topic from the start in the background.
type consumer struct {
	mu      sync.Mutex
	records []*kgo.Record
	arrived []time.Time
	cancel  context.CancelFunc
	done    chan struct{}
}

func consume(t *testing.T, brokers []string, topic string, extra ...kgo.Opt) *consumer {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50 * time.Millisecond)}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer cl.Close()
		for ctx.Err() == nil {
			f := cl.PollFetches(ctx)
			now := time.Now()
			c.mu.Lock()
			f.EachRecord(func(r *kgo.Record) {
				c.records = append(c.records, r)
				c.arrived = append(c.arrived, now)
			})
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

// waitFor polls until n records arrived or the deadline passes, and returns
// what arrived.
func (c *consumer) waitFor(n int, timeout time.Duration) []*kgo.Record {
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		got := len(c.records)
		c.mu.Unlock()
		if got >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c.snapshot()
}

func (c *consumer) snapshot() []*kgo.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*kgo.Record(nil), c.records...)
}

// service runs `oscheck run` with args until the test ends, and returns its
// log; it fails the test if the command returns an error before then.
func service(t *testing.T, args ...string) *syncBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := new(syncBuffer)
	// The log goes to the suite's log directory too, for cmd/testsuite's
	// scan for secrets.
	w := io.MultiWriter(logs, secrettest.LogFile(t))
	go func() { done <- run(ctx, append([]string{"run"}, args...), io.Discard, w) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("oscheck run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("oscheck run did not stop within 30s of cancel")
		}
		if t.Failed() {
			t.Logf("service log:\n%s", logs.String())
		}
	})
	return logs
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrape returns the value of every sample of a metric family on /metrics,
// keyed by its label string ("" without labels).
func scrape(t *testing.T, addr, name string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	out := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		labels := ""
		if strings.HasPrefix(rest, "{") {
			i := strings.Index(rest, "}")
			labels, rest = rest[1:i], rest[i+1:]
		} else if !strings.HasPrefix(rest, " ") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[labels] = v
	}
	return out
}

func sum(m map[string]float64) float64 {
	var s float64
	for _, v := range m {
		s += v
	}
	return s
}

// windowKey names one (os, window) result.
type windowKey struct {
	os    string
	start int64
}

func (k windowKey) String() string { return fmt.Sprintf("%s@%d", k.os, k.start) }

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// testWriter sends a command's stderr to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
