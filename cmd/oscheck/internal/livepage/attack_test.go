package livepage

// Attacks on the live page: its server side (streams, sampler, shutdown,
// methods, the snapshot endpoint) at the unit level, and what the page's
// script renders from hostile but valid snapshots in headless Chromium.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/state"
)

// ---- browser helpers --------------------------------------------------------

func attackChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed")
	}
	t.Skip("chromium is not installed")
	return ""
}

// openPage opens url in headless Chromium and returns the tab's context.
func openPage(t *testing.T, url string) context.Context {
	t.Helper()
	chromium := attackChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1200, 1500))...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	return bctx
}

// evalUntil evaluates js until ok accepts its value, and returns it.
func evalUntil[T any](t *testing.T, bctx context.Context, js string, ok func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v, err := chromedp.Run(bctx, chromedp.Evaluate[T](js))
		if err != nil {
			t.Fatalf("evaluating: %v", err)
		}
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never got there; last value %+v", v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (f *fakeService) set(c []state.WindowCount) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts = c
}

// ---- rendering: os_types that are names of Object.prototype's members -------

// An os_type is any 1 to 32 bytes of [A-Za-z0-9._-] (classify.IsOSType), so a
// client can send ?os_type=constructor. The page reads w.counts[os] || 0: for
// a window without that os_type, counts["constructor"] is Object's
// constructor function, not undefined, and the page prints NaN (and lists it
// in the open window, and hands a function to uPlot).
func TestAttackPrototypeNamedOSTypesShowZero(t *testing.T) {
	f := newFake()
	var counts []state.WindowCount
	hostile := []string{"__proto__", "constructor", "hasOwnProperty", "toString", "valueOf"}
	for i, os := range hostile {
		counts = append(counts, state.WindowCount{OSType: os, Start: 2000, End: 4000, Count: int64(i + 1), Final: true, Reported: 2, Sources: 2})
	}
	counts = append(counts,
		state.WindowCount{OSType: "android", Start: 2000, End: 4000, Count: 10, Final: true, Reported: 2, Sources: 2},
		state.WindowCount{OSType: "android", Start: 4000, End: 6000, Count: 7, Final: true, Reported: 2, Sources: 2},
		state.WindowCount{OSType: "android", Start: 6000, End: 8000, Count: 3, Final: false, Reported: 1, Sources: 2})
	f.set(counts)
	srv, _ := startServer(t, f, Config{Interval: 100 * time.Millisecond})
	bctx := openPage(t, srv.URL+"/")

	type row struct {
		Start int64             `json:"start"`
		Cells map[string]string `json:"cells"`
	}
	type page struct {
		Rows []row    `json:"rows"`
		Open []string `json:"open"`
		Body string   `json:"body"`
	}
	st := evalUntil(t, bctx, `(() => ({
	  rows: [...document.querySelectorAll("#windows tbody tr")].map((tr) => ({ start: Number(tr.dataset.start),
	    cells: Object.fromEntries([...tr.querySelectorAll("td[data-os]")].map((td) => [td.dataset.os, td.textContent])) })),
	  open: [...document.querySelectorAll(".open-window li")].map((li) => li.textContent),
	  body: document.body.innerText,
	}))()`, func(p page) bool { return len(p.Rows) == 3 })
	for _, r := range st.Rows {
		if r.Start == 2000 {
			continue
		}
		for _, os := range hostile {
			if got := r.Cells[os]; got != "0" {
				t.Errorf("window %d, os_type %q (no records in it): the table shows %q, want 0", r.Start, os, got)
			}
		}
	}
	if len(st.Open) != 1 || st.Open[0] != "android: 3" {
		t.Errorf("open window's list: %q, want only [\"android: 3\"]", st.Open)
	}
	if strings.Contains(st.Body, "NaN") {
		t.Errorf("the page shows NaN")
	}
}

// ---- rendering: colours ------------------------------------------------------

