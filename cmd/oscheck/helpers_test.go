package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/proc"
	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/processor/output"
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
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50 * time.Millisecond),
		kgo.FetchIsolationLevel(kgo.ReadCommitted())}, extra...)...)
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

// The groups and topic of a service run with the default group, as every
// test that settles runs it.
const (
	parseGroup  = "os-check-streams"
	windowGroup = parseGroup + "-window"
	repartition = parseGroup + "-partials-repartition"
)

// settle waits until the service has done all it will with the records
// that made the windows the test has seen: the parse group has committed
// every input partition to its end (but for the last open records of each,
// whose windows the test keeps open), and then the window group the
// repartition topic to the end it had once the parse group was done. By then
// every report of that input is in the repartition topic and every final of
// those reports in os-check: a duplicate that has not come by then never
// will. It does not wait for windows still open: under exactly_once_v2 the
// parse stage commits its input with its open windows, which close later (by
// watermark or idle timeout); await them first (awaitFinals). Instances of
// the service may come and go meanwhile. extra is for a secured broker.
func settle(t *testing.T, brokers []string, open int64, timeout time.Duration, extra ...kgo.Opt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, stage := range []struct {
		group, topic string
		open         int64
	}{{parseGroup, "access_log", open}, {windowGroup, repartition, 0}} {
		var (
			ends, committed map[int32]int64
			last            error
		)
		err := proc.WaitFor(ctx, timeout, "group "+stage.group+" to commit "+stage.topic+" to its end", func() bool {
			if len(ends) == 0 {
				// No partitions would settle at once.
				if ends, last = listEnds(ctx, adm, stage.topic); last == nil && len(ends) == 0 {
					last = fmt.Errorf("%s has no partitions", stage.topic)
				}
				if last != nil {
					return false
				}
			}
			if committed, last = committedOffsets(ctx, adm, stage.group, stage.topic); last != nil {
				return false
			}
			from := make(map[int32]int64, len(committed))
			for p, c := range committed {
				from[p] = c + stage.open
			}
			unread := false
			last = readTo(ctx, brokers, stage.topic, from, ends, func(*kgo.Record) bool {
				unread = true
				return false
			}, extra...)
			return last == nil && !unread
		})
		if err != nil {
			t.Fatalf("%v: ends %v, committed %v, last error: %v; the group: %s", err, ends, committed, last,
				describeGroup(adm, stage.group))
		}
	}
}

// awaitFinals waits until os-check, read in format f, holds a record of
// every window of want.
func awaitFinals(t *testing.T, brokers []string, f output.Format, window time.Duration, want map[truth.Key]int64,
	timeout time.Duration, extra ...kgo.Opt) {
	t.Helper()
	out := consume(t, brokers, "os-check", extra...)
	have := make(map[truth.Key]bool)
	for deadline := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		clear(have)
		for _, r := range out.snapshot() {
			w, err := f.Decode(r.Key, r.Value, window)
			if err != nil {
				t.Fatalf("os-check record at %d@%d: %v", r.Partition, r.Offset, err)
			}
			if k := (truth.Key{OS: w.OSType, Start: w.Start}); want[k] != 0 {
				have[k] = true
			}
		}
		if len(have) == len(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("os-check holds %d of the %d windows after %v", len(have), len(want), timeout)
		}
	}
}

// describeGroup says what state group is in and which partitions each
// member, named by its client id, has, for a failure message.
func describeGroup(adm *kadm.Client, group string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return err.Error()
	}
	g := described[group]
	if g.Err != nil {
		return g.Err.Error()
	}
	out := g.State
	for _, m := range g.Members {
		var parts []int32
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, topic := range a.Topics {
				parts = append(parts, topic.Partitions...)
			}
		}
		out += fmt.Sprintf("; %s has %v", m.ClientID, parts)
	}
	return out
}

// readAll reads topic from its start to its end now, read_committed, and
// returns its records.
func readAll(t *testing.T, brokers []string, topic string, extra ...kgo.Opt) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := listEnds(ctx, kadm.NewClient(cl), topic)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	var recs []*kgo.Record
	if err := readTo(ctx, brokers, topic, nil, ends, func(r *kgo.Record) bool {
		recs = append(recs, r)
		return true
	}, extra...); err != nil {
		t.Fatalf("reading %s: %v", topic, err)
	}
	return recs
}

// listEnds returns the end of every partition of topic as a read_committed
// consumer sees it: the last stable offset.
func listEnds(ctx context.Context, adm *kadm.Client, topic string) (map[int32]int64, error) {
	listed, err := adm.ListCommittedOffsets(ctx, topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return nil, err
	}
	ends := make(map[int32]int64)
	listed.Each(func(o kadm.ListedOffset) { ends[o.Partition] = o.Offset })
	return ends, nil
}

