package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/proc"
	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
	"github.com/oscheck/oscheck/cmd/internal/traffic"
	"github.com/oscheck/oscheck/processor/output"
)

// rollout is how a controller replaces the pods of a workload: the
// environment each pod gets, and whether the replacement starts only once the
// old pod is gone (a StatefulSet) or at once (a Deployment with maxSurge 0
// creates it while the old one terminates).
type rollout struct {
	replicas int
	// env is the environment of a pod of a generation (0, then 1 after
	// the rollout) and ordinal, OSCHECK_INSTANCE_ID included.
	env        func(generation, ordinal int) map[string]string
	sequential bool
	// podStart is the time from a pod's creation to its process starting
	// (scheduling, container start), for a replacement.
	podStart time.Duration
	grace    time.Duration
}

// stallReport is the longest time each group's partitions went without
// progress while they had records to process.
type stallReport struct {
	worst map[string]time.Duration // group → longest stall of one of its partitions
	where map[string]string        // group → which partition and when
}

func (r stallReport) String() string {
	var b strings.Builder
	for _, g := range slices.Sorted(maps.Keys(r.worst)) {
		fmt.Fprintf(&b, "%s: %v (%s); ", g, r.worst[g].Round(10*time.Millisecond), r.where[g])
	}
	return strings.TrimSuffix(b.String(), "; ")
}

func (r stallReport) max() time.Duration {
	var m time.Duration
	for _, d := range r.worst {
		m = max(m, d)
	}
	return m
}

// stallMeter watches both groups' committed offsets against the ends of
// their topics and keeps, per partition, the longest time its committed
// offset stood still while records waited behind it.
type stallMeter struct {
	mu      sync.Mutex
	moved   map[string]time.Time // group/partition → when its committed offset last moved
	offset  map[string]int64
	report  stallReport
	stop    context.CancelFunc
	stopped chan struct{}
}

func meterStalls(t *testing.T, brokers []string) *stallMeter {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithCancel(context.Background())
	m := &stallMeter{moved: make(map[string]time.Time), offset: make(map[string]int64), stop: cancel,
		stopped: make(chan struct{})}
	m.reset()
	out := consume(t, brokers, "os-check")
	go func() {
		seen := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			out.mu.Lock()
			recs, arrived := out.records[seen:], out.arrived[seen:]
			seen = len(out.records)
			m.mu.Lock()
			for i, r := range recs {
				w, err := output.KStreams.Decode(r.Key, r.Value, 2*time.Second)
				if err != nil {
					continue
				}
				if d := arrived[i].Sub(time.UnixMilli(w.End)); d > m.report.worst["finals"] {
					m.report.worst["finals"] = d
					m.report.where["finals"] = fmt.Sprintf("%s@%d", w.OSType, w.Start)
				}
			}
			m.mu.Unlock()
			out.mu.Unlock()
		}
	}()
	go func() {
		defer close(m.stopped)
		defer cl.Close()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for _, s := range []struct{ group, topic string }{{parseGroup, "access_log"}} {
				qctx, qcancel := context.WithTimeout(ctx, 2*time.Second)
				ends, err1 := listEnds(qctx, adm, s.topic)
				committed, err2 := committedOffsets(qctx, adm, s.group, s.topic)
				qcancel()
				if err1 != nil || err2 != nil {
					continue
				}
				now := time.Now()
				m.mu.Lock()
				for p, end := range ends {
					k := fmt.Sprintf("%s/%d", s.group, p)
					c, ok := committed[p]
					if !ok {
						continue
					}
					if last, seen := m.offset[k]; !seen || c != last {
						m.offset[k], m.moved[k] = c, now
						continue
					}
					if c < end {
						if d := now.Sub(m.moved[k]); d > m.report.worst[s.group] {
							m.report.worst[s.group] = d
							m.report.where[s.group] = fmt.Sprintf("partition %d, from %s", p, m.moved[k].Format("15:04:05.000"))
						}
					}
				}
				m.mu.Unlock()
			}
		}
	}()
	t.Cleanup(m.close)
	return m
}

// reset starts a new measurement.
func (m *stallMeter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.report = stallReport{worst: map[string]time.Duration{parseGroup: 0, "finals": 0}, where: make(map[string]string)}
}

// take returns the measurement so far.
func (m *stallMeter) take() stallReport {
	m.mu.Lock()
	defer m.mu.Unlock()
	return stallReport{worst: maps.Clone(m.report.worst), where: maps.Clone(m.report.where)}
}

func (m *stallMeter) close() { m.stop(); <-m.stopped }

// feed produces input to every partition of access_log until the test
// ends: rate lines a second in all, with the current time.
func feed(t *testing.T, brokers []string, partitions int32, rate int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cl.Close()
		gen := traffic.NewGenerator(7)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		perTick := max(1, rate/20/int(partitions))
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var recs []*kgo.Record
			for p := range partitions {
				for range perTick {
					line, _ := gen.Append(nil, time.Now())
					recs = append(recs, &kgo.Record{Topic: "access_log", Partition: p, Value: traffic.Envelope(nil, line)})
				}
			}
			pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
			_ = cl.ProduceSync(pctx, recs...)
			pcancel()
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// pod is one running instance of a rollout.
type pod struct {
	p    *proc.Proc
	addr string
}

// startPod runs oscheck run as a process with the rollout's environment,
// the test's broker and a free HTTP address.
func (r rollout) startPod(t *testing.T, brokers []string, generation, ordinal int) pod {
	t.Helper()
	p, err := proc.New(secrettest.LogDir(t), fmt.Sprintf("pod%d-gen%d", ordinal, generation), oscheckBinary(t), "run")
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	env := r.env(generation, ordinal)
	env["OSCHECK_BROKERS"] = strings.Join(brokers, ",")
	env["OSCHECK_HTTP_ADDR"] = addr
	for _, k := range slices.Sorted(maps.Keys(env)) {
		p.Env = append(p.Env, k+"="+env[k])
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if running, _ := p.Running(); running {
			_ = p.Signal(syscall.SIGTERM, 30*time.Second)
		}
	})
	return pod{p: p, addr: addr}
}