// README: "the colours are the Okabe-Ito set, with dashes past eight
// os_types"; page.js: "so any number of os_types stays apart". With the
// default max-os-types 16 plus the 8 built-in buckets a window can hold 24
// os_types, and the page shows the union of 60 windows. Past 16 the
// (colour, dash) pairs repeat, so two lines (and their legend entries) look
// the same; the table's swatches repeat from the 9th.
func TestAttackSeriesStayApartPastSixteen(t *testing.T) {
	f := newFake()
	var counts []state.WindowCount
	const n = 20
	for i := range n {
		counts = append(counts, state.WindowCount{OSType: fmt.Sprintf("os%02d", i), Start: 2000, End: 4000,
			Count: int64(1000 - i), Final: true, Reported: 1, Sources: 1})
	}
	f.set(counts)
	srv, _ := startServer(t, f, Config{Interval: 100 * time.Millisecond})
	bctx := openPage(t, srv.URL+"/")
	type entry struct {
		Label  string `json:"label"`
		Marker string `json:"marker"`
	}
	legend := evalUntil(t, bctx, `[...document.querySelectorAll(".u-legend .u-series")].slice(1).map((tr) => {
	  const m = getComputedStyle(tr.querySelector(".u-marker"));
	  return { label: tr.querySelector(".u-label").textContent, marker: m.borderColor + " " + m.borderStyle };
	})`, func(e []entry) bool { return len(e) == n })
	seen := map[string]string{}
	for _, e := range legend {
		if other, dup := seen[e.Marker]; dup {
			t.Errorf("legend: %s and %s have the same line (%s)", other, e.Label, e.Marker)
		}
		seen[e.Marker] = e.Label
	}
	swatches := evalUntil(t, bctx, `[...document.querySelectorAll("#windows thead th")].slice(3).map((th) =>
	  [th.textContent, getComputedStyle(th.querySelector(".swatch")).cssText || th.querySelector(".swatch").getAttribute("style")])`,
		func(s [][2]string) bool { return len(s) == n })
	seenSwatch := map[string]string{}
	for _, s := range swatches {
		if other, dup := seenSwatch[s[1]]; dup {
			t.Errorf("table: the swatches of %s and %s are the same (%s)", other, s[0], s[1])
		}
		seenSwatch[s[1]] = s[0]
	}
}

// An os_type's colour is its rank by total: when two os_types swap ranks
// (ios overtakes android), their lines, legend entries and swatches swap
// colours under the reader's eyes, and the chart is rebuilt (any series the
// reader hid comes back).
func TestAttackColourStaysWithOSType(t *testing.T) {
	f := newFake()
	window := func(android, ios int64) []state.WindowCount {
		return []state.WindowCount{
			{OSType: "android", Start: 2000, End: 4000, Count: android, Final: true, Reported: 1, Sources: 1},
			{OSType: "ios", Start: 2000, End: 4000, Count: ios, Final: true, Reported: 1, Sources: 1},
		}
	}
	f.set(window(10, 5))
	srv, _ := startServer(t, f, Config{Interval: 100 * time.Millisecond})
	bctx := openPage(t, srv.URL+"/")
	const swatchOf = `(() => { for (const th of document.querySelectorAll("#windows thead th"))
	  if (th.textContent === "android") return th.querySelector(".swatch").style.background + "|" +
	    document.querySelector("#windows tbody td[data-os=android]").textContent; return ""; })()`
	before := evalUntil(t, bctx, swatchOf, func(s string) bool { return strings.HasSuffix(s, "|10") })
	f.set(window(5, 10))
	after := evalUntil(t, bctx, swatchOf, func(s string) bool { return strings.HasSuffix(s, "|5") })
	if b, a := strings.Split(before, "|")[0], strings.Split(after, "|")[0]; a != b {
		t.Errorf("android's colour changed from %s to %s when ios overtook it", b, a)
	}
}

// ---- keyboard ----------------------------------------------------------------

// uPlot's legend hides and shows a series on click; nothing there takes
// keyboard focus, so the control is mouse-only.
func TestAttackLegendTogglesReachableByKeyboard(t *testing.T) {
	f := newFake()
	f.set([]state.WindowCount{{OSType: "android", Start: 2000, End: 4000, Count: 3, Final: true, Reported: 1, Sources: 1}})
	srv, _ := startServer(t, f, Config{Interval: 100 * time.Millisecond})
	bctx := openPage(t, srv.URL+"/")
	type res struct {
		Toggles   bool `json:"toggles"`
		Focusable bool `json:"focusable"`
	}
	r := evalUntil(t, bctx, `(() => {
	  const tr = document.querySelectorAll(".u-legend .u-series")[1];
	  if (!tr) return null;
	  const before = tr.classList.contains("u-off");
	  tr.querySelector(".u-label").dispatchEvent(new MouseEvent("click", { bubbles: true }));
	  const toggles = tr.classList.contains("u-off") !== before;
	  if (toggles) tr.querySelector(".u-label").dispatchEvent(new MouseEvent("click", { bubbles: true }));
	  const focusable = [tr, ...tr.querySelectorAll("*")].some((e) => e.tabIndex >= 0);
	  return { toggles, focusable };
	})()`, func(r *res) bool { return r != nil })
	if r.Toggles && !r.Focusable {
		t.Errorf("a click on a legend entry hides its series, but no part of the entry is reachable with Tab")
	}
}

