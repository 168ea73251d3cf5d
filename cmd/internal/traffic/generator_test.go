package traffic

import (
	"bytes"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The two nginx formats, as log_format "main" without and with
// "$http_referer" "$http_user_agent".
var (
	commonRE   = regexp.MustCompile(`^(\d{1,3}(?:\.\d{1,3}){3}) - - \[([^\]]+)\] "(GET|POST|HEAD) (\S+) (HTTP/[0-9.]+)" (\d{3}) (\d+)$`)
	combinedRE = regexp.MustCompile(`^(\d{1,3}(?:\.\d{1,3}){3}) - - \[([^\]]+)\] "(GET|POST|HEAD) (\S+) (HTTP/[0-9.]+)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$`)
)

type parsedLine struct {
	method, target, ts, ua string
	hasUA                  bool
}

func parseLine(t *testing.T, line string) parsedLine {
	t.Helper()
	if m := combinedRE.FindStringSubmatch(line); m != nil {
		return parsedLine{method: m[3], target: m[4], ts: m[2], ua: m[9], hasUA: true}
	}
	if m := commonRE.FindStringSubmatch(line); m != nil {
		return parsedLine{method: m[3], target: m[4], ts: m[2]}
	}
	t.Fatalf("line is neither common nor combined nginx format: %q", line)
	return parsedLine{}
}

// groundTruth derives a line's bucket from its text alone: the os_type
// parameter if present, else the User-Agent rules.
func groundTruth(t *testing.T, p parsedLine) string {
	t.Helper()
	u, err := url.ParseRequestURI(p.target)
	if err != nil {
		t.Fatalf("request target %q: %v", p.target, err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		t.Fatalf("query of %q: %v", p.target, err)
	}
	if vs, ok := q["os_type"]; ok {
		if len(vs) != 1 {
			t.Fatalf("target %q has %d os_type parameters", p.target, len(vs))
		}
		return vs[0]
	}
	return classifyUA(p.ua)
}

func TestLinesCarryTheirGroundTruth(t *testing.T) {
	g := NewGenerator(1)
	base := time.Date(2019, 8, 13, 3, 46, 54, 0, logZone)
	counts := map[string]int{}
	appLines := 0
	const n = 20000
	var buf []byte
	for i := 0; i < n; i++ {
		line, osType := g.Append(buf[:0], base.Add(time.Duration(i)*time.Second))
		buf = line
		p := parseLine(t, string(line))
		if got := groundTruth(t, p); got != osType {
			t.Fatalf("Append returned %q but the line says %q: %s", osType, got, line)
		}
		// Each line must carry exactly one OS signal, or the ground truth
		// would depend on which one a classifier prefers.
		hasParam := strings.Contains(p.target, "os_type=")
		if hasParam == p.hasUA {
			t.Fatalf("line has os_type param: %v, User-Agent: %v; want exactly one: %s", hasParam, p.hasUA, line)
		}
		if hasParam {
			appLines++
		}
		counts[osType]++
	}
	if share := float64(appLines) / n; share < 0.37 || share > 0.43 {
		t.Errorf("os_type-parameter lines = %.3f of all, want about 0.40", share)
	}
	for _, bucket := range []string{"android", "ios", "harmonyos", "windows", "macos", "linux", "chromeos", "bot", "other"} {
		if counts[bucket] == 0 {
			t.Errorf("bucket %q never generated; counts = %v", bucket, counts)
		}
	}
	if counts["android"] < counts["windows"] || counts["ios"] < counts["windows"] {
		t.Errorf("mix is not mobile-heavy: %v", counts)
	}
}

// A server sent AppendRequest's request must log the request the line
// shows, and the lines must be Append's, so that a run to a server and a run
// to a file with the same seed are the same traffic.
func TestAppendRequestIsTheLinesRequest(t *testing.T) {
	a, b := NewGenerator(8), NewGenerator(8)
	var line, reqLine []byte
	for i := range 5000 {
		at := time.Unix(1565639214+int64(i), 0)
		var osType string
		line, osType = a.Append(line[:0], at)
		var req Request
		reqLine, req = b.AppendRequest(reqLine[:0], at)
		if !bytes.Equal(line, reqLine) || osType != req.OSType {
			t.Fatalf("line %d: Append gave %q (%s), AppendRequest %q (%s)", i, line, osType, reqLine, req.OSType)
		}
		p := parseLine(t, string(line))
		ua := p.ua
		if ua == "-" {
			ua = "" // nginx's mark for no User-Agent
		}
		if req.Method != p.method || string(req.Target) != p.target || req.UserAgent != ua {
			t.Fatalf("request %s %q with User-Agent %q, but the line says %s %q with %q: %s",
				req.Method, req.Target, req.UserAgent, p.method, p.target, ua, line)
		}
	}
}

func TestTimestampIsTruncatedInstant(t *testing.T) {
	g := NewGenerator(2)
	ny := time.FixedZone("-0500", -5*60*60)
	times := []time.Time{
		time.Date(2019, 8, 13, 3, 46, 54, 999_999_999, logZone),
		time.Date(2019, 8, 12, 19, 46, 54, 1, time.UTC), // previous day in UTC
		time.Date(2019, 12, 31, 23, 59, 59, 500, ny),    // next year in +0800
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),    // leap day
		time.Unix(0, 0), // epoch
		time.Date(1969, 12, 31, 23, 59, 59, 900, time.UTC), // before the epoch
	}
	for _, want := range times {
		line, _ := g.Append(nil, want)
		p := parseLine(t, string(line))
		got, err := time.Parse("02/Jan/2006:15:04:05 -0700", p.ts)
		if err != nil {
			t.Fatalf("timestamp %q: %v", p.ts, err)
		}
		if !strings.HasSuffix(p.ts, " +0800") {
			t.Errorf("timestamp %q is not in +0800", p.ts)
		}
		if !got.Equal(want.Truncate(time.Second)) {
			t.Errorf("Append(%v) wrote %q = %v, want %v", want, p.ts, got, want.Truncate(time.Second))
		}
	}
}

func TestDeterministicForSeed(t *testing.T) {
	gen := func(seed int64) string {
		g := NewGenerator(seed)
		var all []byte
		for i := 0; i < 500; i++ {
			var osType string
			all, osType = g.Append(all, time.Unix(1565639214+int64(i), 0))
			all = append(all, ' ')
			all = append(all, osType...)
			all = append(all, '\n')
		}
		return string(all)
	}
	if gen(42) != gen(42) {
		t.Error("same seed gave different output")
	}
	if gen(42) == gen(43) {
		t.Error("different seeds gave the same output")
	}
}

func TestAppendKeepsDst(t *testing.T) {
	prefix := []byte("keep me|")
	line, _ := NewGenerator(3).Append(append([]byte(nil), prefix...), time.Unix(1565639214, 0))
	if !bytes.HasPrefix(line, prefix) || len(line) <= len(prefix) {
		t.Fatalf("Append did not extend dst: %q", line)
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	g := NewGenerator(4)
	buf := make([]byte, 0, 1024)
	now := time.Unix(1565639214, 0)
	allocs := testing.AllocsPerRun(1000, func() {
		buf, _ = g.Append(buf[:0], now)
	})
	if allocs != 0 {
		t.Errorf("Append allocates %.1f times per line with a reused buffer, want 0", allocs)
	}
}

func BenchmarkAppend(b *testing.B) {
	g := NewGenerator(5)
	buf := make([]byte, 0, 1024)
	now := time.Unix(1565639214, 0)
	var bytesOut int
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = g.Append(buf[:0], now)
		bytesOut += len(buf)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/line")
	b.ReportMetric(float64(bytesOut)/float64(b.N), "bytes/line")
}
