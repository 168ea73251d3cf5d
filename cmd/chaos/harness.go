package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/proc"
	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
)

// Options shape one chaos run.
type Options struct {
	Lines          int   // input lines to produce
	Partitions     int32 // partitions of access_log
	GrowTo         int32 // raise access_log to this many partitions 30 to 40% into the main stream, by the seed (0: never)
	Instances      int   // oscheck processes in the group
	Kills          int   // kill -9s, spread over the production
	BrokerRestarts int   // stops and restarts of the broker (same data dir)
	ScaleOut       bool  // add a further instance a third of the way in, remove it (SIGTERM) at two thirds
	Rolling        bool  // instead of kills: SIGTERM each instance in turn and wait for it to come back
	Windows        int   // the main stream's event time spans this many windows
	// TailWindows: after the main stream, one line per window over this many
	// windows more, produced at once.
	TailWindows int
	// HoldBack keeps the last input partition from the service, after the
	// main stream, until every other one has closed every window of the
	// tail: its further records are in one transaction, opened as the main
	// stream ends, whose first record is past the tail. Released, it
	// completes every tail window of a slot in one report.
	HoldBack      bool
	LateEvery     int           // one main-stream line in LateEvery is late (0: none)
	Malformed     int           // records among the main stream that oscheck must send to its dead-letter topic
	TailKills     int           // kill -9s after producing, while windows close by idle timeout
	Window, Grace time.Duration // the service's window and grace
	Idle          time.Duration // the service's idle timeout
	Produce       time.Duration // how long producing takes
	Settle        time.Duration // how long to keep reading after every window arrived, to catch duplicates
	Timeout       time.Duration // give up waiting for windows this long after producing ended
	Seed          uint64
	Dir           string // work directory (logs, broker data); a temporary one if empty
	HotStandby    bool
	// Dynamic runs the instances without --instance-id (dynamic group
	// membership): a restarted instance is then a new member, and the old
	// one lingers until its session times out.
	Dynamic bool
	// Guarantee is passed as --processing-guarantee; empty passes nothing
	// (the binary's default).
	Guarantee string
	Emit      string // final or update, passed as --emit
	// ExpectExactlyOnce judges duplicates too: no final record twice (in
	// final mode), no malformed record twice on the dead-letter topic.
	ExpectExactlyOnce bool
	Log               io.Writer
}

// sources returns the input's partition count at the end of the run.
func (o Options) sources() int32 {
	if o.GrowTo > 0 {
		return o.GrowTo
	}
	return o.Partitions
}

// Summary is what a run found.
type Summary struct {
	Emit              string
	Guarantee         string
	ExpectExactlyOnce bool
	InputRecords      int
	TimeWindows       int // windows with records (each has a record per os_type)
	truth.Verdict
	Late         int
	UnknownInput int // input records the harness did not produce
	DeadLetters  dlq
	Growth       growth
	// Stopped holds what instances said when they stopped themselves on a
	// setting (a config key error, such as an input that grew): restarting
	// cannot cure those, so the harness stops waiting for windows once
	// there is one.
	Stopped []stop
	// Largest is the report that completed the most windows at once;
	// HeldBack the held-back partition, -1 for none; HeldEarly the tail
	// windows it closed before its release, when it was not idle.
	Largest             largest
	HeldBack            int32
	HeldEarly           int
	Kills               int
	KillsAfterProducing int
	KillsBeforeReady    int // kills of an instance that had not become ready (joining, restoring)
	KillsDuringRestore  int // kills while the instance said it was restoring its window table
	BrokerRestarts      int
	RollingRestarts     int
	Crashes             int // instance exits the harness did not cause (restarted, as an orchestrator would)
	PeakRSS             map[string]int64
	Wall                time.Duration
	Dir                 string
	Shortfalls          []string // how the run was tamer than asked
}

// Exact reports whether os-check equals the ground truth: no window missing,
// none with a wrong count, nothing unexpected; duplicates only identical (in
// update mode: the last record of every window has its count). Every
// malformed record is on the dead-letter topic, and nothing else.
func (s Summary) Exact() bool {
	return s.Verdict.Exact() && s.UnknownInput == 0 && s.DeadLetters.Missing == 0 && s.DeadLetters.Unexpected == 0
}

