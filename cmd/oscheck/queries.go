package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"
	"github.com/lovoo/goka/web/index"
	"github.com/lovoo/goka/web/monitor"
	"github.com/lovoo/goka/web/query"

	"github.com/oscheck/oscheck/processor/classify"
	"github.com/oscheck/oscheck/state"
	"github.com/oscheck/oscheck/topology"
)

// maxLast bounds the windows one query returns.
const maxLast = 10_000

// windowsAnswer is the body of /windows.
type windowsAnswer struct {
	OSType  string              `json:"os_type,omitempty"`
	Last    int                 `json:"last"`
	Windows []state.WindowCount `json:"windows"`
}

// mountQueries adds the interactive queries to mux: /windows, oscheck's JSON
// answer from the window table, and goka's own pages under /admin/: the
// monitor (processor and view state) and the table browser.
func mountQueries(mx *http.ServeMux, svc *topology.Service, log *slog.Logger) {
	mx.HandleFunc("/windows", func(w http.ResponseWriter, r *http.Request) {
		serveWindows(w, r, svc)
	})

	router := mux.NewRouter()
	logger := topology.GokaLogger(log)
	idx := index.NewServer("/admin", router)
	mon := monitor.NewServer("/admin/monitor", router, monitor.WithLogger(logger))
	for _, p := range svc.Processors() {
		mon.AttachProcessor(p)
	}
	qry := query.NewServer("/admin/query", router, query.WithLogger(logger))
	if err := qry.AttachSource("window-table", svc.TableGet); err != nil {
		log.Error("goka query page", "error", err)
	}
	idx.AddComponent(mon, "Monitor")
	idx.AddComponent(qry, "Query")
	mx.Handle("/admin/", notFoundOnPanic(router))
	mx.Handle("/admin", http.RedirectHandler("/admin/", http.StatusMovedPermanently))
}

// serveWindows answers /windows?os=android&last=30: the counts of the last
// 30 windows (by start) for the os_type, every os_type without os, oldest
// first.
func serveWindows(w http.ResponseWriter, r *http.Request, svc *topology.Service) {
	q := r.URL.Query()
	osType := q.Get("os")
	if osType != "" && !classify.IsOSType(osType) {
		http.Error(w, fmt.Sprintf("os: %q is not an os_type (1-32 of A-Z a-z 0-9 . _ -)", osType), http.StatusBadRequest)
		return
	}
	last := 30
	if s := q.Get("last"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLast {
			http.Error(w, fmt.Sprintf("last: %q is not a number of windows from 1 to %d", s, maxLast), http.StatusBadRequest)
			return
		}
		last = n
	}
	counts, err := svc.Windows(osType, last)
	switch {
	case errors.Is(err, topology.ErrNotRecovered):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if counts == nil {
		counts = []state.WindowCount{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(windowsAnswer{OSType: osType, Last: last, Windows: counts})
}

// notFoundOnPanic answers 404 where h panics: goka's monitor indexes its
// processors with an off-by-one bound check, so /admin/monitor/processor/2
// would panic, and net/http would log a stack trace for every such request.
func notFoundOnPanic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if recover() != nil {
				http.NotFound(w, r)
			}
		}()
		h.ServeHTTP(w, r)
	})
}
