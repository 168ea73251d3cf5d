package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestPrometheus runs a real Prometheus scraping `oscheck run` on loopback
// and asks it, in PromQL, for the counts the test fed in; lints a live
// scrape with promtool; and asks the query API for the windows.
func TestPrometheus(t *testing.T) {
	prometheus, promtool := tool(t, "prometheus"), tool(t, "promtool")
	const partitions = 4
	window, grace := 2*time.Second, time.Second
	brokers := startBroker(t, partitions, "access_log")
	s := makeStream(20_000, partitions, time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC), 40*time.Second, window, grace, 23)
	produce(t, brokers, s.records)
	out := consume(t, brokers, "os-check")
	addr, qaddr := freeAddr(t), freeAddr(t)
	service(t, "--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
		"--idle-timeout", "500ms", "--http-addr", addr, "--format", "json", "--query-addr", qaddr, "--admin")
	if got := out.waitFor(len(s.counts), 60*time.Second); len(got) != len(s.counts) {
		t.Fatalf("os-check has %d records, want %d", len(got), len(s.counts))
	}

	perOS := make(map[string]float64)
	for k, n := range s.counts {
		perOS[k.os] += float64(n)
	}
	prom := startPrometheus(t, prometheus, addr)
	prom.await(t, `sum by (os_type) (oscheck_records_counted_total)`, "os_type", perOS)
	prom.await(t, `sum(oscheck_records_consumed_total)`, "", map[string]float64{"": float64(len(s.records))})
	prom.await(t, `sum(oscheck_records_late_total)`, "", map[string]float64{"": float64(s.late)})
	prom.await(t, `sum(oscheck_records_malformed_total)`, "", map[string]float64{"": float64(len(s.malformed))})
	prom.await(t, `sum(oscheck_owned_partitions)`, "", map[string]float64{"": 2 * partitions})
	newest := int64(math.MinInt64)
	for k := range s.counts {
		newest = max(newest, k.start)
	}
	latest := make(map[string]float64)
	for k, n := range s.counts {
		if k.start == newest {
			latest[k.os] = float64(n)
		}
	}
	prom.await(t, `oscheck_latest_window_records`, "os_type", latest)
	prom.await(t, `oscheck_latest_window_start_timestamp_seconds`, "", map[string]float64{"": float64(newest) / 1000})

	// Every series the dashboard reads must be oscheck's: Prometheus'
	// own process_* and go_* series share the names of oscheck's.
	t.Run("dashboard selectors", func(t *testing.T) {
		prom.await(t, `sum(up{job="prometheus"})`, "", map[string]float64{"": 1})
		for _, q := range dashboardQueries(t) {
			names, err := promqlMetricNames(q.expr)
			if err != nil {
				t.Fatalf("panel %q: %v", q.panel, err)
			}
			for _, n := range names {
				for _, m := range regexp.MustCompile(`(?:^|[^A-Za-z0-9_:])(`+regexp.QuoteMeta(n)+`(?:\{[^}]*\})?)(?:[^A-Za-z0-9_:({]|$)`).FindAllStringSubmatch(q.expr, -1) {
					sel := strings.NewReplacer("$__rate_interval", "1m", "$__interval", "1m").Replace(m[1])
					jobs, last := prom.query("count by (job) ("+sel+")", "job")
					if jobs == nil {
						t.Errorf("panel %q: %s: %s", q.panel, sel, last)
					}
					for job := range jobs {
						if job != "oscheck" {
							t.Errorf("panel %q: %s selects job %q's series too: filter job=\"oscheck\"", q.panel, sel, job)
						}
					}
				}
			}
		}
	})

	t.Run("promtool", func(t *testing.T) {
		body := get(t, "http://"+addr+"/metrics", http.StatusOK)
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		got, err := cmd.CombinedOutput()
		if err != nil || len(got) != 0 {
			t.Fatalf("promtool check metrics: %v\n%s", err, got)
		}
	})

	t.Run("windows", func(t *testing.T) {
		// On query-addr only: the query API can sit apart from the
		// metrics and probes.
		get(t, "http://"+addr+"/windows?last=1", http.StatusNotFound)
		get(t, "http://"+addr+"/admin/", http.StatusNotFound)
		get(t, "http://"+qaddr+"/metrics", http.StatusNotFound)
		addr := qaddr
		var all windowsAnswer
		getJSON(t, "http://"+addr+"/windows?last=1000", &all)
		got := make(map[windowKey]int64)
		for _, w := range all.Windows {
			if !w.Final || w.End-w.Start != window.Milliseconds() {
				t.Errorf("window %+v: want a final window of %v", w, window)
			}
			got[windowKey{w.OSType, w.Start}] = w.Count
		}
		if !maps.Equal(got, s.counts) {
			t.Errorf("/windows?last=1000 has %d windows, want the %d of the ground truth:\n got %v\nwant %v",
				len(got), len(s.counts), got, s.counts)
		}

		var starts []int64
		for k := range s.counts {
			if k.os == "android" {
				starts = append(starts, k.start)
			}
		}
		slices.Sort(starts)
		var android windowsAnswer
		getJSON(t, "http://"+addr+"/windows?os=android&last=5", &android)
		if len(android.Windows) != 5 {
			t.Fatalf("/windows?os=android&last=5 has %d windows: %+v", len(android.Windows), android.Windows)
		}
		for i, w := range android.Windows {
			want := starts[len(starts)-5+i]
			if w.OSType != "android" || w.Start != want || w.Count != s.counts[windowKey{"android", want}] {
				t.Errorf("window %d: got %+v, want android@%d = %d", i, w, want, s.counts[windowKey{"android", want}])
			}
		}
		for _, bad := range []string{"os=an%20droid", "last=0", "last=x", "last=10001"} {
			get(t, "http://"+addr+"/windows?"+bad, http.StatusBadRequest)
		}
	})

	t.Run("goka pages", func(t *testing.T) {
		addr := qaddr
		for _, page := range []string{"/admin/", "/admin/monitor/", "/admin/monitor/processor/0", "/admin/monitor/processor/1",
			"/admin/query/", "/admin/query/window-table/"} {
			get(t, "http://"+addr+page, http.StatusOK)
		}
		get(t, "http://"+addr+"/admin/monitor/processor/2", http.StatusNotFound) // goka's monitor would panic
		var stats struct{ Group map[string]any }
		getJSON(t, "http://"+addr+"/admin/monitor/data/processor/0", &stats)
		if len(stats.Group) != partitions {
			t.Errorf("goka monitor shows %d partitions of the parse stage, want %d", len(stats.Group), partitions)
		}
	})
}

