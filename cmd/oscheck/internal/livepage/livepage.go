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
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
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

	// sem lets one snapshot be taken at a time, for the streams or for
	// /live/snapshot.json: the view is read once at a time whatever asks,
	// and rates, last and lastAt are the holder's.
	sem    chan struct{}
	rates  *rates
	last   []byte
	lastAt time.Time
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
	s := &Server{cfg: cfg, static: http.FileServerFS(sub), ctx: ctx, sem: make(chan struct{}, 1), rates: newRates()}
	s.hub = newHub(ctx, cfg, func() ([]byte, error) { return s.snapshot(ctx, 0) })
	return s
}

// Mount adds the page to mux: / (exactly), /live/ (assets), /live/events
// (the stream) and /live/snapshot.json (one snapshot, for scripts). All but
// / answer GET (and HEAD) only; / says 405 itself.
func (s *Server) Mount(mux *http.ServeMux) {
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { s.serveIndex(w, r, mux) })
	mux.Handle("GET /live/", http.StripPrefix("/live/", s.assetHandler()))
	mux.HandleFunc("GET /live/events", s.serveEvents)
	mux.HandleFunc("GET /live/snapshot.json", s.serveSnapshot)
}

// footerLinks are the other pages the footer names when the mux that
// serves the page serves them too: with query-addr set, /metrics is on
// http-addr, not beside the page.
var footerLinks = []string{"/windows", "/metrics"}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var links []string
	for _, path := range footerLinks {
		probe := &http.Request{Method: http.MethodGet, Host: r.Host, URL: &url.URL{Path: path}, Header: http.Header{}}
		if _, pattern := mux.Handler(probe); pattern != "" {
			links = append(links, fmt.Sprintf(`<a href="%s">%s</a>`, path, path))
		}
	}
	also := ""
	if len(links) > 0 {
		also = " Also: " + strings.Join(links, ", ") + "."
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(bytes.Replace(b, []byte("<!--also-->"), []byte(also), 1))
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

// snapshot samples the running instance, one caller at a time, with the
// one long-lived rates; a snapshot younger than maxAge is answered again
// instead (0: always a new one). It gives up when ctx ends first.
func (s *Server) snapshot(ctx context.Context, maxAge time.Duration) ([]byte, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()
	if maxAge > 0 && s.last != nil && time.Since(s.lastAt) < maxAge {
		return s.last, nil
	}
	b, err := json.Marshal(s.sample(s.rates))
	if err != nil {
		return nil, err
	}
	s.last, s.lastAt = b, time.Now()
	return b, nil
}

// serveSnapshot answers the latest snapshot (the streams' when they run,
// at most an interval old), with the same rates the page shows.
func (s *Server) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	b, err := s.snapshot(r.Context(), s.cfg.Interval)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(b, '\n'))
}

// serveEvents streams snapshots as Server-Sent Events until the browser
// goes, the server stops, or a write stalls for writeTimeout.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	ch, leave, err := s.hub.join()
	if err != nil {
		w.Header().Set("Retry-After", "5")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer leave()
	rc := http.NewResponseController(w)
	// A write blocked on a browser that stopped reading ends when the
	// server stops, not writeTimeout later.
	defer context.AfterFunc(s.ctx, func() { _ = rc.SetWriteDeadline(time.Now()) })()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // a proxy such as nginx must not buffer the stream
	w.WriteHeader(http.StatusOK)
	write := func(f string, a ...any) error {
		// A browser that stops reading (a frozen tab, a dead network) must
		// not keep this goroutine and its connection forever.
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		// The server may have stopped since the select, and its deadline
		// of now been replaced by the one just set.
		if err := s.ctx.Err(); err != nil {
			return err
		}
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
// one skips snapshots instead of holding the others up. There is never
// more than one sampler goroutine: one that finds no stream left when its
// sample is done ends, and a stream that comes while it samples keeps it.
type hub struct {
	cfg     Config
	ctx     context.Context
	sample  func() ([]byte, error)
	mu      sync.Mutex
	streams map[chan []byte]struct{}
	latest  []byte
	running bool          // the sampler goroutine runs
	idle    chan struct{} // the last stream has gone: the sampler need not wait for its tick
}

func newHub(ctx context.Context, cfg Config, sample func() ([]byte, error)) *hub {
	return &hub{cfg: cfg, ctx: ctx, sample: sample, streams: make(map[chan []byte]struct{}), idle: make(chan struct{}, 1)}
}

// join adds a stream; it fails when MaxStreams are open or the server has
// stopped.
func (h *hub) join() (ch <-chan []byte, leave func(), err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx.Err() != nil {
		return nil, nil, errors.New("the service is stopping")
	}
	if len(h.streams) >= h.cfg.MaxStreams {
		return nil, nil, fmt.Errorf("too many live streams (at most %d)", h.cfg.MaxStreams)
	}
	c := make(chan []byte, 1)
	h.streams[c] = struct{}{}
	if h.latest != nil {
		c <- h.latest // a new tab shows something at once
	}
	select {
	case <-h.idle: // a stream is here again
	default:
	}
	if !h.running {
		h.running = true
		go h.run()
	}
	return c, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.streams, c)
		if len(h.streams) == 0 {
			h.latest = nil
			select {
			case h.idle <- struct{}{}:
			default:
			}
		}
	}, nil
}

