package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"github.com/oscheck/oscheck/topology"
)

func runService(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newRunFlags()
	fs.SetOutput(stderr)
	v, err := settings(fs, args)
	if err != nil {
		return err
	}
	log, err := newLogger(v, stderr)
	if err != nil {
		return err
	}
	cfg, err := serviceConfig(v)
	if err != nil {
		return err
	}
	drain, err := time.ParseDuration(v.GetString("shutdown-timeout"))
	if err != nil || drain <= 0 {
		return &topology.KeyError{Key: "shutdown-timeout", Reason: fmt.Sprintf("not a positive duration: %q", v.GetString("shutdown-timeout"))}
	}
	topology.TuneGC()
	return serve(ctx, cfg, v.GetString("http-addr"), drain, log)
}

func newRunFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("oscheck run", pflag.ContinueOnError)
	serviceFlags(fs)
	return fs
}

// serveHTTP serves /metrics from reg, /healthz, /readyz, which answers 503
// with the reason notReady gives while it is not "", and what mount, if not
// nil, adds.
func serveHTTP(addr string, reg prometheus.Gatherer, notReady func(context.Context) string, log *slog.Logger,
	mount func(*http.ServeMux)) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &topology.KeyError{Key: "http-addr", Reason: err.Error()}
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if reason := notReady(r.Context()); reason != "" {
			http.Error(w, reason, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if mount != nil {
		mount(mux)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "error", err)
		}
	}()
	log.Info("http listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
