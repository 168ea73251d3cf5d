package main

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oscheck/oscheck/processor/classify"
	"github.com/oscheck/oscheck/processor/decode"
)

// genSummary reads gen's report: the total (lines written, or requests
// answered), then lines per os_type.
func genSummary(t *testing.T, out string) (int, map[string]int) {
	t.Helper()
	m := regexp.MustCompile(`^(?:wrote (\d+) lines|answered (\d+) requests)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("gen printed no total:\n%s", out)
	}
	total, _ := strconv.Atoi(m[1] + m[2])
	perOS := make(map[string]int)
	for _, row := range regexp.MustCompile(`(?m)^(\S+) +(\d+)$`).FindAllStringSubmatch(out, -1) {
		perOS[row[1]], _ = strconv.Atoi(row[2])
	}
	return total, perOS
}

// TestGenToFile writes a counted number of lines flat out and checks that
// the file holds exactly them, each a line oscheck decodes, and that the
// per-os_type report adds up.
func TestGenToFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	var out syncBuffer
	if err := run(context.Background(), []string{"gen", "--rate", "0", "--count", "5000", "--file", path}, &out, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	total, perOS := genSummary(t, out.String())
	sum := 0
	for _, n := range perOS {
		sum += n
	}
	if total != 5000 || sum != 5000 {
		t.Fatalf("report says %d lines, %d per os_type; want 5000:\n%s", total, sum, out.String())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 5000 {
		t.Fatalf("file has %d lines, want 5000", len(lines))
	}
	d := decode.NewDecoder("os_type")
	var req decode.Request
	for i, l := range lines {
		if err := d.Decode([]byte(l), &req); err != nil {
			t.Fatalf("line %d does not decode: %v: %s", i+1, err, l)
		}
	}
}

// TestGenToKafka produces at a rate for a while and checks the topic holds
// what the report says, in Connect envelopes when asked.
func TestGenToKafka(t *testing.T) {
	brokers := startBroker(t, 2, "access_log")
	var out syncBuffer
	start := time.Now()
	err := run(context.Background(), []string{"gen", "--rate", "2000", "--duration", "1s", "--brokers", brokers[0], "--envelope", "connect"}, &out, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	total, _ := genSummary(t, out.String())
	if elapsed := time.Since(start); total == 0 || float64(total) > 2000*elapsed.Seconds()+1 {
		t.Fatalf("wrote %d lines in %v at --rate 2000", total, elapsed)
	}
	c := consume(t, brokers, "access_log")
	got := c.waitFor(total, 20*time.Second)
	if len(got) != total {
		t.Fatalf("topic has %d records, report says %d", len(got), total)
	}
	for _, r := range got {
		if !strings.HasPrefix(string(r.Value), `{"schema":{"type":"string","optional":false},"payload":"`) {
			t.Fatalf("record is not a Connect envelope: %s", r.Value)
		}
	}
}

// TestGenURLToNginx sends requests to a real nginx and checks that its access
// log, decoded and classified as oscheck does, holds exactly the requests gen
// says were answered, per os_type.
func TestGenURLToNginx(t *testing.T) {
	nginx := tool(t, "nginx")
	dir := t.TempDir()
	addr := freeAddr(t)
	logPath := filepath.Join(dir, "access.log")
	startNginx(t, nginx, dir, addr, logPath)

	var out syncBuffer
	if err := run(context.Background(), []string{"gen", "--url", "http://" + addr, "--rate", "0", "--count", "500"}, &out, testWriter{t}); err != nil {
		t.Fatalf("gen: %v\n%s", err, out.String())
	}
	total, perOS := genSummary(t, out.String())
	if total != 500 {
		t.Fatalf("gen says %d requests were answered, want 500:\n%s", total, out.String())
	}
	// nginx logs a request just after answering it: wait for the last lines.
	deadline := time.Now().Add(5 * time.Second)
	for countLines(t, logPath) < total && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != total {
		t.Fatalf("nginx logged %d lines, gen says it answered %d", len(lines), total)
	}
	d, c := decode.NewDecoder("os_type"), classify.New()
	var req decode.Request
	logged := make(map[string]int)
	for i, l := range lines {
		if err := d.Decode([]byte(l), &req); err != nil {
			t.Fatalf("log line %d does not decode: %v: %s", i+1, err, l)
		}
		logged[c.OSType(req.OSParam, req.UserAgent)]++
	}
	if !maps.Equal(logged, perOS) {
		t.Fatalf("per os_type, nginx's log has\n%v\ngen printed\n%v", logged, perOS)
	}
	t.Logf("nginx logged %d requests: %v", total, logged)
}

// seenRequest is what a server sees of a request the generator's line
// records.
type seenRequest struct{ method, target, userAgent string }