// ---- server: /live/snapshot.json ---------------------------------------------

// /live/snapshot.json builds each answer with fresh rates (newRates()), so
// for scripts the rates are always 0 ("measuring"), and while the service is
// behind, the catch-up progress is always 0 and the ETA always -1 ("not
// shrinking"), however fast the backlog shrinks.
func TestAttackSnapshotJSONHasRates(t *testing.T) {
	f := newFake()
	consumed := prometheus.NewCounter(prometheus.CounterOpts{Name: metricConsumed})
	f.reg.MustRegister(consumed)
	srv, _ := startServer(t, f, Config{Interval: 50 * time.Millisecond})
	lag := 100_000.0
	var last Snapshot
	for range 8 {
		consumed.Add(1000)
		lag -= 5000
		f.lag.WithLabelValues("parse", "access_log", "0").Set(lag)
		resp, err := http.Get(srv.URL + "/live/snapshot.json")
		if err != nil {
			t.Fatal(err)
		}
		last = Snapshot{}
		err = json.NewDecoder(resp.Body).Decode(&last)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if last.Rates.Span == 0 || last.Rates.Consumed == 0 {
		t.Errorf("after 1.6 s of 5,000 records a second, snapshot.json's rates: %+v", last.Rates)
	}
	if last.Lag.ETASeconds < 0 || last.Lag.Progress == 0 {
		t.Errorf("a backlog shrinking by 25,000 a second: snapshot.json says progress %v, eta %v", last.Lag.Progress, last.Lag.ETASeconds)
	}
}

// ---- server: methods ---------------------------------------------------------

// / answers 405 to a POST; /live/events and /live/snapshot.json accept any
// method, so a POST opens a stream (and takes one of the 32).
func TestAttackEventsAndSnapshotAreGetOnly(t *testing.T) {
	srv, _ := startServer(t, newFake(), Config{})
	for _, path := range []string{"/live/events", "/live/snapshot.json"} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader("x"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			resp.Body.Close()
			cancel()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: status %d, want 405", method, path, resp.StatusCode)
			}
		}
	}
}

// ---- server: shutdown --------------------------------------------------------

// After the server's context is done (SIGTERM; the service drains for up to
// shutdown-timeout, 30 s, with the HTTP server still up), every open tab
// reconnects once a second (retry: 1000), and each reconnection is answered
// 200, starts the sampler again and reads the view, to end at once.
func TestAttackNoStreamsAfterTheServerStops(t *testing.T) {
	f := newFake()
	srv, stop := startServer(t, f, Config{Interval: 20 * time.Millisecond})
	stop()
	before := f.calls.Load()
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/live/events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		resp.Body.Close()
		cancel()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("/live/events after the server stopped: 200, an empty stream the browser reopens a second later; want 503")
			break
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := f.calls.Load() - before; n > 0 {
		t.Errorf("after the server stopped, opening streams read the view %d times", n)
	}
}