// ExactlyOnce reports whether, on top of Exact, nothing came twice: no final
// record (in final mode) and no dead letter.
func (s Summary) ExactlyOnce() bool {
	return s.Exact() && s.DeadLetters.Duplicates == 0 && (s.Emit == "update" || s.OnePerWindow())
}

// Proven reports whether the run shows what it was asked to: os-check
// exact (and exactly once when expected) under every fault asked for, and
// no instance stopped itself.
func (s Summary) Proven() bool {
	return s.Exact() && (!s.ExpectExactlyOnce || s.ExactlyOnce()) && len(s.Shortfalls) == 0 && len(s.Stopped) == 0
}

// stop is a setting instances stopped themselves on: oscheck's last
// words, and which instances said them.
type stop struct {
	Message   string
	Instances []string
}

func (s stop) String() string { return strings.Join(s.Instances, ", ") + ": " + s.Message }

// growth is what became of Options.GrowTo.
type growth struct {
	From, To    int32 // partitions before and after; To 0: no growth
	Done        bool  // access_log was raised
	Records     int   // main-stream records produced before (of MainRecords)
	MainRecords int
	// Frontier is the growth frontier (Unix ms): the new partitions' records
	// for windows ending at or before it are late.
	Frontier                int64
	KillsBefore, KillsAfter int // kill -9s while producing, before and after the growth
}

func (g growth) String() string {
	if !g.Done {
		return fmt.Sprintf("access_log NOT raised from %d to %d partitions", g.From, g.To)
	}
	return fmt.Sprintf("access_log %d -> %d partitions after %d of %d main-stream records (%.0f%%); windows ending by %s final for the new ones; %d kills before, %d after, while producing",
		g.From, g.To, g.Records, g.MainRecords, 100*float64(g.Records)/float64(g.MainRecords),
		time.UnixMilli(g.Frontier).UTC().Format("15:04:05"), g.KillsBefore, g.KillsAfter)
}

