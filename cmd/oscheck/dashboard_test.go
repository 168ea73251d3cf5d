package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// TestPrometheusConfig checks deploy/prometheus/prometheus.yml with
// promtool, and that its oscheck job scrapes exactly the compose file's
// oscheck services, at the port of their http-addr.
func TestPrometheusConfig(t *testing.T) {
	promtool := tool(t, "promtool")
	file := filepath.Join(deployRoot, "deploy", "prometheus", "prometheus.yml")
	if out, err := exec.Command(promtool, "check", "config", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	var conf struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(readText(t, file)), &conf); err != nil {
		t.Fatal(err)
	}
	c := loadCompose(t)
	want := make(map[string]bool)
	for _, name := range c.oscheckServices() {
		want[net.JoinHostPort(name, deployedConfig(t, name, c.services[name].env).httpPort(t))] = true
	}
	if len(want) == 0 {
		t.Fatal("the compose file has no oscheck services")
	}
	got := make(map[string]bool)
	jobs := 0
	for _, sc := range conf.ScrapeConfigs {
		if sc.JobName != "oscheck" {
			continue
		}
		jobs++
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			t.Errorf("job oscheck: metrics_path %q, oscheck serves /metrics", sc.MetricsPath)
		}
		for _, s := range sc.StaticConfigs {
			for _, target := range s.Targets {
				got[target] = true
			}
		}
	}
	if jobs != 1 {
		t.Fatalf("%d scrape jobs named oscheck, want 1", jobs)
	}
	if !maps.Equal(got, want) {
		t.Errorf("job oscheck scrapes %v, want the compose file's oscheck services %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	prom := c.services["prometheus"]
	if prom == nil {
		t.Fatal("no prometheus service")
	}
	confPath := "/etc/prometheus/prometheus.yml"
	for _, a := range prom.command {
		if v, ok := strings.CutPrefix(a, "--config.file="); ok {
			confPath = v
		}
	}
	if got := prom.hostFile(t, confPath); filepath.Clean(got) != filepath.Clean(file) {
		t.Errorf("prometheus reads %s from %s, not %s", confPath, got, file)
	}
}

// TestGrafanaDashboard checks the provisioning and the dashboard: every
// query uses the provisioned data source and only metrics a running oscheck
// serves.
func TestGrafanaDashboard(t *testing.T) {
	c := loadCompose(t)
	grafana := c.services["grafana"]
	if grafana == nil {
		t.Fatal("no grafana service")
	}
	dsFile := filepath.Join(deployRoot, "deploy", "grafana", "provisioning", "datasources", "prometheus.yml")
	providerFile := filepath.Join(deployRoot, "deploy", "grafana", "provisioning", "dashboards", "oscheck.yml")
	dashFile := filepath.Join(deployRoot, "deploy", "grafana", "dashboards", "oscheck.json")
	for file, dir := range map[string]string{dsFile: "/etc/grafana/provisioning/datasources", providerFile: "/etc/grafana/provisioning/dashboards"} {
		if got := grafana.containerPath(file); path.Dir(got) != dir {
			t.Errorf("grafana sees %s at %q, want it in %s", file, got, dir)
		}
	}

	var ds struct {
		Datasources []struct {
			Name, UID, Type, URL string
			IsDefault            bool `yaml:"isDefault"`
		}
	}
	if err := yaml.Unmarshal([]byte(readText(t, dsFile)), &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds.Datasources) != 1 || ds.Datasources[0].UID == "" || ds.Datasources[0].Type != "prometheus" {
		t.Fatalf("%s: want one prometheus data source with a uid, have %+v", dsFile, ds.Datasources)
	}
	uid := ds.Datasources[0].UID
	if u, err := url.Parse(ds.Datasources[0].URL); err != nil || c.services[u.Hostname()] == nil || u.Hostname() != "prometheus" || u.Port() != "9090" {
		t.Errorf("data source URL %q is not the prometheus service's port 9090", ds.Datasources[0].URL)
	}

	var providers struct {
		Providers []struct {
			Type    string
			Options struct{ Path string }
		}
	}
	if err := yaml.Unmarshal([]byte(readText(t, providerFile)), &providers); err != nil {
		t.Fatal(err)
	}
	if len(providers.Providers) != 1 || providers.Providers[0].Type != "file" {
		t.Fatalf("%s: want one file provider, have %+v", providerFile, providers.Providers)
	}
	if got := grafana.containerPath(dashFile); path.Dir(got) != providers.Providers[0].Options.Path {
		t.Errorf("grafana sees the dashboard at %q, but the provider reads %s", got, providers.Providers[0].Options.Path)
	}

	var dash struct {
		UID, Title string
		Refresh    string
		Panels     []dashPanel
	}
	if err := json.Unmarshal([]byte(readText(t, dashFile)), &dash); err != nil {
		t.Fatalf("%s: %v", dashFile, err)
	}
	if dash.UID == "" || dash.Title == "" {
		t.Errorf("dashboard uid %q title %q: both are needed", dash.UID, dash.Title)
	}
	used := make(map[string][]string) // metric → the panels that query it
	ids := make(map[int]string)
	queried := 0
	var walk func([]dashPanel)
	walk = func(panels []dashPanel) {
		for _, p := range panels {
			if other, dup := ids[p.ID]; dup {
				t.Errorf("panels %q and %q have the same id %d", other, p.Title, p.ID)
			}
			ids[p.ID] = p.Title
			walk(p.Panels)
			if p.Type == "row" || p.Type == "text" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no queries", p.Title)
			}
			queried++
			for _, q := range p.Targets {
				for _, d := range []*dashDatasource{p.Datasource, q.Datasource} {
					if d != nil && d.UID != uid {
						t.Errorf("panel %q: data source uid %q, the provisioned one is %q", p.Title, d.UID, uid)
					}
				}
				if p.Datasource == nil && q.Datasource == nil {
					t.Errorf("panel %q: query %s names no data source", p.Title, q.RefID)
				}
				names, err := promqlMetricNames(q.Expr)
				if err != nil {
					t.Errorf("panel %q: %q: %v", p.Title, q.Expr, err)
				}
				if len(names) == 0 {
					t.Errorf("panel %q: query %q uses no metric", p.Title, q.Expr)
				}
				for _, n := range names {
					used[n] = append(used[n], p.Title)
				}
			}
		}
	}
	walk(dash.Panels)
	if t.Failed() {
		t.FailNow()
	}

	served := liveMetricNames(t)
	var missing []string
	for _, n := range slices.Sorted(maps.Keys(used)) {
		if !served[n] {
			missing = append(missing, fmt.Sprintf("%s (panels %q)", n, slices.Compact(used[n])))
		}
	}
	if len(missing) > 0 {
		t.Errorf("the dashboard queries metrics oscheck does not serve (%d):\n  %s", len(missing), strings.Join(missing, "\n  "))
	}
	t.Logf("%d panels query %d metrics: %v", queried, len(used), slices.Sorted(maps.Keys(used)))
}

