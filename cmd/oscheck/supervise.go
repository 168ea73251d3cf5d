package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/oscheck/oscheck/topology"
	"github.com/oscheck/oscheck/topology/cluster"
)

// serve runs the service and its HTTP endpoints until ctx is done, then
// drains: both groups stop taking records, commit what is safe and leave,
// within drain.
//
// A service that fails while running (a broker outage longer than its
// clients' retries, say) is built and started again in the process, as
// Kafka Streams replaces a failed stream thread: what it had not committed
// is read again, and the windows it had not finished are rebuilt and
// emitted once, as after a crash. Failures at the first start, and failures
// a restart cannot cure (credentials, TLS, ACLs, configuration), end serve
// with the error instead.
func serve(ctx context.Context, cfg topology.Config, w web, drain time.Duration, log *slog.Logger) error {
	cfg.ProcessID = topology.NewProcessID()
	log.Info("starting", "config", cfg)
	warnInsecure(log, cfg.Security)
	restarts := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "oscheck_restarts_total",
		Help: "Times the service failed while running and was started again in the process.",
	})
	base := prometheus.NewRegistry()
	base.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), restarts)
	in, err := newInstance(cfg, log)
	if err != nil {
		return err
	}
	var cur current
	cur.p.Store(in)
	queries := withLivePage(ctx, &cur, log, func(mux *http.ServeMux) { cur.mount(mux, w.admin) })
	if w.addr != "" {
		mount := queries
		if w.queryAddr != "" {
			mount = nil
		}
		stop, err := serveHTTP(w.addr, prometheus.Gatherers{base, prometheus.GathererFunc(cur.gather)}, cur.notReady, log, mount)
		if err != nil {
			return err
		}
		defer stop()
	}
	if w.queryAddr != "" {
		mux := http.NewServeMux()
		queries(mux)
		stop, err := listen("query-addr", w.queryAddr, mux, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	// The wait before a restart: 1 s, doubled by each restart up to 30 s,
	// with jitter, so that instances an outage stopped together do not
	// all come back at once.
	wait := cluster.NewBackoff(time.Second, 30*time.Second)
	for {
		began := time.Now()
		err = in.run(ctx, drain, log)
		var (
			denied *cluster.AccessError
			bad    *topology.KeyError
		)
		if err == nil || ctx.Err() != nil || errors.As(err, &denied) || errors.As(err, &bad) {
			// ACLs that deny what the service does, or a setting the
			// committed state cannot be read with, would fail it again.
			log.Info("stopped", "error", err)
			return err
		}
		cur.p.Store(nil)
		restarts.Inc()
		if time.Since(began) >= stableAfter {
			wait.Reset()
		}
		delay := wait.NextBackOff()
		log.Error("the service failed; starting it again", "error", err, "in", delay)
		if in, err = restart(ctx, cfg, log, wait, delay); in == nil {
			log.Info("stopped", "error", err)
			return err
		}
		cur.p.Store(in)
	}
}

// stableAfter is how long an instance must have run for its failure to
// start the backoff over: one that fails again at once, on a cause the
// start-up check does not see, is restarted ever more slowly.
const stableAfter = time.Minute

// restart builds a new instance after delay, retrying failures that may
// pass (brokers unreachable) after each next wait; wait is left where it got
// to, for the next restart. It returns nil when ctx is done, with the error
// when the failure is permanent. Building an instance cannot be
// interrupted; when ctx is done meanwhile, restart returns at once and
// leaves it to the exiting process.
func restart(ctx context.Context, cfg topology.Config, log *slog.Logger, wait *cluster.Backoff, delay time.Duration) (*instance, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(delay):
		}
		built := make(chan struct{})
		var (
			in  *instance
			err error
		)
		go func() {
			defer close(built)
			in, err = newInstance(cfg, log)
		}()
		select {
		case <-ctx.Done():
			return nil, nil
		case <-built:
		}
		if err == nil {
			log.Info("started again")
			return in, nil
		}
		if cluster.Permanent(err) {
			return nil, err
		}
		delay = wait.NextBackOff()
		log.Warn("starting the service again failed; retrying", "error", err, "in", delay)
	}
}

// instance is one incarnation of the service, with the registry of its
// metrics and its query handlers.
type instance struct {
	svc *topology.Service
	reg *prometheus.Registry
	mux *http.ServeMux
}

func newInstance(cfg topology.Config, log *slog.Logger) (*instance, error) {
	reg := prometheus.NewRegistry()
	svc, err := topology.New(cfg, reg, log)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mountQueries(mux, svc, log)
	return &instance{svc: svc, reg: reg, mux: mux}, nil
}

// run runs the instance until it fails or ctx is done, then drains it.
func (in *instance) run(ctx context.Context, drain time.Duration, log *slog.Logger) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if in.svc.Ready(runCtx) == nil && runCtx.Err() == nil {
			log.Info("ready")
		}
	}()
	done := make(chan error, 1)
	go func() { done <- in.svc.Run(runCtx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		log.Info("draining", "timeout", drain)
		select {
		case err := <-done:
			return err
		case <-time.After(drain):
			return &topology.KeyError{Key: "shutdown-timeout", Reason: fmt.Sprintf("draining took longer than %v", drain)}
		}
	}
}

// current is the running instance, for the HTTP endpoints; nil while a
// failed one is replaced.
type current struct{ p atomic.Pointer[instance] }

// gather gathers the running instance's metrics, none between instances.
func (c *current) gather() ([]*dto.MetricFamily, error) {
	if in := c.p.Load(); in != nil {
		return in.reg.Gather()
	}
	return nil, nil
}

func (c *current) notReady(ctx context.Context) string {
	if in := c.p.Load(); in != nil {
		return in.svc.NotReady(ctx)
	}
	return "starting the service again after a failure"
}

// mount routes the query endpoints to the running instance's handlers:
// /windows, and goka's pages under /admin/ when admin is on. Those have no
// authentication and load their scripts and styles from public CDNs, so
// they are off unless asked for.
func (c *current) mount(mux *http.ServeMux, admin bool) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := c.p.Load()
		if in == nil {
			http.Error(w, "starting the service again after a failure", http.StatusServiceUnavailable)
			return
		}
		in.mux.ServeHTTP(w, r)
	})
	mux.Handle("/windows", h)
	if admin {
		mux.Handle("/admin/", h)
		mux.Handle("/admin", h)
	}
}