func (s Summary) String() string {
	var b strings.Builder
	guarantee := s.Guarantee
	if guarantee == "" {
		guarantee = "the binary's default"
	}
	fmt.Fprintf(&b, "emit, guarantee:        %s, %s\n", s.Emit, guarantee)
	fmt.Fprintf(&b, "input records:          %d (%d malformed)\n", s.InputRecords, s.DeadLetters.Sent)
	fmt.Fprintf(&b, "windows expected:       %d (os_type and window; %d windows)\n", s.Expected, s.TimeWindows)
	fmt.Fprintf(&b, "windows missing:        %d\n", s.Missing)
	if s.Emit == "update" {
		fmt.Fprintf(&b, "last record wrong:      %d\n", s.WrongCount)
		fmt.Fprintf(&b, "windows unexpected:     %d\n", s.Unexpected)
		fmt.Fprintf(&b, "counts above the truth: %d\n", s.Overcounts)
		fmt.Fprintf(&b, "counts going back:      %d\n", s.Regressions)
		fmt.Fprintf(&b, "repeated records:       %d\n", s.DuplicatesIdentical)
	} else {
		fmt.Fprintf(&b, "windows wrong count:    %d\n", s.WrongCount)
		fmt.Fprintf(&b, "windows unexpected:     %d\n", s.Unexpected)
		fmt.Fprintf(&b, "duplicates (identical): %d\n", s.DuplicatesIdentical)
		fmt.Fprintf(&b, "duplicates (differing): %d\n", s.DuplicatesConflicted)
	}
	fmt.Fprintf(&b, "late records:           %d\n", s.Late)
	if s.Growth.To > 0 {
		fmt.Fprintf(&b, "input growth:           %s\n", s.Growth)
	}
	d := s.DeadLetters
	fmt.Fprintf(&b, "dead letters:           %d (%d missing, %d duplicates, %d unexpected)\n", d.Records, d.Missing, d.Duplicates, d.Unexpected)
	held := ""
	if s.HeldBack >= 0 {
		held = fmt.Sprintf(", the held-back partition is %d", s.HeldBack)
	}
	fmt.Fprintf(&b, "largest report:         %d windows completed at once (from partition %d%s)\n", s.Largest.windows, s.Largest.source, held)
	fmt.Fprintf(&b, "kills (-9):             %d (%d before the instance was ready, %d of those while restoring its window table; %d after producing)\n",
		s.Kills, s.KillsBeforeReady, s.KillsDuringRestore, s.KillsAfterProducing)
	fmt.Fprintf(&b, "rolling restarts:       %d\n", s.RollingRestarts)
	fmt.Fprintf(&b, "broker restarts:        %d\n", s.BrokerRestarts)
	fmt.Fprintf(&b, "unplanned exits:        %d\n", s.Crashes)
	for _, m := range s.Stopped {
		fmt.Fprintf(&b, "stopped itself:         %s\n", m)
	}
	names := make([]string, 0, len(s.PeakRSS))
	for n := range s.PeakRSS {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "peak RSS %-13s %.1f MB\n", n+":", float64(s.PeakRSS[n])/(1<<20))
	}
	fmt.Fprintf(&b, "wall time:              %v\n", s.Wall.Round(time.Second))
	for _, f := range s.Shortfalls {
		fmt.Fprintf(&b, "tamer than asked:       %s\n", f)
	}
	verdict := "NOT EXACT"
	switch {
	case s.ExactlyOnce():
		verdict = "EXACTLY ONCE"
	case s.Exact():
		verdict = "EXACT, NOT EXACTLY ONCE"
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
	held      *kgo.Client // the held-back partition's transactional producer
	sum       Summary
	mu        sync.Mutex     // guards sum's counters, Stopped and instance restarts
	exits     map[string]int // unplanned exits by instance and message, to log each kind once
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.opt.Log, "%s chaos: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// group is the instances' consumer group, which names the topics they own.
const group = "chaos"

// Run does one chaos run and reports what it found. An error means the
// harness itself could not do its work; a wrong result is in the Summary.
func Run(ctx context.Context, opt Options) (sum Summary, err error) {
	began := time.Now()
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	if opt.Emit == "" {
		opt.Emit = "final"
	}
	if opt.GrowTo != 0 && opt.GrowTo <= opt.Partitions {
		return Summary{}, fmt.Errorf("--grow-to %d: want more than --partitions %d", opt.GrowTo, opt.Partitions)
	}
	if opt.Dir == "" {
		dir, err := os.MkdirTemp("", "oscheck-chaos-")
		if err != nil {
			return Summary{}, err
		}
		opt.Dir = dir
	}
	h := &harness{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, 9)), exits: make(map[string]int)}
	h.sum = Summary{Dir: opt.Dir, Emit: opt.Emit, Guarantee: opt.Guarantee, ExpectExactlyOnce: opt.ExpectExactlyOnce, HeldBack: -1}
	if opt.HoldBack {
		h.sum.HeldBack = opt.sources() - 1
	}
	defer func() {
		// Stopping the processes completes the summary (peak memory,
		// unplanned exits).
		h.shutdown()
		sum = h.sum
	}()
	start := time.Date(2019, 8, 14, 0, 0, 0, 0, time.FixedZone("+0800", 8*3600))
	input := newStream(opt, start)
	if err := input.checkGrowth(opt.Window, opt.Grace); err != nil {
		return h.sum, fmt.Errorf("seed %d gives a growth scenario without one right answer: %w", opt.Seed, err)
	}
	if input.grow >= 0 {
		h.sum.Growth = growth{From: opt.Partitions, To: opt.GrowTo, Records: input.grow, MainRecords: input.tail, Frontier: input.frontier}
	}
	if err := h.start(ctx); err != nil {
		return h.sum, err
	}
	stop := h.supervise()
	defer stop()

	out, err := truth.Collect(h.brokerAt, "os-check", opt.Window)
	if err != nil {
		return h.sum, err
	}
	defer out.Close()
	reports, err := truth.Follow(h.brokerAt, group+"-partials-repartition", readReport)
	if err != nil {
		return h.sum, err
	}
	defer reports.Close()
	dead, err := truth.Follow(h.brokerAt, group+"-dlq", func(r *kgo.Record, _ time.Time) ([]byte, bool) { return r.Value, true })
	if err != nil {
		return h.sum, err
	}
	defer dead.Close()

	var wg sync.WaitGroup
	var produceErr, chaosErr error
	wg.Add(2)
	go func() { defer wg.Done(); produceErr = h.produce(ctx, input) }()
	go func() { defer wg.Done(); chaosErr = h.chaos(ctx) }()
	wg.Wait()
	if err := errors.Join(produceErr, chaosErr); err != nil {
		return h.sum, err
	}
	killed := h.sum.Kills
	if h.sum.Growth.Done {
		h.sum.Growth.KillsAfter = killed - h.sum.Growth.KillsBefore
	}
	if err := h.afterProducing(ctx, input, reports); err != nil {
		return h.sum, err
	}
	h.sum.KillsAfterProducing = h.sum.Kills - killed
	h.logf("reading the input back for the ground truth")

	produced := len(input.records) + len(input.held)
	got, err := readAll(ctx, h.brokerAt, "access_log", opt.sources(), produced)
	if err != nil {
		return h.sum, err
	}
	in := input.truth(got, opt.Window, opt.Grace)
	want := in.counts
	for _, p := range got {
		h.sum.InputRecords += len(p)
	}
	h.sum.Late, h.sum.UnknownInput = in.late, in.unknown
	if in.lateJoined > 0 {
		// checkGrowth ruled this out on the stream as produced.
		return h.sum, fmt.Errorf("%d records of the input as read back are late by the growth frontier alone", in.lateJoined)
	}
	if h.sum.InputRecords != produced {
		h.logf("input has %d records, %d produced", h.sum.InputRecords, produced)
	}

	judge := truth.Compare
	if opt.Emit == "update" {
		// Updates come before a window is final: wait for each window's
		// last record to be right, not just for its first.
		judge = truth.CompareLast
	}
	h.logf("waiting for %d windows", len(want))
	deadline := time.Now().Add(opt.Timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil && !h.stopped() {
		records, _ := out.Records()
		if v := judge(records, want); v.Missing == 0 && (opt.Emit != "update" || v.WrongCount == 0) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(opt.Settle)
	records, _ := out.Records()
	h.sum.Verdict = judge(records, want)
	for _, p := range h.sum.Problems {
		h.logf("%s", p)
	}
	h.sum.DeadLetters = input.deadLetters(dead.Items())
	windows := windowsOf(want)
	h.sum.TimeWindows = len(windows)
	if _, h.sum.Largest, err = replay(reports.Items(), windows, opt.Window, opt.Partitions); err != nil {
		return h.sum, err
	}
	h.sum.Shortfalls = h.shortfalls()
	h.sum.Wall = time.Since(began)
	return h.sum, nil
}

// shortfalls names how the growth fell short: not done, or not while
// instances were being killed (before and after it), with kills asked for.
func (g growth) shortfalls(kills int) []string {
	var out []string
	switch {
	case g.To == 0:
	case !g.Done:
		out = append(out, fmt.Sprintf("access_log was not raised to %d partitions", g.To))
	case kills > 0 && g.KillsBefore == 0:
		out = append(out, "no kill before the input grew")
	case kills > 1 && g.KillsAfter == 0:
		out = append(out, "no kill after the input grew, while producing")
	}
	return out
}

// windowsOf returns the start of every window with a count.
func windowsOf(counts map[truth.Key]int64) []int64 {
	seen := make(map[int64]bool)
	for k := range counts {
		seen[k.Start] = true
	}
	return slices.Collect(maps.Keys(seen))
}

// shortfalls names how the run fell short of what it was asked to do.
func (h *harness) shortfalls() []string {
	o, s := h.opt, h.sum
	var out []string
	if asked := o.Kills + o.TailKills; s.Kills < asked {
		out = append(out, fmt.Sprintf("%d kills, %d asked for", s.Kills, asked))
	}
	if asked := (o.Kills + o.TailKills) / 2; s.KillsDuringRestore < asked {
		out = append(out, fmt.Sprintf("%d kills during a table restore, %d aimed at one", s.KillsDuringRestore, asked))
	}
	if s.KillsAfterProducing < o.TailKills {
		out = append(out, fmt.Sprintf("%d kills after producing, %d asked for", s.KillsAfterProducing, o.TailKills))
	}
	if s.BrokerRestarts < o.BrokerRestarts {
		out = append(out, fmt.Sprintf("%d broker restarts, %d asked for", s.BrokerRestarts, o.BrokerRestarts))
	}
	if o.LateEvery > 0 && s.Late == 0 {
		out = append(out, "no late records")
	}
	out = append(out, s.Growth.shortfalls(o.Kills)...)
	// Released after every other partition closed every window, the
	// held-back partition completes each slot's tail windows in one report.
	if s.HeldEarly > 0 {
		out = append(out, fmt.Sprintf("the held-back partition %d closed %d windows of the tail before its release, "+
			"though its transaction was open (not idle): its release completed none of them", s.HeldBack, s.HeldEarly))
	}
	if perSlot := o.TailWindows / int(o.Partitions); o.HoldBack && (s.Largest.source != s.HeldBack || s.Largest.windows < perSlot) {
		out = append(out, fmt.Sprintf("the largest report completed %d windows, from partition %d; want %d or more from the held-back partition %d",
			s.Largest.windows, s.Largest.source, perSlot, s.HeldBack))
	}
	return out
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
		args := []string{oscheck, "run", "--brokers", h.brokerAt, "--group", group, "--http-addr", h.http[i],
			"--client-id", fmt.Sprintf("chaos-%d", i), "--window", h.opt.Window.String(), "--grace", h.opt.Grace.String(),
			"--idle-timeout", h.opt.Idle.String(), "--emit", h.opt.Emit, "--log-level", "info"}
		if h.opt.Guarantee != "" {
			args = append(args, "--processing-guarantee", h.opt.Guarantee)
		}
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
					h.noteExit(p)
					_ = p.Start()
				}
			}
			h.mu.Unlock()
		}
	}()
	return func() { close(done) }
}