// awaitReady waits for /readyz, as the controller waits for the readiness
// probe before it replaces the next pod.
func awaitReady(t *testing.T, pods []pod, timeout time.Duration) {
	t.Helper()
	err := proc.WaitFor(context.Background(), timeout, "every pod ready", func() bool {
		for _, p := range pods {
			if !proc.Ready(p.addr) {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
}

// run starts the rollout's pods against brokers and waits until they are
// ready and settled. Then it measures normal rebalances: more members,
// dynamic ones, join the group and leave it again (with a LeaveGroup, as a
// dynamic member does). Then it replaces each pod in turn as the
// controller would. It returns the stalls of both.
func (r rollout) run(t *testing.T, brokers []string, meter *stallMeter) (normal, rolled stallReport) {
	t.Helper()
	const settle = 4 * time.Second
	pods := make([]pod, r.replicas)
	for i := range r.replicas {
		pods[i] = r.startPod(t, brokers, 0, i)
	}
	awaitReady(t, pods, 60*time.Second)
	time.Sleep(settle)

	meter.reset()
	dynamic := r
	dynamic.env = func(generation, ordinal int) map[string]string {
		env := r.env(generation, ordinal)
		delete(env, "OSCHECK_INSTANCE_ID")
		return env
	}
	// Two of them, leaving 1.5 s apart: how long a leave goes unnoticed
	// depends on where the others are in their heartbeat interval.
	extra := []pod{dynamic.startPod(t, brokers, 0, r.replicas), dynamic.startPod(t, brokers, 0, r.replicas+1)}
	awaitReady(t, append(slices.Clone(pods), extra...), 60*time.Second)
	time.Sleep(settle)
	for i, p := range extra {
		if i > 0 {
			time.Sleep(1500 * time.Millisecond)
		}
		if err := p.p.Signal(syscall.SIGTERM, r.grace); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(settle)
	normal = meter.take()

	meter.reset()
	// Both controllers replace the highest ordinal first; the order does
	// not matter to the group.
	for i := r.replicas - 1; i >= 0; i-- {
		old := pods[i]
		stopped := make(chan error, 1)
		go func() { stopped <- old.p.Signal(syscall.SIGTERM, r.grace) }()
		if r.sequential {
			if err := <-stopped; err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(r.podStart)
		pods[i] = r.startPod(t, brokers, 1, i)
		if !r.sequential {
			if err := <-stopped; err != nil {
				t.Fatal(err)
			}
		}
		if err := old.p.ExitErr(); err != nil {
			t.Errorf("pod %d exited with %v on SIGTERM", i, err)
		}
		awaitReady(t, pods, 60*time.Second)
	}
	time.Sleep(settle)
	return normal, meter.take()
}

// TestRollingRestart rolls the base manifests' pods as their controller
// would (a StatefulSet: each pod in turn, the next once the new one is
// ready; a Deployment: a new pod while the old one drains), each pod with
// the manifests' settings and instance id, against a broker taking input
// all the while. No input partition may stand still, and no final come
// late, for more than 2 s beyond what a normal rebalance costs: a dynamic
// member joining the group and leaving it.
func TestRollingRestart(t *testing.T) {
	objs := renderKustomization(t, kubeBase)
	if t.Failed() {
		t.FailNow()
	}
	w := objs.workload(t)
	ctr := w.container(t)
	r := rollout{replicas: 3, sequential: w.kind == "StatefulSet", podStart: podStart, grace: 30 * time.Second}
	if w.replicas != nil {
		r.replicas = int(*w.replicas)
	}
	if g := w.template.Spec.TerminationGracePeriodSeconds; g != nil {
		r.grace = time.Duration(*g) * time.Second
	}
	// A StatefulSet's pod is <name>-<ordinal>, always; a Deployment's
	// <name>-<template hash>-<random>, new in every rollout.
	podName := func(generation, ordinal int) string {
		if w.kind == "StatefulSet" {
			return fmt.Sprintf("%s-%d", w.name, ordinal)
		}
		return fmt.Sprintf("%s-%d5d8f7c9b-x%dq7z", w.name, generation, ordinal)
	}
	r.env = func(generation, ordinal int) map[string]string {
		env, _ := objs.podEnv(t, ctr, podName(generation, ordinal))
		return env
	}
	t.Logf("%s %s, %d replicas, instance ids %q, %q...", w.kind, w.name, r.replicas,
		r.env(0, 0)["OSCHECK_INSTANCE_ID"], r.env(1, 0)["OSCHECK_INSTANCE_ID"])

	brokers := startBroker(t, 6, "access_log")
	feed(t, brokers, 6, 600)
	meter := meterStalls(t, brokers)
	normal, rolled := r.run(t, brokers, meter)
	t.Logf("a normal rebalance (members join, then leave): %v", normal)
	t.Logf("the rollout: %v", rolled)
	for what, d := range rolled.worst {
		if limit := normal.worst[what] + 2*time.Second; d > limit {
			t.Errorf("%s: stalled %v in the rollout (%s), more than 2 s beyond the %v of a normal rebalance",
				what, d.Round(10*time.Millisecond), rolled.where[what], normal.worst[what].Round(10*time.Millisecond))
		}
	}
}

// podStart is the time from a pod's deletion to its replacement's process
// starting, when the controller waits for the deletion (a StatefulSet):
// the pod's creation, scheduling and container start on a node that has
// the image.
const podStart = 2 * time.Second
