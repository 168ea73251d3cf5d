// Package livepage serves oscheck's live page: a chart and table of the
// last windows per os_type, the open windows filling in as input partitions
// report, the late and malformed rates, and per-partition consumer lag with
// an estimate of the time left to catch up.
//
// The page and everything it loads are embedded (no CDN: it works offline).
// It updates over Server-Sent Events: one stream per browser tab, fed by one
// shared sampler that reads the window-table view and the metrics registry
// once per interval, whatever the number of streams, and only while at least
// one stream is open. Nothing here touches the record path: the view is the
// same one /windows reads, and the registry is what a Prometheus scrape
// reads.
package livepage

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/state"
)

//go:embed assets
var assets embed.FS

// Source is what one running service instance offers the page.
type Source struct {
	// Windows is topology.Service.Windows: the last windows of the window
	// table, finals and open ones.
	Windows func(osType string, last int) ([]state.WindowCount, error)
	// Metrics is the instance's registry: consumed, late and malformed
	// counters, and consumer lag per partition.
	Metrics prometheus.Gatherer
	// Err, when Windows returns it, means the view is still recovering.
	NotRecovered error
}

// Config configures a Server. Current is required.
type Config struct {
	// Current returns the running instance, ok false while a failed one is
	// being replaced.
	Current func() (src Source, ok bool)
	Log     *slog.Logger
	// Interval between two snapshots; default 1 s.
	Interval time.Duration
	// Last is how many windows a snapshot holds; default 60.
	Last int
	// MaxStreams bounds the open event streams; default 32. A browser past
	// the bound is answered 503 and retries.
	MaxStreams int
}

// Server serves the page, its assets and its event stream.
type Server struct {
	cfg    Config
	static http.Handler
	hub    *hub
	ctx    context.Context
}

// New returns a Server whose streams end when ctx is done, so that an HTTP
// server's graceful shutdown is not held up by browsers.
func New(ctx context.Context, cfg Config) *Server {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Last <= 0 {
		cfg.Last = 60
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 32
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(fmt.Sprintf("livepage: embedded assets: %v", err)) // cannot happen: the directory is embedded
	}
	s := &Server{cfg: cfg, static: http.FileServerFS(sub), ctx: ctx}
	s.hub = newHub(cfg, s.sample)
	return s
}

// Mount adds the page to mux: / (exactly), /live/ (assets), /live/events
// (the stream) and /live/snapshot.json (one snapshot, for scripts).
func (s *Server) Mount(mux *http.ServeMux) {
	mux.HandleFunc("/{$}", s.serveIndex)
	mux.Handle("/live/", http.StripPrefix("/live/", s.assetHandler()))
	mux.HandleFunc("/live/events", s.serveEvents)
	mux.HandleFunc("/live/snapshot.json", s.serveSnapshot)
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

// assetHandler serves the embedded files; they change only with the
// binary, so the browser revalidates them (no-cache), and an upgraded
// binary's page is never mixed with an old script.
func (s *Server) assetHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		s.static.ServeHTTP(w, r)
	})
}

func (s *Server) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	snap := s.sample(newRates())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(snap)
}

// serveEvents streams snapshots as Server-Sent Events until the browser
// goes, the server stops, or a write stalls for writeTimeout.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	ch, leave, ok := s.hub.join()
	if !ok {
		w.Header().Set("Retry-After", "5")
		http.Error(w, fmt.Sprintf("too many live streams (at most %d)", s.cfg.MaxStreams), http.StatusServiceUnavailable)
		return
	}
	defer leave()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // a proxy such as nginx must not buffer the stream
	w.WriteHeader(http.StatusOK)
	write := func(f string, a ...any) error {
		// A browser that stops reading (a frozen tab, a dead network) must
		// not keep this goroutine and its connection forever.
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := fmt.Fprintf(w, f, a...); err != nil {
			return err
		}
		return rc.Flush()
	}
	// The browser reconnects after a second when the stream ends.
	if err := write("retry: 1000\n\n"); err != nil {
		return
	}
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		case b := <-ch:
			err = write("data: %s\n\n", b)
		case <-keepalive.C:
			err = write(": keepalive\n\n")
		}
		if err != nil {
			s.cfg.Log.Debug("live page stream ended", "remote", r.RemoteAddr, "error", err)
			return
		}
	}
}

const writeTimeout = 10 * time.Second

// hub shares one sampler among every open stream. The sampler runs only
// while a stream is open; each stream gets the latest snapshot, and a slow
// one skips snapshots instead of holding the others up.
type hub struct {
	cfg     Config
	sample  func(*rates) *Snapshot
	mu      sync.Mutex
	streams map[chan []byte]struct{}
	latest  []byte
	stop    chan struct{} // closed to stop the running sampler; nil when none runs
}

func newHub(cfg Config, sample func(*rates) *Snapshot) *hub {
	return &hub{cfg: cfg, sample: sample, streams: make(map[chan []byte]struct{})}
}

// join adds a stream; ok is false when MaxStreams are open.
func (h *hub) join() (ch <-chan []byte, leave func(), ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.streams) >= h.cfg.MaxStreams {
		return nil, nil, false
	}
	c := make(chan []byte, 1)
	h.streams[c] = struct{}{}
	if h.latest != nil {
		c <- h.latest // a new tab shows something at once
	}
	if h.stop == nil {
		h.stop = make(chan struct{})
		go h.run(h.stop)
	}
	return c, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.streams, c)
		if len(h.streams) == 0 && h.stop != nil {
			close(h.stop)
			h.stop, h.latest = nil, nil
		}
	}, true
}