// noteExit logs an exit the harness did not cause with what the instance
// said last, once per instance and message (an instance that stops itself
// on a setting exits again at every restart), and keeps a stop on a
// setting in the summary. The caller holds h.mu.
func (h *harness) noteExit(p *proc.Proc) {
	msg := exitMessage(filepath.Join(h.opt.Dir, p.Name+".log"))
	kind := p.Name + ": " + msg
	if h.exits[kind]++; h.exits[kind] > 1 {
		return
	}
	h.logf("%s exited by itself (%v: %s); restarting", p.Name, p.ExitErr(), cmp.Or(msg, "no message"))
	if !settingStop(msg) {
		return
	}
	h.logf("%s stopped itself on a setting, which no restart cures: the run cannot be exact; waiting no longer for windows", p.Name)
	i := slices.IndexFunc(h.sum.Stopped, func(s stop) bool { return s.Message == msg })
	if i < 0 {
		i = len(h.sum.Stopped)
		h.sum.Stopped = append(h.sum.Stopped, stop{Message: msg})
	}
	h.sum.Stopped[i].Instances = append(h.sum.Stopped[i].Instances, p.Name)
}

// settingStop reports whether oscheck's last words name a setting it
// cannot run with: a config key error, but for "brokers" (a broker that
// does not answer at start, as while the harness restarts it: a restart
// cures that).
func settingStop(msg string) bool {
	return strings.HasPrefix(msg, "oscheck: config key ") && !strings.HasPrefix(msg, `oscheck: config key "brokers"`)
}

