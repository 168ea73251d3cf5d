// Command chaos proves oscheck's exactly-once effects: it runs a dev broker
// and several `oscheck run` processes as separate OS processes, produces a
// known access-log stream (with late and malformed records, and one
// partition held back in an open transaction) while it kill -9s instances,
// scales the group out and in, and restarts the broker, then compares every
// os-check record with the ground truth computed from the input the broker
// holds, and the dead-letter topic with the malformed records.
//
//	go run ./cmd/chaos                              # the acceptance run: 1,000,000 lines, 24 kill requests
//	go run ./cmd/chaos --guarantee exactly_once_v2  # the same, and no record may come twice
//	go run ./cmd/chaos --lines 100000 --kills 5 --tail-kills 2 --tail-windows 1200 --malformed 100 --produce 40s
//	go run ./cmd/chaos --partitions 4 --grow-to 12   # access_log grows from 4 to 12 partitions while instances are killed
//
// It exits 1 when os-check is not exact (or not exactly once, when expected),
// or when the run was tamer than asked.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

func main() {
	fs := pflag.NewFlagSet("chaos", pflag.ContinueOnError)
	o := Options{Log: os.Stderr}
	fs.IntVar(&o.Lines, "lines", 1_000_000, "input lines")
	fs.Int32Var(&o.Partitions, "partitions", 12, "partitions of access_log")
	fs.Int32Var(&o.GrowTo, "grow-to", 0, "raise access_log to this many partitions 30 to 40% into the main stream, while instances are killed (0: never)")
	fs.IntVar(&o.Instances, "instances", 3, "oscheck processes")
	fs.IntVar(&o.Kills, "kills", 20, "kill -9s while producing; every other one kills the restarted instance again while it restores")
	fs.IntVar(&o.TailKills, "tail-kills", 4, "kill -9s after producing, while windows close by idle timeout (half after the held-back partition's release)")
	fs.IntVar(&o.BrokerRestarts, "broker-restarts", 1, "broker stops and restarts")
	fs.BoolVar(&o.ScaleOut, "scale-out", true, "add and later remove one more instance")
	fs.BoolVar(&o.Rolling, "rolling", false, "also SIGTERM every instance in turn (a rolling restart)")
	fs.IntVar(&o.Windows, "windows", 240, "windows of event time the main stream spans")
	fs.IntVar(&o.TailWindows, "tail-windows", 12_600, "windows more, one line each, after the main stream, produced at once")
	fs.BoolVar(&o.HoldBack, "hold-back", true, "hold the last partition back in an open transaction until every other one closed every window")
	fs.IntVar(&o.LateEvery, "late-every", 1000, "one main-stream line in this many is late (0: none)")
	fs.IntVar(&o.Malformed, "malformed", 1000, "malformed records among the main stream, for the dead-letter topic")
	fs.DurationVar(&o.Window, "window", 2*time.Second, "window size")
	fs.DurationVar(&o.Grace, "grace", 2*time.Second, "grace")
	fs.DurationVar(&o.Idle, "idle-timeout", 15*time.Second, "idle timeout (longer than any production stall)")
	fs.DurationVar(&o.Produce, "produce", 120*time.Second, "how long producing takes")
	fs.DurationVar(&o.Settle, "settle", 5*time.Second, "read on after the last window, for duplicates")
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "give up on missing windows this long after producing")
	fs.Uint64Var(&o.Seed, "seed", uint64(time.Now().UnixNano()), "random seed (stream and schedule)")
	fs.StringVar(&o.Dir, "dir", "", "work directory for logs and broker data (default: a new temporary one)")
	fs.BoolVar(&o.HotStandby, "hot-standby", false, "run instances with --hot-standby")
	fs.BoolVar(&o.Dynamic, "dynamic", false, "dynamic group membership (no --instance-id): restarts join as new members")
	fs.StringVar(&o.Guarantee, "guarantee", "", "passed to every instance as --processing-guarantee (exactly_once_v2 or at_least_once); empty: not passed (oscheck's default, exactly_once_v2)")
	fs.StringVar(&o.Emit, "emit", "final", "passed to every instance as --emit: final (judged by each window's first record) or update (by its last)")
	fs.BoolVar(&o.ExpectExactlyOnce, "expect-exactly-once", false, "fail on any duplicate final record or dead letter (default: unless --guarantee is at_least_once)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if !fs.Changed("expect-exactly-once") {
		o.ExpectExactlyOnce = o.Guarantee != "at_least_once" // exactly_once_v2 is oscheck's default
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "chaos: seed %d\n", o.Seed)
	sum, err := Run(ctx, o)
	fmt.Print(sum)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	if !sum.Proven() {
		os.Exit(1)
	}
}