// streamCount is the number of open streams.
func (h *hub) streamCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.streams)
}

func (h *hub) run() {
	t := time.NewTicker(h.cfg.Interval)
	defer t.Stop()
	for {
		h.mu.Lock()
		if len(h.streams) == 0 || h.ctx.Err() != nil {
			h.running, h.latest = false, nil
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		b, err := h.sample()
		switch {
		case err == nil:
			h.publish(b)
		case h.ctx.Err() == nil:
			h.cfg.Log.Error("live page snapshot", "error", err)
		}
		select {
		case <-h.ctx.Done():
		case <-h.idle:
		case <-t.C:
		}
	}
}

func (h *hub) publish(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.streams) == 0 {
		return // every stream has gone while this one was taken
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
	// OSTypes are the os_types of Windows, the most requests first: all
	// of them up to MaxSeries, else the MaxSeries-1 largest and RestKey,
	// under which each window's Counts sums the os_types of Rest.
	OSTypes []string `json:"os_types"`
	// Rest are the os_types summed under RestKey, the most requests first.
	Rest  []string `json:"rest,omitempty"`
	Rates Rates    `json:"rates"`
	Lag   Lag      `json:"lag"`
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
	snap.Windows, snap.OSTypes, snap.Rest = group(counts)
	if len(snap.Windows) > 0 {
		snap.WindowMS = snap.Windows[0].End - snap.Windows[0].Start
	}
	return snap
}

// MaxSeries bounds the os_types a snapshot shows apart: the page has as
// many lines that look different (8 colours, 3 dash patterns), and a
// window table can hold more os_types than a chart can show.
const MaxSeries = 24

// RestKey is the key the os_types past MaxSeries are summed under; it is
// not an os_type (those are [A-Za-z0-9._-]), so no os_type can take it.
const RestKey = "(rest)"

// group turns the per-os_type counts into windows, oldest first, and the
// os_types by their total, largest first; past MaxSeries, the smallest are
// summed under RestKey and returned as rest.
func group(counts []state.WindowCount) (windows []Window, types, rest []string) {
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
	types = make([]string, 0, len(totals))
	for os := range totals {
		types = append(types, os)
	}
	slices.SortFunc(types, func(a, b string) int { return cmp.Or(cmp.Compare(totals[b], totals[a]), strings.Compare(a, b)) })
	if len(types) > MaxSeries {
		types, rest = append(types[:MaxSeries-1:MaxSeries-1], RestKey), types[MaxSeries-1:]
		for i := range out {
			var sum int64
			for _, os := range rest {
				if n, ok := out[i].Counts[os]; ok {
					sum += n
					delete(out[i].Counts, os)
				}
			}
			out[i].Counts[RestKey] = sum
		}
	}
	if out == nil {
		out = []Window{}
	}
	return out, types, rest
}

// itoa is strconv.Itoa for int32.
func itoa(n int32) string { return strconv.Itoa(int(n)) }
