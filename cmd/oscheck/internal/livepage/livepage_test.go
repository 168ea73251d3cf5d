package livepage

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/state"
)

// fakeService is a Source whose windows and metrics the test sets.
type fakeService struct {
	mu      sync.Mutex
	counts  []state.WindowCount
	err     error
	calls   atomic.Int64
	reg     *prometheus.Registry
	lag     *prometheus.GaugeVec
	late    prometheus.Counter
	running atomic.Bool
}

var errNotRecovered = errors.New("recovering")

func newFake() *fakeService {
	f := &fakeService{reg: prometheus.NewRegistry()}
	f.lag = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricLag}, []string{"stage", "topic", "partition"})
	f.late = prometheus.NewCounter(prometheus.CounterOpts{Name: metricLate})
	f.reg.MustRegister(f.lag, f.late)
	f.running.Store(true)
	return f
}

func (f *fakeService) windows(string, int) ([]state.WindowCount, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]state.WindowCount(nil), f.counts...), f.err
}

func (f *fakeService) current() (Source, bool) {
	if !f.running.Load() {
		return Source{}, false
	}
	return Source{Windows: f.windows, Metrics: f.reg, NotRecovered: errNotRecovered}, true
}

func startServer(t *testing.T, f *fakeService, cfg Config) (*httptest.Server, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Current = f.current
	if cfg.Interval == 0 {
		cfg.Interval = 20 * time.Millisecond
	}
	mux := http.NewServeMux()
	New(ctx, cfg).Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { cancel(); srv.Close() })
	return srv, cancel
}

// stream opens /live/events and returns its snapshots, one per receive.
func stream(t *testing.T, ctx context.Context, url string) (<-chan Snapshot, *http.Response) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/live/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan Snapshot)
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		close(out)
		return out, resp
	}
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var s Snapshot
			if err := json.Unmarshal([]byte(data), &s); err != nil {
				t.Errorf("snapshot %q: %v", data, err)
				return
			}
			select {
			case out <- s:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, resp
}

func next(t *testing.T, ch <-chan Snapshot) Snapshot {
	t.Helper()
	select {
	case s, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended")
		}
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no snapshot within 10s")
	}
	return Snapshot{}
}

func TestStreamShowsWindowsAndStatus(t *testing.T) {
	f := newFake()
	f.counts = []state.WindowCount{
		{OSType: "android", Start: 2000, End: 4000, Count: 5, Final: true, Reported: 2, Sources: 2},
		{OSType: "ios", Start: 2000, End: 4000, Count: 7, Final: true, Reported: 2, Sources: 2},
		// One window in two slots: final in one, open in the other, so
		// open, with the fewer partitions reported.
		{OSType: "android", Start: 4000, End: 6000, Count: 1, Final: true, Reported: 2, Sources: 2},
		{OSType: "ios", Start: 4000, End: 6000, Count: 2, Final: false, Reported: 1, Sources: 2},
	}
	srv, _ := startServer(t, f, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, _ := stream(t, ctx, srv.URL)
	s := next(t, ch)
	if s.Status != "ok" || s.WindowMS != 2000 || len(s.Windows) != 2 {
		t.Fatalf("snapshot: %+v", s)
	}
	if w := s.Windows[0]; !w.Final || w.Total != 12 || w.Counts["ios"] != 7 {
		t.Errorf("first window: %+v", w)
	}
	if w := s.Windows[1]; w.Final || w.Reported != 1 || w.Total != 3 {
		t.Errorf("second window: %+v", w)
	}
	if strings.Join(s.OSTypes, ",") != "ios,android" {
		t.Errorf("os_types by total: %v", s.OSTypes)
	}

	f.mu.Lock()
	f.err = errNotRecovered
	f.mu.Unlock()
	for s = next(t, ch); s.Status != "recovering"; s = next(t, ch) {
	}
	f.running.Store(false)
	for s = next(t, ch); s.Status != "restarting"; s = next(t, ch) {
	}
}

func TestStreamsShareOneSamplerAndAreBounded(t *testing.T) {
	f := newFake()
	srv, _ := startServer(t, f, Config{MaxStreams: 2, Interval: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, _ := stream(t, ctx, srv.URL)
	b, _ := stream(t, ctx, srv.URL)
	if _, resp := stream(t, ctx, srv.URL); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a third stream past MaxStreams 2: status %d, want 503", resp.StatusCode)
	}
	before := f.calls.Load()
	for range 10 {
		next(t, a)
		next(t, b)
	}
	// Each stream got 10 snapshots; one sampler made them, so about 10
	// reads of the view, not 20 (a few more for the ones a stream skipped).
	if n := f.calls.Load() - before; n > 15 {
		t.Errorf("%d reads of the view for 10 snapshots on each of 2 streams: the streams do not share them", n)
	}
	cancel()
	// Once every stream has gone, the sampler stops.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := f.calls.Load()
		time.Sleep(200 * time.Millisecond)
		if f.calls.Load() == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sampler still reads the view with no stream open")
		}
	}
}

