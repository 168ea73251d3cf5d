package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/proc"
	"github.com/oscheck/oscheck/cmd/internal/traffic"
	"github.com/oscheck/oscheck/cmd/internal/truth"
)

// Options shape one chaos run.
type Options struct {
	Lines          int           // input lines to produce
	Partitions     int32         // partitions of access_log
	Instances      int           // oscheck processes in the group
	Kills          int           // kill -9s, spread over the production
	BrokerRestarts int           // stops and restarts of the broker (same data dir)
	ScaleOut       bool          // add a further instance a third of the way in, remove it (SIGTERM) at two thirds
	Rolling        bool          // instead of kills: SIGTERM each instance in turn and wait for it to come back
	Windows        int           // event time spans this many windows
	Window, Grace  time.Duration // the service's window and grace
	Idle           time.Duration // the service's idle timeout
	Produce        time.Duration // how long producing takes
	Settle         time.Duration // how long to keep reading after every window arrived, to catch duplicates
	Timeout        time.Duration // give up waiting for windows this long after producing ended
	Seed           uint64
	Dir            string // work directory (logs, broker data); a temporary one if empty
	HotStandby     bool
	// Dynamic runs the instances without --instance-id (dynamic group
	// membership): a restarted instance is then a new member, and the old
	// one lingers until its session times out.
	Dynamic bool
	Log     io.Writer
}

// Summary is what a run found.
type Summary struct {
	InputRecords int
	truth.Verdict
	Late               int
	UnknownInput       int // input records the harness did not produce
	Kills              int
	KillsBeforeReady   int // kills of an instance that had not become ready (joining, restoring)
	KillsDuringRestore int // kills while the instance said it was restoring its window table
	BrokerRestarts     int
	RollingRestarts    int
	Crashes            int // instance exits the harness did not cause (restarted, as an orchestrator would)
	PeakRSS            map[string]int64
	Wall               time.Duration
	Dir                string
}

// Exact reports whether os-check equals the ground truth: no window missing,
// none with a wrong count, nothing unexpected; duplicates only identical.
func (s Summary) Exact() bool {
	return s.Verdict.Exact() && s.UnknownInput == 0
}

func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "input records:          %d\n", s.InputRecords)
	fmt.Fprintf(&b, "windows expected:       %d\n", s.Expected)
	fmt.Fprintf(&b, "windows missing:        %d\n", s.Missing)
	fmt.Fprintf(&b, "windows wrong count:    %d\n", s.WrongCount)
	fmt.Fprintf(&b, "windows unexpected:     %d\n", s.Unexpected)
	fmt.Fprintf(&b, "duplicates (identical): %d\n", s.DuplicatesIdentical)
	fmt.Fprintf(&b, "duplicates (differing): %d\n", s.DuplicatesConflicted)
	fmt.Fprintf(&b, "late records:           %d\n", s.Late)
	fmt.Fprintf(&b, "kills (-9):             %d (%d before the instance was ready, %d of those while restoring its window table)\n",
		s.Kills, s.KillsBeforeReady, s.KillsDuringRestore)
	fmt.Fprintf(&b, "rolling restarts:       %d\n", s.RollingRestarts)
	fmt.Fprintf(&b, "broker restarts:        %d\n", s.BrokerRestarts)
	fmt.Fprintf(&b, "unplanned exits:        %d\n", s.Crashes)
	names := make([]string, 0, len(s.PeakRSS))
	for n := range s.PeakRSS {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "peak RSS %-13s %.1f MB\n", n+":", float64(s.PeakRSS[n])/(1<<20))
	}
	fmt.Fprintf(&b, "wall time:              %v\n", s.Wall.Round(time.Second))
	verdict := "EXACT"
	if !s.Exact() {
		verdict = "NOT EXACT"
	}
	fmt.Fprintf(&b, "result:                 %s (work dir %s)\n", verdict, s.Dir)
	return b.String()
}