type dashDatasource struct{ Type, UID string }

type dashQuery struct{ panel, expr string }

// dashboardQueries returns every query of the Grafana dashboard.
func dashboardQueries(t *testing.T) []dashQuery {
	t.Helper()
	var dash struct{ Panels []dashPanel }
	if err := json.Unmarshal([]byte(readText(t, filepath.Join(deployRoot, "deploy", "grafana", "dashboards", "oscheck.json"))), &dash); err != nil {
		t.Fatal(err)
	}
	var qs []dashQuery
	var walk func([]dashPanel)
	walk = func(panels []dashPanel) {
		for _, p := range panels {
			walk(p.Panels)
			for _, q := range p.Targets {
				qs = append(qs, dashQuery{p.Title, q.Expr})
			}
		}
	}
	walk(dash.Panels)
	if len(qs) == 0 {
		t.Fatal("the dashboard has no queries")
	}
	return qs
}

type dashPanel struct {
	ID         int
	Type       string
	Title      string
	Datasource *dashDatasource
	Targets    []struct {
		RefID      string `json:"refId"`
		Expr       string
		Datasource *dashDatasource
	}
	Panels []dashPanel // a collapsed row's
}

// TestPromQLMetricNames checks the extractor TestGrafanaDashboard relies on.
func TestPromQLMetricNames(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
		err  bool
	}{
		{expr: `sum by (os_type) (rate(oscheck_records_counted_total[1m]))`, want: []string{"oscheck_records_counted_total"}},
		{expr: `histogram_quantile(0.99, sum by (le) (rate(oscheck_window_emit_latency_seconds_bucket[1m])))`,
			want: []string{"oscheck_window_emit_latency_seconds_bucket"}},
		{expr: `sum(rate(a_sum{job="x", le=~"0.5|by(zz)"}[5m] offset 1h)) / on(instance) group_left(os_type) sum without (stage) (b_count)`,
			want: []string{"a_sum", "b_count"}},
		{expr: `max by (instance, stage, state) (oscheck_processor_state) == bool 1`, want: []string{"oscheck_processor_state"}},
		{expr: `label_replace(up, "dst", "$1", "src", "(.*)") and ignoring(x) process_resident_memory_bytes unless vector(0)`,
			want: []string{"process_resident_memory_bytes", "up"}},
		{expr: `rate(foo:bar_total[$__rate_interval]) * 1e3 + Inf - ${x} / .5`, want: []string{"foo:bar_total"}},
		{expr: `sum(x) by (os_type) > 0 or sum(rate(y[1m:10s])) without(stage)`, want: []string{"x", "y"}},
		{expr: "topk(3, count_over_time({__name__=`z`}[1h])) @ start()", want: nil},
		{expr: `rat(foo[1m])`, err: true},
		{expr: `sum(rate(foo[1m])`, err: true},
	} {
		got, err := promqlMetricNames(c.expr)
		if (err != nil) != c.err || !slices.Equal(got, c.want) {
			t.Errorf("promqlMetricNames(%q) = %q, %v; want %q, error %v", c.expr, got, err, c.want, c.err)
		}
	}
}