// streamCount is the number of open streams.
func (h *hub) streamCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.streams)
}

func (h *hub) run(stop <-chan struct{}) {
	r := newRates()
	t := time.NewTicker(h.cfg.Interval)
	defer t.Stop()
	for {
		b, err := json.Marshal(h.sample(r))
		if err != nil {
			h.cfg.Log.Error("live page snapshot", "error", err)
		} else {
			h.publish(stop, b)
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

func (h *hub) publish(stop <-chan struct{}, b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-stop:
		return // every stream has gone; a new sampler may already run
	default:
	}
	h.latest = b
	for c := range h.streams {
		select {
		case <-c: // the stream has not taken the last one: it gets the newer one instead
		default:
		}
		c <- b
	}
}

// Snapshot is what the page shows, as of At.
type Snapshot struct {
	At       int64  `json:"at"`     // milliseconds since the epoch
	Status   string `json:"status"` // "ok", "recovering", "restarting" or "error"
	Message  string `json:"message,omitempty"`
	WindowMS int64  `json:"window_ms,omitempty"`
	// Windows are the last windows, oldest first.
	Windows []Window `json:"windows"`
	// OSTypes are every os_type of Windows, the most requests first.
	OSTypes []string `json:"os_types"`
	Rates   Rates    `json:"rates"`
	Lag     Lag      `json:"lag"`
}

// Window is one window's counts per os_type.
type Window struct {
	Start    int64            `json:"start"`
	End      int64            `json:"end"`
	Final    bool             `json:"final"`
	Reported int32            `json:"reported"`   // input partitions that have closed it
	Sources  int32            `json:"partitions"` // input partitions
	Counts   map[string]int64 `json:"counts"`
	Total    int64            `json:"total"`
}

// Rates are the records per second over the last rateSpan, and the totals
// since the instance started.
type Rates struct {
	Consumed       float64 `json:"consumed_per_s"`
	Late           float64 `json:"late_per_s"`
	Malformed      float64 `json:"malformed_per_s"`
	ConsumedTotal  float64 `json:"consumed_total"`
	LateTotal      float64 `json:"late_total"`
	MalformedTotal float64 `json:"malformed_total"`
	// Span is the time the rates are measured over: 0 until two samples.
	Span float64 `json:"span_s"`
}

// Lag is the consumer lag of each partition this instance owns.
type Lag struct {
	Partitions []PartitionLag `json:"partitions"`
	// Total is the input (parse stage) lag; Behind says it is more than a
	// moment's work.
	Total  int64 `json:"total"`
	Behind bool  `json:"behind"`
	// Progress is how much of the backlog since the service fell behind
	// is done, 0 to 1.
	Progress float64 `json:"progress"`
	// ETASeconds is the time left at the current catch-up pace; -1 when
	// the backlog is not shrinking.
	ETASeconds float64 `json:"eta_s"`
}

// PartitionLag is one owned partition's lag.
type PartitionLag struct {
	Stage     string  `json:"stage"`
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Lag       int64   `json:"lag"`
	Behind    bool    `json:"behind"`
	Progress  float64 `json:"progress"` // of the partition's backlog since it fell behind
}

// sample reads the current instance once.
func (s *Server) sample(r *rates) *Snapshot {
	now := time.Now()
	snap := &Snapshot{At: now.UnixMilli(), Status: "ok", Windows: []Window{}, OSTypes: []string{}}
	src, ok := s.cfg.Current()
	if !ok {
		snap.Status, snap.Message = "restarting", "the service failed and is being started again"
		r.reset()
		return snap
	}
	if src.Metrics != nil {
		if err := r.observe(now, src.Metrics, &snap.Lag); err != nil {
			s.cfg.Log.Warn("live page metrics", "error", err)
		}
		snap.Rates = r.current()
	}
	counts, err := src.Windows("", s.cfg.Last)
	switch {
	case err != nil && src.NotRecovered != nil && errors.Is(err, src.NotRecovered):
		snap.Status, snap.Message = "recovering", err.Error()
		return snap
	case err != nil:
		snap.Status, snap.Message = "error", err.Error()
		return snap
	}
	snap.Windows, snap.OSTypes = group(counts)
	if len(snap.Windows) > 0 {
		snap.WindowMS = snap.Windows[0].End - snap.Windows[0].Start
	}
	return snap
}

// group turns the per-os_type counts into windows, oldest first, and the
// os_types by their total, largest first.
func group(counts []state.WindowCount) ([]Window, []string) {
	var out []Window
	totals := make(map[string]int64)
	for _, c := range counts { // ordered by start, then os_type
		if len(out) == 0 || out[len(out)-1].Start != c.Start {
			out = append(out, Window{Start: c.Start, End: c.End, Final: c.Final, Reported: c.Reported,
				Sources: c.Sources, Counts: make(map[string]int64)})
		}
		w := &out[len(out)-1]
		// Every slot holds a share of a window's os_types; a window is final
		// only when every slot has it final.
		w.Counts[c.OSType] += c.Count
		w.Total += c.Count
		w.Final = w.Final && c.Final
		w.Reported = min(w.Reported, c.Reported)
		totals[c.OSType] += c.Count
	}
	types := make([]string, 0, len(totals))
	for os := range totals {
		types = append(types, os)
	}
	slices.SortFunc(types, func(a, b string) int { return cmp.Or(cmp.Compare(totals[b], totals[a]), strings.Compare(a, b)) })
	if out == nil {
		out = []Window{}
	}
	return out, types
}

// itoa is strconv.Itoa for int32.
func itoa(n int32) string { return strconv.Itoa(int(n)) }