func TestStreamsEndWithTheServer(t *testing.T) {
	f := newFake()
	srv, stop := startServer(t, f, Config{})
	ch, _ := stream(t, context.Background(), srv.URL)
	next(t, ch)
	stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the stream did not end when the server's context did")
		}
	}
}

func TestLagProgressAndETA(t *testing.T) {
	f := newFake()
	r := newRates()
	at := time.Unix(1000, 0)
	var lag Lag
	observe := func(d time.Duration, p0, p1 float64) {
		t.Helper()
		f.lag.WithLabelValues("parse", "access_log", "0").Set(p0)
		f.lag.WithLabelValues("parse", "access_log", "1").Set(p1)
		f.lag.WithLabelValues("window", "rep", "0").Set(1)
		lag = Lag{}
		if err := r.observe(at.Add(d), f.reg, &lag); err != nil {
			t.Fatal(err)
		}
	}
	observe(0, 6000, 4000)
	if !lag.Behind || lag.Total != 10_000 || lag.Progress != 0 || lag.ETASeconds != -1 {
		t.Errorf("at the start of a backlog: %+v", lag)
	}
	observe(5*time.Second, 3000, 2000)
	if lag.Total != 5000 || lag.Progress != 0.5 || lag.ETASeconds != 5 {
		t.Errorf("half way, 1000 records a second: %+v", lag)
	}
	if p := lag.Partitions; len(p) != 3 || p[0].Stage != "parse" || p[0].Progress != 0.5 || !p[0].Behind || p[2].Behind {
		t.Errorf("partitions: %+v", p)
	}
	observe(10*time.Second, 10, 0)
	if lag.Behind || lag.Progress != 1 {
		t.Errorf("caught up: %+v", lag)
	}
}