// promqlFunctions are PromQL's functions and aggregation operators.
var promqlFunctions = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes
		clamp clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg delta deriv
		double_exponential_smoothing exp floor histogram_avg histogram_count histogram_fraction histogram_quantile
		histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase info irate label_join label_replace
		last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month pi predict_linear
		present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh sort sort_by_label sort_by_label_desc
		sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time timestamp vector year start end
		sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio`) {
		promqlFunctions[f] = true
	}
}

var (
	promqlVariable = regexp.MustCompile(`\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*`)
	promqlString   = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promqlRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlLabels   = regexp.MustCompile(`(?i)\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlToken    = regexp.MustCompile(`[0-9][0-9A-Za-z_.]*|\.[0-9][0-9A-Za-z_]*|[A-Za-z_:][A-Za-z0-9_:]*`)
	promqlKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "offset": true, "bool": true, "and": true, "or": true, "unless": true, "atan2": true,
		"inf": true, "nan": true}
)

// promqlMetricNames returns the metric names a PromQL expression (with
// Grafana's $variables) selects, sorted. It strips string literals, label
// matchers, ranges, label lists, numbers and keywords; a name followed by
// "(" must be a PromQL function.
func promqlMetricNames(expr string) ([]string, error) {
	e := promqlVariable.ReplaceAllString(expr, " ")
	e = promqlString.ReplaceAllString(e, " ")
	if strings.Count(e, "(") != strings.Count(e, ")") {
		return nil, errors.New("unbalanced parentheses")
	}
	e = promqlMatchers.ReplaceAllString(e, " ")
	e = promqlRange.ReplaceAllString(e, " ")
	e = promqlLabels.ReplaceAllString(e, " ")
	var names []string
	for _, loc := range promqlToken.FindAllStringIndex(e, -1) {
		tok := e[loc[0]:loc[1]]
		if c := tok[0]; c >= '0' && c <= '9' || c == '.' {
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(e[loc[1]:], " \t\n"), "(") {
			if !promqlFunctions[tok] {
				return nil, fmt.Errorf("%s( is no PromQL function", tok)
			}
			continue
		}
		if promqlKeywords[strings.ToLower(tok)] {
			continue
		}
		names = append(names, tok)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// ---- small helpers