// A stream whose browser stopped reading (a frozen tab, a dead network)
// blocks in Write; it ends with the server's context only once writeTimeout
// (10 s) runs out, and holds an HTTP server's graceful shutdown that long.
func TestAttackStalledStreamEndsWithTheServer(t *testing.T) {
	f := newFake()
	// Big snapshots, so that the socket buffers fill soon.
	var counts []state.WindowCount
	for w := range 60 {
		for i := range 300 {
			counts = append(counts, state.WindowCount{OSType: fmt.Sprintf("os-type-number-%04d", i), Start: int64(w) * 2000,
				End: int64(w)*2000 + 2000, Count: 123456789, Final: true, Reported: 1, Sources: 1})
		}
	}
	f.set(counts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := New(ctx, Config{Current: f.current, Interval: 5 * time.Millisecond})
	mux := http.NewServeMux()
	s.Mount(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /live/events HTTP/1.1\r\nHost: x\r\n\r\n")
	// Read the headers, then stop reading.
	br := bufio.NewReaderSize(conn, 512)
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, "200") {
		t.Fatalf("status line %q, %v", line, err)
	}
	// Give the server time to fill the buffers and block in Write.
	time.Sleep(3 * time.Second)
	if s.hub.streamCount() != 1 {
		t.Fatalf("streams: %d, want 1", s.hub.streamCount())
	}
	cancel()
	began := time.Now()
	for s.hub.streamCount() > 0 {
		if time.Since(began) > 15*time.Second {
			t.Fatal("the stalled stream never ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("a stalled stream ended %v after the server's context was done, want at once", d.Round(100*time.Millisecond))
	}
}

// ---- server: the one sampler -------------------------------------------------

// Each time the last stream goes and one comes again, join starts a new
// sampler while the old one may still be in its read of the view: with a
// slow view, connect/disconnect cycles (a page's 5 s quiet reconnect, or a
// client on purpose) pile up samplers reading the view at the same time.
func TestAttackChurnKeepsOneSampler(t *testing.T) {
	release := make(chan struct{})
	var inFlight, maxInFlight atomic.Int64
	slow := func(string, int) ([]state.WindowCount, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		return nil, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := New(ctx, Config{Current: func() (Source, bool) { return Source{Windows: slow}, true }, Interval: 20 * time.Millisecond})
	mux := http.NewServeMux()
	s.Mount(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base := runtime.NumGoroutine()
	for range 5 {
		sctx, scancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(sctx, http.MethodGet, srv.URL+"/live/events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		scancel()
		resp.Body.Close()
		for s.hub.streamCount() > 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if m := maxInFlight.Load(); m > 1 {
		t.Errorf("%d samplers read the view at once after 5 connect/disconnect cycles, want 1", m)
	}
	close(release)
	// Once the view answers, nothing is left behind.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > base+2 {
		t.Errorf("goroutines: %d after, %d before", g, base)
	}
}

// ---- held: these pass; they pin what the attack found sound -----------------

// Many connect/disconnect cycles leave no goroutine behind and stop the
// sampler; a stream that never reads neither blocks the sampler nor the
// other streams; the 33rd stream is answered 503 with Retry-After.
func TestAttackHeldStreamsBoundedAndNoLeak(t *testing.T) {
	f := newFake()
	f.set([]state.WindowCount{{OSType: "android", Start: 2000, End: 4000, Count: 3, Final: true, Reported: 1, Sources: 1}})
	srv, _ := startServer(t, f, Config{Interval: 10 * time.Millisecond})
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()
	for range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		ch, _ := stream(t, ctx, srv.URL)
		next(t, ch)
		cancel()
	}
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base+3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > base+3 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d after 200 cycles, %d before\n%s", g, base, buf[:runtime.Stack(buf, true)])
	}
	n := f.calls.Load()
	time.Sleep(200 * time.Millisecond)
	if f.calls.Load() != n {
		t.Errorf("the sampler still runs with no stream open")
	}

	// 31 streams that never read, one that does, and a 33rd refused.
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 31 {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /live/events HTTP/1.1\r\nHost: x\r\n\r\n")
		conns = append(conns, c)
	}
	time.Sleep(500 * time.Millisecond) // the 31 have joined
	deadline = time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithCancel(context.Background())
		ch, resp := stream(t, ctx, srv.URL)
		if resp.StatusCode == http.StatusOK {
			for range 20 {
				next(t, ch) // the sampler is not held up by the 31 that do not read
			}
			_, resp33 := stream(t, ctx, srv.URL)
			if resp33.StatusCode != http.StatusServiceUnavailable || resp33.Header.Get("Retry-After") == "" {
				t.Errorf("the 33rd stream: %d, Retry-After %q", resp33.StatusCode, resp33.Header.Get("Retry-After"))
			}
			cancel()
			break
		}
		cancel()
		if time.Now().After(deadline) {
			t.Fatalf("the 32nd stream: %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