type harness struct {
	opt       Options
	rng       *rand.Rand
	broker    *proc.Proc
	brokerAt  string
	instances []*proc.Proc
	http      []string
	sum       Summary
	mu        sync.Mutex // guards sum's counters and instance restarts
	stopping  chan struct{}
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.opt.Log, "%s chaos: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// Run does one chaos run and reports what it found. An error means the
// harness itself could not do its work; a wrong result is in the Summary.
func Run(ctx context.Context, opt Options) (sum Summary, err error) {
	began := time.Now()
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if opt.Dir == "" {
		dir, err := os.MkdirTemp("", "oscheck-chaos-")
		if err != nil {
			return Summary{}, err
		}
		opt.Dir = dir
	}
	h := &harness{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, 9)), stopping: make(chan struct{})}
	h.sum.Dir = opt.Dir
	defer func() {
		// Stopping the processes completes the summary (peak memory,
		// unplanned exits).
		h.shutdown()
		sum = h.sum
	}()
	if err := h.start(ctx); err != nil {
		return h.sum, err
	}
	stop := h.supervise()
	defer stop()

	start := time.Date(2019, 8, 14, 0, 0, 0, 0, time.FixedZone("+0800", 8*3600))
	span := time.Duration(opt.Windows) * opt.Window
	input := newStream(traffic.Backlog{Lines: opt.Lines, Partitions: opt.Partitions, Start: start, Span: span, Grace: opt.Grace, Seed: opt.Seed})
	out, err := truth.Collect(h.brokerAt, "os-check", opt.Window)
	if err != nil {
		return h.sum, err
	}
	defer out.Close()

	var wg sync.WaitGroup
	var produceErr, chaosErr error
	wg.Add(2)
	go func() { defer wg.Done(); produceErr = h.produce(ctx, input) }()
	go func() { defer wg.Done(); chaosErr = h.chaos(ctx) }()
	wg.Wait()
	if err := errors.Join(produceErr, chaosErr); err != nil {
		return h.sum, err
	}
	h.logf("producing and chaos done; reading the input back for the ground truth")

	got, err := readAll(ctx, h.brokerAt, "access_log", opt.Partitions, opt.Lines)
	if err != nil {
		return h.sum, err
	}
	want, late, unknown := input.truth(got, opt.Window, opt.Grace)
	for _, p := range got {
		h.sum.InputRecords += len(p)
	}
	h.sum.Late, h.sum.UnknownInput = late, unknown
	if h.sum.InputRecords != opt.Lines {
		h.logf("input has %d records, %d produced", h.sum.InputRecords, opt.Lines)
	}

	h.logf("waiting for %d windows", len(want))
	deadline := time.Now().Add(opt.Timeout)
	for out.Have(want) < len(want) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(opt.Settle)
	records, _ := out.Records()
	h.sum.Verdict = truth.Compare(records, want)
	for _, p := range h.sum.Problems {
		h.logf("%s", p)
	}
	h.sum.Wall = time.Since(began)
	return h.sum, nil
}

func (h *harness) start(ctx context.Context) error {
	bin := filepath.Join(h.opt.Dir, "bin")
	bins, err := proc.Build(ctx, bin, "oscheck", "devbroker")
	if err != nil {
		return err
	}
	oscheck, devbroker := bins[0], bins[1]
	port, err := proc.FreePort()
	if err != nil {
		return err
	}
	h.brokerAt = "127.0.0.1:" + strconv.Itoa(port)
	h.broker, err = proc.New(h.opt.Dir, "broker", devbroker, "--port", strconv.Itoa(port),
		"--data-dir", filepath.Join(h.opt.Dir, "kafka"), "--topics", fmt.Sprintf("access_log:%d", h.opt.Partitions))
	if err != nil {
		return err
	}
	if err := h.startBroker(ctx); err != nil {
		return err
	}
	n := h.opt.Instances
	if h.opt.ScaleOut {
		n++
	}
	for i := range n {
		hp, err := proc.FreePort()
		if err != nil {
			return err
		}
		h.http = append(h.http, "127.0.0.1:"+strconv.Itoa(hp))
		args := []string{oscheck, "run", "--brokers", h.brokerAt, "--http-addr", h.http[i],
			"--client-id", fmt.Sprintf("chaos-%d", i), "--window", h.opt.Window.String(), "--grace", h.opt.Grace.String(),
			"--idle-timeout", h.opt.Idle.String(), "--log-level", "info"}
		if !h.opt.Dynamic {
			// One id per instance slot, as a StatefulSet's pod name would be.
			args = append(args, "--instance-id", fmt.Sprintf("chaos-%d", i))
		}
		if h.opt.HotStandby {
			args = append(args, "--hot-standby")
		}
		p, err := proc.New(h.opt.Dir, fmt.Sprintf("instance-%d", i), args...)
		if err != nil {
			return err
		}
		h.instances = append(h.instances, p)
	}
	for i := range h.opt.Instances {
		if err := h.instances[i].Start(); err != nil {
			return err
		}
	}
	for i := range h.opt.Instances {
		if err := proc.WaitFor(ctx, 60*time.Second, h.instances[i].Name+" ready", func() bool { return proc.Ready(h.http[i]) }); err != nil {
			return err
		}
	}
	h.logf("broker at %s, %d instances ready", h.brokerAt, h.opt.Instances)
	return nil
}

