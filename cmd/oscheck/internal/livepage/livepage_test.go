package livepage

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