// requestRecorder is an HTTP server that records each request it answers.
type requestRecorder struct {
	mu   sync.Mutex
	seen map[seenRequest]int
}

func (rr *requestRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if rr.seen == nil {
		rr.seen = make(map[seenRequest]int)
	}
	// Header.Get would not tell a missing User-Agent from an empty one.
	ua := strings.Join(r.Header["User-Agent"], ",")
	rr.seen[seenRequest{r.Method, r.RequestURI, ua}]++
}

func (rr *requestRecorder) count() int {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	n := 0
	for _, c := range rr.seen {
		n += c
	}
	return n
}

// linesRequests is the request each line of a gen --file run records, by the
// line's own text; nginx's "-" is no User-Agent.
func linesRequests(t *testing.T, path, prefix string) map[seenRequest]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"(\S+) (\S+) HTTP/[0-9.]+" \d+ \d+(?: "[^"]*" "([^"]*)")?$`)
	want := make(map[seenRequest]int)
	for l := range strings.Lines(string(data)) {
		m := re.FindStringSubmatch(strings.TrimSuffix(l, "\n"))
		if m == nil {
			t.Fatalf("line not in nginx's common or combined format: %q", l)
		}
		ua := m[3]
		if ua == "-" {
			ua = ""
		}
		want[seenRequest{m[1], prefix + m[2], ua}]++
	}
	return want
}

// TestGenURLSendsTheLinesRequests checks that gen --url sends the requests
// the lines of gen --file record, with the same seed: method, path and
// query under the URL's prefix, and User-Agent.
func TestGenURLSendsTheLinesRequests(t *testing.T) {
	var rec requestRecorder
	srv := httptest.NewServer(&rec)
	defer srv.Close()
	args := []string{"gen", "--rate", "0", "--count", "2000", "--seed", "42"}

	var urlOut syncBuffer
	if err := run(context.Background(), append(args, "--url", srv.URL+"/edge/"), &urlOut, testWriter{t}); err != nil {
		t.Fatalf("gen --url: %v\n%s", err, urlOut.String())
	}
	path := filepath.Join(t.TempDir(), "access.log")
	var fileOut syncBuffer
	if err := run(context.Background(), append(args, "--file", path), &fileOut, testWriter{t}); err != nil {
		t.Fatalf("gen --file: %v", err)
	}

	answered, urlPerOS := genSummary(t, urlOut.String())
	_, filePerOS := genSummary(t, fileOut.String())
	if answered != 2000 || !maps.Equal(urlPerOS, filePerOS) {
		t.Fatalf("per os_type, gen --url says\n%s\ngen --file says\n%s", urlOut.String(), fileOut.String())
	}
	want := linesRequests(t, path, "/edge")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !maps.Equal(rec.seen, want) {
		for r, n := range want {
			if rec.seen[r] != n {
				t.Errorf("server saw %d of %+v, the lines have %d", rec.seen[r], r, n)
			}
		}
		for r, n := range rec.seen {
			if _, ok := want[r]; !ok {
				t.Errorf("server saw %d of %+v, which no line records", n, r)
			}
		}
	}
}

// TestGenURLRate checks that gen --url keeps to --rate, sends exactly
// --count requests, and for --duration sends no more than the rate allows
// and counts every one the server answered.
func TestGenURLRate(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		var rec requestRecorder
		srv := httptest.NewServer(&rec)
		defer srv.Close()
		var out syncBuffer
		start := time.Now()
		if err := run(context.Background(), []string{"gen", "--url", srv.URL, "--rate", "200", "--count", "100"}, &out, testWriter{t}); err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		answered, _ := genSummary(t, out.String())
		if answered != 100 || rec.count() != 100 {
			t.Fatalf("gen says %d answered, server saw %d; want 100", answered, rec.count())
		}
		if elapsed < 450*time.Millisecond || elapsed > 5*time.Second {
			t.Fatalf("100 requests at --rate 200 took %v, want about 500ms", elapsed)
		}
	})
	t.Run("duration", func(t *testing.T) {
		var rec requestRecorder
		srv := httptest.NewServer(&rec)
		defer srv.Close()
		var out syncBuffer
		start := time.Now()
		if err := run(context.Background(), []string{"gen", "--url", srv.URL, "--rate", "400", "--duration", "500ms"}, &out, testWriter{t}); err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		answered, _ := genSummary(t, out.String())
		if answered == 0 || float64(answered) > 400*elapsed.Seconds()+1 {
			t.Fatalf("%d requests answered in %v at --rate 400", answered, elapsed)
		}
		if rec.count() != answered {
			t.Fatalf("server saw %d requests, gen says %d were answered", rec.count(), answered)
		}
	})
}

// failedCount reads the number of failed requests from gen --url's report.
func failedCount(t *testing.T, out string) int {
	t.Helper()
	m := regexp.MustCompile(`^answered \d+ requests .*, (\d+) failed`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("gen printed no failure count:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// closeWithoutAnswer drops the connection of a request it is given, as a
// crashing server would.
func closeWithoutAnswer(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	conn.Close()
}

// TestGenURLFailures checks that a request the server drops is counted as
// failed, not answered, and makes gen fail; and that gen gives up when most
// requests fail rather than sending all it was asked to.
func TestGenURLFailures(t *testing.T) {
	t.Run("counted", func(t *testing.T) {
		var rec requestRecorder
		var dropped atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost { // not retried by the client, unlike GET
				dropped.Add(1)
				closeWithoutAnswer(t, w)
				return
			}
			rec.ServeHTTP(w, r)
		}))
		defer srv.Close()
		var out syncBuffer
		err := run(context.Background(), []string{"gen", "--url", srv.URL, "--rate", "0", "--count", "150", "--seed", "3"}, &out, testWriter{t})
		if err == nil || !strings.Contains(err.Error(), "requests failed") || errors.Is(err, errGaveUp) {
			t.Fatalf("got %v, want only a count of failed requests", err)
		}
		answered, _ := genSummary(t, out.String())
		failed := failedCount(t, out.String())
		if dropped.Load() == 0 || int64(failed) != dropped.Load() || answered != rec.count() || answered+failed != 150 {
			t.Fatalf("server dropped %d and answered %d requests; gen says %d failed, %d answered:\n%s",
				dropped.Load(), rec.count(), failed, answered, out.String())
		}
	})
	t.Run("gives up", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { closeWithoutAnswer(t, w) }))
		defer srv.Close()
		var out syncBuffer
		err := run(context.Background(), []string{"gen", "--url", srv.URL, "--rate", "0", "--count", "100000"}, &out, io.Discard)
		if !errors.Is(err, errGaveUp) {
			t.Fatalf("got %v, want gen to give up", err)
		}
		if failed := failedCount(t, out.String()); failed < urlGiveUpAfter || failed > urlGiveUpAfter+urlWorkers {
			t.Fatalf("gen gave up after %d failed requests, want %d (and what was in flight)", failed, urlGiveUpAfter)
		}
	})
}

// TestGenURLWaitsForServer starts the server after gen: the refused
// connections are tried again until it listens, and none fails.
func TestGenURLWaitsForServer(t *testing.T) {
	addr := freeAddr(t)
	var rec requestRecorder
	srv := &http.Server{Handler: &rec, ReadHeaderTimeout: 5 * time.Second}
	time.AfterFunc(500*time.Millisecond, func() {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		go srv.Serve(ln)
	})
	defer srv.Close()
	var out syncBuffer
	if err := run(context.Background(), []string{"gen", "--url", "http://" + addr, "--rate", "0", "--count", "50"}, &out, testWriter{t}); err != nil {
		t.Fatalf("gen: %v\n%s", err, out.String())
	}
	if answered, _ := genSummary(t, out.String()); answered != 50 || rec.count() != 50 {
		t.Fatalf("gen says %d answered, server saw %d; want 50", answered, rec.count())
	}
}

// TestGenRejectsBadConfig checks that gen stops before sending anything when
// told two destinations or a bad URL, naming the keys.
func TestGenRejectsBadConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "access.log")
	cases := []struct {
		args []string
		keys []string
	}{
		{[]string{"--url", "http://127.0.0.1:1", "--file", file}, []string{`"url"`, `"file"`}},
		{[]string{"--url", "http://127.0.0.1:1", "--brokers", "127.0.0.1:1"}, []string{`"url"`, `"brokers"`}},
		{[]string{"--file", file, "--brokers", "127.0.0.1:1"}, []string{`"file"`, `"brokers"`}},
		{[]string{"--url", "ftp://example.com"}, []string{`"url"`}},
		{[]string{"--url", "localhost:8080"}, []string{`"url"`}},
		{[]string{"--url", "http://"}, []string{`"url"`}},
		{[]string{"--url", "http://[::1"}, []string{`"url"`}},
		{[]string{"--url", "http://example.com/?os_type=ios"}, []string{`"url"`}},
		{[]string{"--url", "http://127.0.0.1:1", "--disorder", "1s"}, []string{`"disorder"`}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			err := run(context.Background(), append([]string{"gen", "--count", "1"}, c.args...), io.Discard, io.Discard)
			if err == nil {
				t.Fatal("gen accepted it")
			}
			for _, k := range c.keys {
				if !strings.Contains(err.Error(), k) {
					t.Errorf("error %q does not name %s", err, k)
				}
			}
		})
	}
	if _, err := os.Stat(file); err == nil {
		t.Error("gen wrote to --file although the configuration was rejected")
	}
}
