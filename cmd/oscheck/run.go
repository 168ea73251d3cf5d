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
	"github.com/spf13/viper"

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
	web, err := webSettings(v)
	if err != nil {
		return err
	}
	topology.TuneGC()
	return serve(ctx, cfg, web, drain, log)
}

// web is where the service serves HTTP: metrics and probes on addr, the
// query API on queryAddr when set (else on addr), goka's pages with it
// when admin is on.
type web struct {
	addr, queryAddr string
	admin           bool
}

// webSettings reads and checks http-addr, query-addr and admin.
func webSettings(v *viper.Viper) (web, error) {
	w := web{addr: v.GetString("http-addr"), queryAddr: v.GetString("query-addr"), admin: v.GetBool("admin")}
	if w.queryAddr == "" {
		return w, nil
	}
	if _, _, err := net.SplitHostPort(w.queryAddr); err != nil {
		return w, &topology.KeyError{Key: "query-addr", Reason: err.Error()}
	}
	if w.queryAddr == w.addr {
		return w, &topology.KeyError{Key: "query-addr", Reason: fmt.Sprintf("%q is http-addr too; leave query-addr empty to serve the queries there", w.queryAddr)}
	}
	return w, nil
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
	return listen("http-addr", addr, mux, log)
}

// listen serves h on addr, the value of key, until stop.
func listen(key, addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &topology.KeyError{Key: key, Reason: err.Error()}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "key", key, "error", err)
		}
	}()
	log.Info("http listening", key, ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
