package decode

import (
	"bufio"
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

type realLine struct {
	source string // file:line in the shared logs
	line   string
	want   result // decoded with NewDecoder("came_from")
}

// readRealLines loads testdata/real-lines.txt; its header explains the format.
func readRealLines(t testing.TB) []realLine {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "real-lines.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []realLine
	var cur realLine
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "# "):
			cur = realLine{source: strings.TrimPrefix(l, "# ")}
		case strings.HasPrefix(l, "=>\t"):
			f := strings.Split(l, "\t")
			if len(f) != 4 || cur.line == "" {
				t.Fatalf("malformed expectation after %s: %q", cur.source, l)
			}
			cur.want = ok(f[1], nilMarker(f[2]), nilMarker(f[3]))
			lines = append(lines, cur)
		default:
			cur.line = l
		}
	}
	if len(lines) < 10 {
		t.Fatalf("only %d real lines in testdata", len(lines))
	}
	return lines
}

func nilMarker(s string) string {
	if s == "<nil>" {
		return ""
	}
	return s
}

// envelopes returns a line as every kind of record the decoder accepts.
func envelopes(line string) map[string]string {
	return map[string]string{
		"plain":      line + "\n",
		"connect":    connect(line),
		"bare":       jsonQuote(line),
		"shipper":    `{"@timestamp":"2024-01-01T00:00:00Z","agent":{"type":"filebeat","tags":["a","}"]},"message":` + jsonQuote(line) + `}`,
		"filebeat":   filebeat(`"message":`+jsonQuote(line)+`,`, `"event":{"dataset":"nginx.access","module":"nginx"}`),
		"nginx-json": nginxJSON(line),
	}
}

// nginxJSON returns the object nginx writes for a line's request with
//
//	log_format json escape=json '{"time_iso8601":"$time_iso8601",...}';
//
// where a field logged as "-" has no value, which escape=json writes as "".
// The real lines hold no escapes, which the two formats write differently.
func nginxJSON(line string) string {
	m := oracle.FindStringSubmatch(line)
	if m == nil || strings.Contains(line, `\`) {
		panic("nginxJSON: not an escape-free combined or common line: " + line)
	}
	tm, err := time.Parse("02/Jan/2006:15:04:05 -0700", m[2])
	if err != nil {
		panic(err)
	}
	value := func(v string) string {
		if v == "-" {
			v = ""
		}
		return jsonQuote(v)
	}
	return `{"time_iso8601":"` + tm.Format("2006-01-02T15:04:05-07:00") + `","remote_addr":` + jsonQuote(m[1]) +
		`,"remote_user":"","request":` + jsonQuote(m[3]) + `,"status":` + jsonQuote(m[4]) +
		`,"body_bytes_sent":` + jsonQuote(m[5]) + `,"request_time":"0.012","http_referer":` + value(m[6]) +
		`,"http_user_agent":` + value(m[7]) + `,"http_x_forwarded_for":""}`
}

func TestRealLines(t *testing.T) {
	d := NewDecoder("came_from")
	for _, rl := range readRealLines(t) {
		for kind, record := range envelopes(rl.line) {
			if got := decodeOne(t, d, record); got != rl.want {
				t.Errorf("%s as %s:\n got  %+v\n want %+v", rl.source, kind, got, rl.want)
			}
		}
	}
}

// sharedLogs is where the project keeps the full real logs; the test using
// them is skipped where they are not checked out.
const sharedLogs = "../../../shared/data/access-logs"

// oracle is an independent, slow reading of a combined/common line.
var oracle = regexp.MustCompile(`^(.*?) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\S+) (\S+)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?`)

// Every line of the full shared logs must decode, and agree with a regular
// expression and net/url on every field.
func TestSharedLogsAgreeWithOracle(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedLogs, "*.log"))
	if len(files) == 0 {
		t.Skip("shared access logs not present")
	}
	d := NewDecoder("came_from")
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			n++
			line := sc.Text()
			m := oracle.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("%s:%d: oracle does not match; fix the oracle or the data", file, n)
				continue
			}
			ua := m[7]
			if ua == "-" {
				ua = ""
			}
			want := ok(m[2], "", ua)
			if f := strings.Fields(m[3]); len(f) >= 2 {
				if u, err := url.Parse(f[1]); err == nil {
					if v := u.Query().Get("came_from"); v != "" {
						want.osParam, want.osNil = v, false
					}
				}
			}
			if got := decodeOne(t, d, line); got != want {
				t.Errorf("%s:%d:\n got  %+v\n want %+v", file, n, got, want)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("%s is empty", file)
		}
	}
}

// realRecords returns the testdata lines in one envelope, for benchmarks.
func realRecords(t testing.TB, kind string) [][]byte {
	var records [][]byte
	for _, rl := range readRealLines(t) {
		records = append(records, bytes.Clone([]byte(envelopes(rl.line)[kind])))
	}
	return records
}