// committedOffsets returns the offsets group has committed on topic, by
// partition; a partition without a commit is missing.
func committedOffsets(ctx context.Context, adm *kadm.Client, group, topic string) (map[int32]int64, error) {
	resps, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		return nil, err
	}
	committed := make(map[int32]int64)
	for p, o := range resps[topic] {
		committed[p] = o.At
	}
	return committed, nil
}

// readTo reads topic read_committed, each partition from its offset in from
// (0 if missing) until it has passed its offset in ends, and calls
// each with every data record below the end, until each returns false.
// Transaction markers are read too, though not passed to each: a
// transactional producer's partition ends in one, and only the marker shows
// that the read has reached the end.
func readTo(ctx context.Context, brokers []string, topic string, from, ends map[int32]int64, each func(*kgo.Record) bool,
	extra ...kgo.Opt) error {
	left := make(map[int32]int64) // partitions not read to their end yet
	offsets := make(map[int32]kgo.Offset)
	for p, end := range ends {
		if from[p] < end {
			left[p] = end
			offsets[p] = kgo.NewOffset().At(from[p])
		}
	}
	if len(left) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(), kgo.FetchMaxWait(50 * time.Millisecond)},
		extra...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for done := false; !done && len(left) > 0; {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fetches.Err0(); err != nil {
			return err
		}
		fetches.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Partition]
			if done || !ok {
				return
			}
			if r.Offset+1 >= end {
				delete(left, r.Partition)
			}
			if r.Offset < end && !r.Attrs.IsControl() {
				done = !each(r)
			}
		})
	}
	return nil
}

// service runs `oscheck run` with args until the test ends, and returns its
// log; it fails the test if the command returns an error before then.
func service(t *testing.T, args ...string) *syncBuffer {
	t.Helper()
	logs, _ := stoppableService(t, args...)
	return logs
}

// stoppableService is service, with stop to end the command before the test
// does (stop waits for it; calling it again does nothing).
func stoppableService(t *testing.T, args ...string) (logs *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs = new(syncBuffer)
	// The log goes to the suite's log directory too, for cmd/secretscan's
	// scan for secrets.
	w := io.MultiWriter(logs, secrettest.LogFile(t))
	go func() { done <- run(ctx, append([]string{"run"}, args...), io.Discard, w) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
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
	}
	t.Cleanup(stop)
	return logs, stop
}

// built is the oscheck binary the tests that run it as a process of its own
// share, built on first use and removed by TestMain.
var built struct {
	once      sync.Once
	dir, path string
	err       error
}

// oscheckBinary returns the path of the oscheck binary, built as the Dockerfile
// builds it (without the race detector).
func oscheckBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "oscheck-test-bin"); built.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var bins []string
		if bins, built.err = proc.Build(ctx, built.dir, "oscheck"); built.err == nil {
			built.path = bins[0]
		}
	})
	if built.err != nil {
		t.Fatalf("building oscheck: %v", built.err)
	}
	return built.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// serviceProcess runs `oscheck run` with args as a process of its own until
// the test ends, and fails the test unless it then stops with SIGTERM and
// exit status 0 (or has already exited). Its log goes to the suite's log
// directory (cmd/secretscan scans it), and into the test's output if the
// test fails.
//
// The tests in which the service's transactional producers meet produce
// errors (network faults, ACLs revoked) run it so: sarama 1.61.1's
// transactional producer races with itself then
// (transactionManager.transitionTo writes lastError under its status lock,
// publishTxnPartitions reads it without), which the race detector would
// report against the test.
func serviceProcess(t *testing.T, name string, args ...string) (*proc.Proc, processLog) {
	t.Helper()
	dir := secrettest.LogDir(t)
	p, err := proc.New(dir, name, append([]string{oscheckBinary(t), "run"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	log := processLog(filepath.Join(dir, name+".log"))
	t.Cleanup(func() {
		if running, _ := p.Running(); running {
			if err := p.Signal(syscall.SIGTERM, 30*time.Second); err != nil {
				t.Errorf("stopping %s: %v", name, err)
			}
			if err := p.ExitErr(); err != nil {
				t.Errorf("%s exited with %v", name, err)
			}
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, log)
		}
	})
	return p, log
}

// processLog is the log file of a process serviceProcess runs.
type processLog string

// String returns the log so far.
func (l processLog) String() string {
	b, _ := os.ReadFile(string(l))
	return string(b)
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
