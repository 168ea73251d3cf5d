package main

import (
	"bufio"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var liveMetrics struct {
	once  sync.Once
	names map[string]bool
	err   string
}

// liveMetricNames returns the name of every series a running `oscheck run`
// serves on /metrics once it has counted, emitted, dead-lettered and dropped
// late records: metric family names, and for histograms and summaries the
// names of their _bucket, _sum and _count series. It runs the service once
// per test binary.
func liveMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	liveMetrics.once.Do(func() {
		// The service's own cleanup belongs to the test that first asks;
		// the names outlive it.
		brokers := startBroker(t, 2, "access_log")
		window, grace := 2*time.Second, time.Second
		s := makeStream(2_000, 2, time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC), 20*time.Second, window, grace, 11)
		produce(t, brokers, s.records)
		out := consume(t, brokers, "os-check")
		addr := freeAddr(t)
		service(t, "--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
			"--idle-timeout", "500ms", "--http-addr", addr)
		if got := out.waitFor(len(s.counts), 60*time.Second); len(got) < len(s.counts) {
			liveMetrics.err = "the service emitted too few windows to have served every metric"
			return
		}
		names, err := metricNames("http://" + addr + "/metrics")
		if err != nil {
			liveMetrics.err = err.Error()
			return
		}
		liveMetrics.names = names
	})
	if liveMetrics.err != "" {
		t.Fatal(liveMetrics.err)
	}
	return liveMetrics.names
}

// metricNames reads the # TYPE lines of a text exposition.
func metricNames(url string) (map[string]bool, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	names := make(map[string]bool)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || f[0] != "#" || f[1] != "TYPE" {
			continue
		}
		names[f[2]] = true
		switch f[3] {
		case "histogram":
			names[f[2]+"_bucket"] = true
			fallthrough
		case "summary":
			names[f[2]+"_sum"], names[f[2]+"_count"] = true, true
		}
	}
	return names, sc.Err()
}

// TestMetricsDocumented: README's metrics table and what a live service
// serves name the same oscheck_ metrics.
func TestMetricsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(readme), "### Metrics\n")
	table, _, _ = strings.Cut(table, "\n\n")
	documented := make(map[string]bool)
	for _, m := range regexp.MustCompile("(?m)^\\| `(oscheck_[a-z_]+)`").FindAllStringSubmatch(table, -1) {
		documented[m[1]] = true
	}
	served := liveMetricNames(t)
	for name := range documented {
		if !served[name] {
			t.Errorf("README documents %s, which the service does not serve", name)
		}
	}
	for name := range served {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if strings.HasPrefix(name, "oscheck_") && !documented[name] && !documented[base] {
			t.Errorf("the service serves %s, which README's metrics table does not document", name)
		}
	}
	if len(documented) < 15 {
		t.Errorf("README's metrics table names %d metrics", len(documented))
	}
}

// TestMetricUnits: every oscheck_ metric names its unit, in the plural, as
// Prometheus' naming rules ask (a lag "oscheck_consumer_lag" could be
// offsets, records or seconds), except a state and an up gauge, which are
// enumerations.
func TestMetricUnits(t *testing.T) {
	units := []string{"_total", "_seconds", "_bytes", "_offsets", "_records", "_partitions", "_windows"}
	unitless := map[string]bool{"oscheck_processor_state": true, "oscheck_broker_up": true}
	for name := range liveMetricNames(t) {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if !strings.HasPrefix(name, "oscheck_") || base != name || unitless[name] {
			continue
		}
		if !slices.ContainsFunc(units, func(u string) bool { return strings.HasSuffix(name, u) }) {
			t.Errorf("%s names no unit (one of %v)", name, units)
		}
	}
}