// stopped reports whether an instance stopped itself on a setting.
func (h *harness) stopped() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sum.Stopped) > 0
}

// exitMessage returns the last line that oscheck's last run in log (the
// lines since its last start marker) wrote as it failed: its error
// ("oscheck: ...") or a panic; "" if there is none.
func exitMessage(log string) string {
	f, err := os.Open(log)
	if err != nil {
		return ""
	}
	defer f.Close()
	const tail = 64 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > tail {
		_, _ = f.Seek(fi.Size()-tail, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0 && !strings.HasPrefix(lines[i], "=== "); i-- {
		if l := lines[i]; strings.HasPrefix(l, "oscheck: ") || strings.HasPrefix(l, "panic: ") {
			return l
		}
	}
	return ""
}

// heldFor is the held-back transaction's timeout: Kafka's (and kfake's)
// default transaction.max.timeout.ms, the longest a broker allows. The
// release must come sooner, or the broker aborts the transaction.
const heldFor = 15 * time.Minute

// holdBack opens the held-back partition's transaction with its records and
// leaves it open: a read_committed consumer sees nothing of the partition
// past the transaction's start meanwhile, and oscheck must not count the
// partition as idle (its last stable offset is below its high-water mark).
func (h *harness) holdBack(ctx context.Context, s *stream) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.brokerAt), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.TransactionalID("chaos-held-back"), kgo.TransactionTimeout(heldFor))
	if err != nil {
		return fmt.Errorf("held-back producer: %w", err)
	}
	h.held = cl
	if err := cl.BeginTransaction(); err != nil {
		return fmt.Errorf("held-back transaction: %w", err)
	}
	if err := cl.ProduceSync(ctx, kafkaRecords(s.held)...).FirstErr(); err != nil {
		return fmt.Errorf("producing the held-back partition: %w", err)
	}
	h.logf("partition %d held back: %d records in a transaction left open", h.sum.HeldBack, len(s.held))
	return nil
}

