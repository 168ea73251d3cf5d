// Command chaos proves oscheck's exactly-once effects: it runs a dev broker
// and several `oscheck run` processes as separate OS processes, produces a
// known access-log stream while it kill -9s instances, scales the group out
// and in, and restarts the broker, then compares every os-check record with
// the ground truth computed from the input the broker holds.
//
//	go run ./cmd/chaos                        # the full run: 1,000,000 lines, 20 kills
//	go run ./cmd/chaos --lines 100000 --kills 5 --produce 40s
//
// It exits 1 when os-check is not exact.
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
	fs.IntVar(&o.Instances, "instances", 3, "oscheck processes")
	fs.IntVar(&o.Kills, "kills", 20, "kill -9s during the run")
	fs.IntVar(&o.BrokerRestarts, "broker-restarts", 1, "broker stops and restarts")
	fs.BoolVar(&o.ScaleOut, "scale-out", true, "add and later remove one more instance")
	fs.BoolVar(&o.Rolling, "rolling", false, "also SIGTERM every instance in turn (a rolling restart)")
	fs.IntVar(&o.Windows, "windows", 240, "windows of event time the input spans")
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
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
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
	if !sum.Exact() {
		os.Exit(1)
	}
}
