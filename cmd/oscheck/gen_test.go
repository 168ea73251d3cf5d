package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oscheck/oscheck/processor/decode"
)

// genSummary reads gen's report: the total, then lines per os_type.
func genSummary(t *testing.T, out string) (int, map[string]int) {
	t.Helper()
	m := regexp.MustCompile(`^wrote (\d+) lines`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("gen printed no total:\n%s", out)
	}
	total, _ := strconv.Atoi(m[1])
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