func (h *harness) startBroker(ctx context.Context) error {
	if err := h.broker.Start(); err != nil {
		return err
	}
	return proc.WaitFor(ctx, 30*time.Second, "broker", func() bool { return proc.Listening(h.brokerAt) })
}

// supervise samples memory and restarts instances that exited by themselves,
// as an orchestrator would.
func (h *harness) supervise() (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			h.broker.SampleRSS()
			for _, p := range h.instances {
				p.SampleRSS()
			}
			h.mu.Lock()
			for _, p := range h.instances {
				if p.CrashedOut() {
					h.logf("%s exited by itself (%v); restarting", p.Name, p.ExitErr())
					_ = p.Start()
				}
			}
			h.mu.Unlock()
		}
	}()
	return func() { close(done) }
}

// produce writes the stream evenly over opt.Produce, partition-interleaved.
func (h *harness) produce(ctx context.Context, s *stream) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.brokerAt), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	defer cl.Close()
	const batch = 2000
	total := h.opt.Lines
	began := time.Now()
	var recs []*kgo.Record
	next := make([]int, s.partitions)
	for sent := 0; sent < total; {
		recs = recs[:0]
		for len(recs) < batch && sent+len(recs) < total {
			p := int32(sent+len(recs)) % s.partitions
			recs = append(recs, &kgo.Record{Topic: "access_log", Partition: p, Value: s.values[p][next[p]]})
			next[p]++
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return fmt.Errorf("producing: %w", err)
		}
		sent += len(recs)
		due := began.Add(time.Duration(int64(h.opt.Produce) * int64(sent) / int64(total)))
		time.Sleep(time.Until(due))
	}
	h.logf("produced %d lines in %v", total, time.Since(began).Round(time.Millisecond))
	return nil
}

