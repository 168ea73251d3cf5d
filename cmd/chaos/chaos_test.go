package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testLog sends the harness's progress to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// TestChaosShort is the short chaos run of the normal suite: three oscheck
// processes and a dev broker as separate OS processes, kill -9s (some while
// an instance joins and restores, some while windows close by idle timeout),
// a fourth instance added and removed, and a broker restart, while 100k
// lines with late and malformed ones among them are produced, and one
// partition is held back until a single report of it completes every window
// of a slot; os-check must equal the ground truth, and the dead-letter topic
// hold every malformed record.
func TestChaosShort(t *testing.T) {
	sum := runProven(t, Options{
		Lines: 100_000, Partitions: 12, Instances: 3, Kills: 5, TailKills: 2, BrokerRestarts: 1, ScaleOut: true,
		Windows: 200, TailWindows: 1200, HoldBack: true, LateEvery: 1000, Malformed: 100,
		Window: 2 * time.Second, Grace: 2 * time.Second, Idle: 15 * time.Second,
		Produce: 40 * time.Second, Settle: 3 * time.Second, Timeout: 2 * time.Minute, Seed: 1, ExpectExactlyOnce: true,
	})
	if sum.Largest.windows < 100 {
		t.Errorf("the largest report completed %d windows, want 100 or more", sum.Largest.windows)
	}
}

// TestChaosShortUpdate is a shorter TestChaosShort in update mode: the last
// record of every window must carry its count.
func TestChaosShortUpdate(t *testing.T) {
	runProven(t, Options{
		Lines: 50_000, Partitions: 12, Instances: 3, Kills: 3, TailKills: 2, BrokerRestarts: 1,
		Windows: 100, TailWindows: 600, HoldBack: true, LateEvery: 1000, Malformed: 50, Emit: "update",
		Window: 2 * time.Second, Grace: 2 * time.Second, Idle: 15 * time.Second,
		Produce: 25 * time.Second, Settle: 3 * time.Second, Timeout: 2 * time.Minute, Seed: 3, ExpectExactlyOnce: true,
	})
}

// TestChaosGrowth raises access_log from 4 to 12 partitions a third of the
// way into the main stream while instances are killed before and after:
// every window must be exact and final once, the new partitions' lines
// counted from the growth on (the truth's growth frontier makes none of
// them late by itself), while the repartition topic, the window table and
// the changelogs keep their 4 partitions; the held-back partition is a new
// one.
func TestChaosGrowth(t *testing.T) {
	sum := runProven(t, Options{
		Lines: 50_000, Partitions: 4, GrowTo: 12, Instances: 3, Kills: 3, TailKills: 2, BrokerRestarts: 1,
		Windows: 100, TailWindows: 600, HoldBack: true, LateEvery: 1000, Malformed: 50,
		Window: 2 * time.Second, Grace: 2 * time.Second, Idle: 15 * time.Second,
		Produce: 25 * time.Second, Settle: 3 * time.Second, Timeout: 2 * time.Minute, Seed: 5, ExpectExactlyOnce: true,
	})
	if g := sum.Growth; !g.Done || g.KillsBefore == 0 || g.KillsAfter == 0 {
		t.Errorf("growth %s: want it done with kills before and after", g)
	}
	if sum.HeldBack != 11 || sum.Largest.source != 11 {
		t.Errorf("the largest report came from partition %d, the held-back one is %d; want both 11, a new partition", sum.Largest.source, sum.HeldBack)
	}
}

// TestRollingRestart stops every instance in turn with SIGTERM while input
// flows and waits for it to come back: nothing may be lost, and since every
// stop is graceful, nothing may be emitted twice.
func TestRollingRestart(t *testing.T) {
	sum := runProven(t, Options{
		Lines: 60_000, Partitions: 12, Instances: 3, Rolling: true,
		Windows: 100, Window: 2 * time.Second, Grace: 2 * time.Second, Idle: 15 * time.Second,
		Produce: 40 * time.Second, Settle: 3 * time.Second, Timeout: 2 * time.Minute, Seed: 2, ExpectExactlyOnce: true,
	})
	if sum.RollingRestarts != 3 {
		t.Fatalf("%d rolling restarts, want 3", sum.RollingRestarts)
	}
	if sum.DuplicatesIdentical != 0 {
		t.Errorf("%d duplicate records after graceful restarts, want none", sum.DuplicatesIdentical)
	}
}

// runProven does a chaos run and fails the test unless os-check equals the
// ground truth (exactly once, when o expects it) under every fault asked
// for, and memory stayed bounded.
func runProven(t *testing.T, o Options) Summary {
	t.Helper()
	o.Dir, o.Log = t.TempDir(), testLog{t}
	sum, err := Run(t.Context(), o)
	t.Logf("summary:\n%s", sum)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Proven() {
		logTails(t, sum.Dir)
		for _, s := range sum.Stopped {
			t.Errorf("oscheck stopped itself: %s", s)
		}
		t.Fatal("os-check differs from the ground truth, or the run was tamer than asked")
	}
	checkMemory(t, sum)
	return sum
}

// checkMemory fails on an instance whose resident memory grew far past what
// a few open windows need: closed windows must leave the state.
func checkMemory(t *testing.T, sum Summary) {
	t.Helper()
	for name, rss := range sum.PeakRSS {
		if name != "broker" && rss > 400<<20 {
			t.Errorf("%s peaked at %d MB resident", name, rss>>20)
		}
	}
}

// logTails shows the end of every process log of a failed run (the work
// directory goes with the test).
func logTails(t *testing.T, dir string) {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		t.Logf("== %s (last 40 lines)\n%s", filepath.Base(l), strings.Join(lines[max(0, len(lines)-40):], "\n"))
	}
}