func TestAssetsEmbeddedSmallAndOffline(t *testing.T) {
	var total int64
	err := fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		if strings.HasSuffix(path, ".html") || strings.HasSuffix(path, ".css") || path == "assets/page.js" {
			b, _ := assets.ReadFile(path)
			// Every URL the page loads is its own: no CDN, works offline.
			if m := regexp.MustCompile(`(src|href)="(https?:)?//`).Find(b); m != nil {
				t.Errorf("%s loads from another host: %s", path, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("embedded assets: %d bytes", total)
	if total > 200<<10 {
		t.Errorf("embedded assets are %d bytes, over 200 KB", total)
	}
	srv, _ := startServer(t, newFake(), Config{})
	for path, typ := range map[string]string{
		"/":                                    "text/html",
		"/live/page.js":                        "text/javascript",
		"/live/vendor/uplot/uPlot.iife.min.js": "text/javascript",
		"/live/vendor/uplot/LICENSE":           "text/plain",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), typ) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	resp, err := http.Get(srv.URL + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/nothing: status %d, want 404", resp.StatusCode)
	}
}

// Past MaxSeries os_types, the smallest are summed under RestKey, and every
// window's total is unchanged.
func TestGroupSumsTheRestPastMaxSeries(t *testing.T) {
	var counts []state.WindowCount
	for w := range 2 {
		for i := range MaxSeries + 6 {
			counts = append(counts, state.WindowCount{OSType: fmt.Sprintf("os%02d", i), Start: int64(w) * 2000, End: int64(w)*2000 + 2000,
				Count: int64(100 - i), Final: true, Reported: 1, Sources: 1})
		}
	}
	ws, types, rest := group(counts)
	if len(types) != MaxSeries || types[MaxSeries-1] != RestKey || types[0] != "os00" || len(rest) != 7 || rest[0] != "os23" {
		t.Fatalf("types %v, rest %v", types, rest)
	}
	for _, w := range ws {
		var sum int64
		for _, n := range w.Counts {
			sum += n
		}
		if len(w.Counts) != MaxSeries || sum != w.Total || w.Counts[RestKey] != 77+76+75+74+73+72+71 {
			t.Errorf("window %d: %d counts summing to %d of %d, rest %d", w.Start, len(w.Counts), sum, w.Total, w.Counts[RestKey])
		}
	}
	if _, types, rest := group(counts[:MaxSeries]); len(types) != MaxSeries || rest != nil {
		t.Errorf("exactly MaxSeries os_types: types %v, rest %v", types, rest)
	}
}

// The footer names /windows and /metrics only where the mux serving the
// page serves them.
func TestFooterLinksOnlyWhatTheMuxServes(t *testing.T) {
	for _, metrics := range []bool{false, true} {
		mux := http.NewServeMux()
		if metrics {
			mux.HandleFunc("/metrics", func(http.ResponseWriter, *http.Request) {})
		}
		New(context.Background(), Config{Current: newFake().current}).Mount(mux)
		srv := httptest.NewServer(mux)
		resp, err := http.Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if got := strings.Contains(string(b), `href="/metrics"`); got != metrics {
			t.Errorf("mux serves /metrics %v: the page links it %v", metrics, got)
		}
		if strings.Contains(string(b), `href="/windows"`) || strings.Contains(string(b), "<!--") {
			t.Errorf("the page links /windows, or keeps its placeholder, on a mux without it")
		}
	}
}

// With more os_types than MaxSeries the chart and the table show 24 series
// that all look different, the table says what the summed one holds; Enter
// on a legend entry hides its line, and a new os_type (a new chart) keeps
// it hidden and keeps the focus on the entry.
func TestPageRestSeriesAndKeyboardLegend(t *testing.T) {
	f := newFake()
	var counts []state.WindowCount
	for i := range MaxSeries + 6 {
		counts = append(counts, state.WindowCount{OSType: fmt.Sprintf("os%02d", i), Start: 2000, End: 4000,
			Count: int64(100 - i), Final: true, Reported: 1, Sources: 1})
	}
	f.set(counts)
	srv, _ := startServer(t, f, Config{Interval: 100 * time.Millisecond})
	bctx := openPage(t, srv.URL+"/")
	type page struct {
		Markers []string `json:"markers"`
		Heads   []string `json:"heads"`
		Rest    string   `json:"rest"`
		Cell    string   `json:"cell"`
	}
	p := evalUntil(t, bctx, `(() => ({
	  markers: [...document.querySelectorAll(".u-legend .u-series")].slice(1).map((tr) => {
	    const m = getComputedStyle(tr.querySelector(".u-marker")); return m.borderColor + " " + m.borderStyle; }),
	  heads: [...document.querySelectorAll("#windows thead th")].slice(3).map((th) => th.textContent),
	  rest: document.getElementById("rest-note").hidden ? "" : document.getElementById("rest-note").textContent,
	  cell: (document.querySelector('#windows tbody td[data-os="(rest)"]') || {}).textContent || "",
	}))()`, func(p page) bool { return len(p.Markers) == MaxSeries && p.Rest != "" })
	seen := map[string]bool{}
	for _, m := range p.Markers {
		if seen[m] {
			t.Errorf("two legend entries look the same: %s", m)
		}
		seen[m] = true
	}
	if p.Heads[len(p.Heads)-1] != "7 more os_types" || p.Cell != "518" || !strings.Contains(p.Rest, "os23, os24, os25, os26, os27, os28, os29") {
		t.Errorf("the summed series: header %q, cell %q, note %q", p.Heads[len(p.Heads)-1], p.Cell, p.Rest)
	}

	type legend struct {
		Off     bool   `json:"off"`
		Pressed string `json:"pressed"`
		Focus   string `json:"focus"`
	}
	const entryJS = `(() => { const th = [...document.querySelectorAll(".u-legend .u-series th[data-os]")].find((th) => th.dataset.os === "os01");
	  return th ? { off: th.parentElement.classList.contains("u-off"), pressed: th.getAttribute("aria-pressed"),
	    focus: document.activeElement.dataset.os || "" } : null; })()`
	if err := chromedp.Do(bctx, chromedp.Focus(`.u-legend th[data-os="os01"]`), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	evalUntil(t, bctx, entryJS, func(l *legend) bool { return l != nil && l.Off && l.Pressed == "false" && l.Focus == "os01" })
	f.set(append(counts, state.WindowCount{OSType: "new", Start: 2000, End: 4000, Count: 1000, Final: true, Reported: 1, Sources: 1}))
	evalUntil(t, bctx, `document.querySelectorAll('.u-legend th[data-os="new"]').length`, func(n int) bool { return n == 1 })
	if l := evalUntil(t, bctx, entryJS, func(l *legend) bool { return l != nil }); !l.Off || l.Pressed != "false" || l.Focus != "os01" {
		t.Errorf("after a new os_type rebuilt the chart, os01's entry: %+v, want still hidden and focused", l)
	}
}