// chaos runs the fault schedule over the production time.
func (h *harness) chaos(ctx context.Context) error {
	type event struct {
		at   time.Duration
		what string
	}
	var events []event
	d := h.opt.Produce
	for i := range h.opt.Kills {
		events = append(events, event{d * time.Duration(2*i+1) / time.Duration(2*h.opt.Kills+1), "kill"})
	}
	for i := range h.opt.BrokerRestarts {
		events = append(events, event{d * time.Duration(2*i+1) / time.Duration(2*h.opt.BrokerRestarts) * 9 / 10, "broker"})
	}
	if h.opt.ScaleOut {
		events = append(events, event{d / 3, "scale-out"}, event{2 * d / 3, "scale-in"})
	}
	if h.opt.Rolling {
		events = append(events, event{d / 4, "rolling"})
	}
	sort.Slice(events, func(i, j int) bool { return events[i].at < events[j].at })
	began := time.Now()
	for _, e := range events {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(began.Add(e.at))):
		}
		var err error
		switch e.what {
		case "kill":
			err = h.kill(ctx)
		case "broker":
			err = h.restartBroker(ctx)
		case "scale-out":
			h.logf("scale out: starting %s", h.instances[h.opt.Instances].Name)
			err = h.instances[h.opt.Instances].Start()
		case "scale-in":
			h.logf("scale in: SIGTERM %s", h.instances[h.opt.Instances].Name)
			err = h.terminate(h.opt.Instances)
		case "rolling":
			err = h.rolling(ctx)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// kill -9s a random running instance and starts it again; every other time
// it kills the new process again before it is ready: the moment /readyz says
// it is restoring its window table, or after at most two seconds of joining.
func (h *harness) kill(ctx context.Context) error {
	var up []int
	for i, p := range h.instances {
		if ok, _ := p.Running(); ok {
			up = append(up, i)
		}
	}
	if len(up) == 0 {
		return nil
	}
	i := up[h.rng.IntN(len(up))]
	h.killOnce(i)
	time.Sleep(time.Duration(h.rng.IntN(1500)) * time.Millisecond)
	if err := h.restart(i); err != nil {
		return err
	}
	if h.sum.Kills%2 == 1 {
		_ = proc.WaitFor(ctx, 2*time.Second, "restore", func() bool {
			_, why := proc.Readiness(h.http[i])
			return strings.Contains(why, "recovering")
		})
		h.killOnce(i)
		if err := h.restart(i); err != nil {
			return err
		}
	}
	return nil
}

func (h *harness) killOnce(i int) {
	wasReady, why := proc.Readiness(h.http[i])
	_ = h.instances[i].Signal(syscall.SIGKILL, 10*time.Second)
	h.mu.Lock()
	h.sum.Kills++
	if !wasReady {
		h.sum.KillsBeforeReady++
	}
	restoring := strings.Contains(why, "recovering")
	if restoring {
		h.sum.KillsDuringRestore++
	}
	h.mu.Unlock()
	h.logf("kill -9 %s (ready: %v, restoring: %v)", h.instances[i].Name, wasReady, restoring)
}

func (h *harness) restart(i int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.instances[i].Start()
}

// terminate stops instance i with SIGTERM; it must exit 0 in bounded time.
// It first waits for the instance's HTTP port: a process signalled before its
// runtime installed the handler would just die of the signal, which says
// nothing about oscheck.
func (h *harness) terminate(i int) error {
	p := h.instances[i]
	_ = proc.WaitFor(context.Background(), 10*time.Second, p.Name+" listening", func() bool { return proc.Listening(h.http[i]) })
	if err := p.Signal(syscall.SIGTERM, 60*time.Second); err != nil {
		return err
	}
	if err := p.ExitErr(); err != nil {
		return fmt.Errorf("%s exited with %v after SIGTERM", p.Name, err)
	}
	return nil
}

// rolling restarts every instance in turn, gracefully.
func (h *harness) rolling(ctx context.Context) error {
	for i := range h.opt.Instances {
		began := time.Now()
		if err := h.terminate(i); err != nil {
			return err
		}
		stopped := time.Since(began)
		if err := h.restart(i); err != nil {
			return err
		}
		if err := proc.WaitFor(ctx, 60*time.Second, h.instances[i].Name+" ready", func() bool { return proc.Ready(h.http[i]) }); err != nil {
			return err
		}
		h.sum.RollingRestarts++
		h.logf("rolling restart of %s: stopped in %v, ready again after %v", h.instances[i].Name,
			stopped.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	}
	return nil
}

func (h *harness) restartBroker(ctx context.Context) error {
	h.logf("stopping the broker")
	if err := h.broker.Signal(syscall.SIGTERM, 30*time.Second); err != nil {
		return err
	}
	time.Sleep(time.Second)
	if err := h.startBroker(ctx); err != nil {
		return err
	}
	h.sum.BrokerRestarts++
	h.logf("broker back")
	return nil
}

// shutdown stops every process; instances first, gracefully.
func (h *harness) shutdown() {
	h.sum.PeakRSS = make(map[string]int64)
	for _, p := range h.instances {
		if up, _ := p.Running(); up {
			_ = p.Signal(syscall.SIGTERM, 30*time.Second)
		}
		h.sum.PeakRSS[p.Name] = p.PeakRSS()
		h.sum.Crashes += p.Crashes()
	}
	if h.broker != nil {
		h.sum.PeakRSS["broker"] = h.broker.PeakRSS()
		_ = h.broker.Signal(syscall.SIGTERM, 30*time.Second)
	}
}

// readAll reads every partition of topic: at least atLeast records, and then
// until a second passes without more.
func readAll(ctx context.Context, broker, topic string, partitions int32, atLeast int) ([][][]byte, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	out := make([][][]byte, partitions)
	quiet, total := 0, 0
	for total < atLeast || quiet < 4 {
		fctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		f := cl.PollFetches(fctx)
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		n := 0
		f.EachRecord(func(r *kgo.Record) {
			out[r.Partition] = append(out[r.Partition], r.Value)
			n++
		})
		total += n
		if n == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	return out, nil
}