func kafkaRecords(rs []record) []*kgo.Record {
	out := make([]*kgo.Record, len(rs))
	for i, r := range rs {
		out[i] = &kgo.Record{Topic: "access_log", Partition: r.p, Value: r.v}
	}
	return out
}

// produce writes the main stream evenly over opt.Produce, raising the
// input's partition count partway if asked, holds a partition back if
// asked, then writes the tail at once. At once, each partition's watermark
// crosses many windows between two of its reports: the window stage
// rewrites a slot's open windows (up to a thousand while a partition is
// held back) with every report it merges, and merges a few per slot
// instead of one per window.
func (h *harness) produce(ctx context.Context, s *stream) error {
	cl, err := h.producer()
	if err != nil {
		return err
	}
	defer func() { cl.Close() }()
	const batch = 2000
	send := func(rs []record) error {
		if err := cl.ProduceSync(ctx, kafkaRecords(rs)...).FirstErr(); err != nil {
			return fmt.Errorf("producing: %w", err)
		}
		return nil
	}
	began := time.Now()
	main, tail := s.records[:s.tail], s.records[s.tail:]
	for sent := 0; sent < len(main); {
		n := min(batch, len(main)-sent)
		if sent < s.grow {
			n = min(n, s.grow-sent) // the growth comes between two batches
		}
		if err := send(main[sent : sent+n]); err != nil {
			return err
		}
		if sent += n; sent == s.grow {
			// A client knows a topic's partitions from its metadata, and
			// with the manual partitioner fails a record for a partition
			// it does not know ("invalid record partitioning choice")
			// until its next refresh: a new one asks the broker afresh.
			cl.Close()
			if err := h.grow(ctx, sent); err != nil {
				return err
			}
			if cl, err = h.producer(); err != nil {
				return err
			}
		}
		time.Sleep(time.Until(began.Add(time.Duration(int64(h.opt.Produce) * int64(sent) / int64(len(main))))))
	}
	if h.opt.HoldBack {
		if err := h.holdBack(ctx, s); err != nil {
			return err
		}
	}
	for sent := 0; sent < len(tail); sent += batch {
		if err := send(tail[sent:min(sent+batch, len(tail))]); err != nil {
			return err
		}
	}
	h.logf("produced %d records in %v", len(s.records), time.Since(began).Round(time.Millisecond))
	return nil
}

func (h *harness) producer() (*kgo.Client, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.brokerAt), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	return cl, nil
}