// TestReadyz holds the consumer groups' SyncGroup in the broker: /readyz is
// 503 until the stages have their partitions, 200 after, and 503 again when
// the brokers stop answering new connections.
func TestReadyz(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "access_log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	release := make(chan struct{})
	c.ControlKey(kmsg.SyncGroup.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		c.SleepControl(func() { <-release })
		return nil, nil, false
	})
	addr := freeAddr(t)
	service(t, "--brokers", c.ListenAddrs()[0], "--http-addr", addr)

	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) { // wait for the server
		if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range 20 {
		body := get(t, "http://"+addr+"/readyz", http.StatusServiceUnavailable)
		if !strings.Contains(string(body), "stage") {
			t.Fatalf("/readyz while joining: %q does not say which stage waits", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := sum(scrape(t, addr, "oscheck_owned_partitions")); n != 0 {
		t.Fatalf("%v partitions owned before the groups synced", n)
	}
	get(t, "http://"+addr+"/healthz", http.StatusOK)

	close(release)
	awaitStatus(t, addr, http.StatusOK, "")
	if n := sum(scrape(t, addr, "oscheck_owned_partitions")); n != 6 {
		t.Errorf("%v partitions owned when ready, want 3 per stage", n)
	}

	// Refuse new connections' first request: only the broker probe opens
	// connections while the service runs.
	var refuse atomic.Bool
	refuse.Store(true)
	c.ControlKey(kmsg.ApiVersions.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if refuse.Load() {
			return nil, fmt.Errorf("refused by the test"), true
		}
		return nil, nil, false
	})
	awaitStatus(t, addr, http.StatusServiceUnavailable, "brokers unreachable since")
	if up := sum(scrape(t, addr, "oscheck_broker_up")); up != 0 {
		t.Errorf("oscheck_broker_up = %v while the broker refuses", up)
	}
	refuse.Store(false)
	awaitStatus(t, addr, http.StatusOK, "")
}

// awaitStatus polls /readyz until it answers status with a body containing
// want, for up to 30 s.
func awaitStatus(t *testing.T, addr string, status int, want string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		if resp.StatusCode == status && strings.Contains(string(body), want) {
			return
		}
	}
	t.Fatalf("/readyz did not answer %d %q within 30 s; last: %s", status, want, last)
}

func get(t *testing.T, u string, status int) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d %s, want %d", u, resp.StatusCode, body, status)
	}
	return body
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	if err := json.Unmarshal(get(t, u, http.StatusOK), v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// promServer is a Prometheus server the test started.
type promServer struct{ addr string }

// startPrometheus runs Prometheus scraping target every second, until the
// test ends.
func startPrometheus(t *testing.T, bin, target string) *promServer {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	p := &promServer{addr: freeAddr(t)}
	// Prometheus scrapes itself too, as deploy/prometheus/prometheus.yml
	// has it: its own process_* and go_* series sit beside oscheck's.
	conf := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: oscheck\n    static_configs:\n      - targets: [%q]\n"+
		"  - job_name: prometheus\n    static_configs:\n      - targets: [%q]\n", target, p.addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+p.addr, "--log.level=warn")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})
	return p
}

// await polls an instant query until its result, keyed by the value of
// label ("" for a single unlabelled series), equals want, for up to 60 s.
func (p *promServer) await(t *testing.T, query, label string, want map[string]float64) {
	t.Helper()
	var got map[string]float64
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got, last = p.query(query, label)
		if maps.Equal(got, want) {
			return
		}
	}
	t.Fatalf("Prometheus: %s\n got  %v (%s)\n want %v", query, got, last, want)
}

func (p *promServer) query(query, label string) (map[string]float64, string) {
	resp, err := http.Get("http://" + p.addr + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, err.Error()
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err.Error()
	}
	if r.Status != "success" {
		return nil, r.Error
	}
	out := make(map[string]float64)
	for _, s := range r.Data.Result {
		v, _ := s.Value[1].(string)
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Sprintf("sample %q: %v", v, err)
		}
		out[s.Metric[label]] = f
	}
	return out, r.Status
}