// grow raises access_log to opt.GrowTo partitions, after sent main-stream
// records. The broker may be restarting meanwhile (the chaos schedule does
// not wait for the producer), so it asks until the topic has them, for up
// to a minute.
func (h *harness) grow(ctx context.Context, sent int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.brokerAt))
	if err != nil {
		return fmt.Errorf("growing access_log: %w", err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(250 * time.Millisecond) {
		n, err := h.growOnce(ctx, adm)
		if n == h.opt.GrowTo {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("raising access_log from %d to %d partitions: it has %d (%w)", h.opt.Partitions, h.opt.GrowTo, n, err)
		}
	}
	h.mu.Lock()
	h.sum.Growth.Done, h.sum.Growth.KillsBefore = true, h.sum.Kills
	h.mu.Unlock()
	h.logf("access_log raised from %d to %d partitions after %d of %d main-stream records; the lines from now on go over all %d",
		h.opt.Partitions, h.opt.GrowTo, sent, h.sum.Growth.MainRecords, h.opt.GrowTo)
	return nil
}

// growOnce asks for the growth and returns the partitions access_log has
// then. A request whose answer a broker restart lost may have gone
// through: asked again it is refused (the topic has the partitions
// already), so the count read back decides, not the answer.
func (h *harness) growOnce(ctx context.Context, adm *kadm.Client) (int32, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := adm.UpdatePartitions(ctx, int(h.opt.GrowTo), "access_log")
	if err == nil {
		err = resp["access_log"].Err
	}
	topics, lerr := adm.ListTopics(ctx, "access_log")
	if lerr != nil {
		return 0, errors.Join(err, lerr)
	}
	t := topics["access_log"]
	return int32(len(t.Partitions)), errors.Join(err, t.Err)
}

// afterProducing kills instances while the stream's last windows close by
// idle timeout; with a held-back partition, it then waits until every other
// partition has closed every window, releases it, and kills on while its
// report is merged and its own last window closes by idle timeout.
func (h *harness) afterProducing(ctx context.Context, s *stream, reports *truth.Tail[report]) error {
	before := h.opt.TailKills
	if h.opt.HoldBack {
		before = (h.opt.TailKills + 1) / 2
	}
	if err := h.killOver(ctx, before, h.opt.Idle); err != nil {
		return err
	}
	if !h.opt.HoldBack {
		return nil
	}
	h.logf("waiting for every partition but %d to close every window", h.sum.HeldBack)
	var c *claims
	through := func() bool {
		var err error
		c, _, err = replay(reports.Items(), nil, h.opt.Window, h.opt.Partitions)
		return err == nil && c.through(h.opt.sources(), h.sum.HeldBack, s.end)
	}
	for deadline := time.Now().Add(h.opt.Timeout); !through(); time.Sleep(500 * time.Millisecond) {
		if h.stopped() {
			// Released all the same, so the input reads back whole for
			// the truth.
			h.logf("an instance stopped itself: waiting no longer for the partitions but %d", h.sum.HeldBack)
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the partitions but %d did not close every window within %v", h.sum.HeldBack, h.opt.Timeout)
		}
	}
	if h.sum.HeldEarly = c.claimed(h.sum.HeldBack, s.tailStart, s.end); h.sum.HeldEarly > 0 {
		h.logf("partition %d closed %d windows of the tail while held back", h.sum.HeldBack, h.sum.HeldEarly)
	}
	if err := h.held.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("releasing partition %d: %w", h.sum.HeldBack, err)
	}
	h.logf("released partition %d", h.sum.HeldBack)
	return h.killOver(ctx, h.opt.TailKills-before, h.opt.Idle)
}

// killOver spreads n kill requests over d, the first at once.
func (h *harness) killOver(ctx context.Context, n int, d time.Duration) error {
	began := time.Now()
	for i := range n {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(began.Add(d * time.Duration(i) / time.Duration(n)))):
		}
		if err := h.kill(ctx); err != nil {
			return err
		}
	}
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
		if h.stopped() {
			// An instance that stops itself at every start may have
			// exited by itself first: the summary says why.
			h.logf("%s exited with %v after SIGTERM, or before it: an instance stopped itself", p.Name, err)
			return nil
		}
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
	if h.held != nil {
		h.held.Close()
	}
	if h.broker != nil {
		h.sum.PeakRSS["broker"] = h.broker.PeakRSS()
		_ = h.broker.Signal(syscall.SIGTERM, 30*time.Second)
	}
}

// readAll reads every partition of topic, read_committed: at least atLeast
// records, and then until a second passes without more, or, short of
// atLeast, half a minute.
func readAll(ctx context.Context, broker, topic string, partitions int32, atLeast int) ([][][]byte, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", topic, err)
	}
	defer cl.Close()
	out := make([][][]byte, partitions)
	quiet, total := 0, 0
	for quiet < 4 || total < atLeast && quiet < 100 {
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
