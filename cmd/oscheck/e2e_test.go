package main

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
	"github.com/oscheck/oscheck/cmd/internal/traffic"
	"github.com/oscheck/oscheck/processor/output"
)

// stream is a known input with its ground truth, computed from what the test
// generated, not from anything oscheck computes.
type stream struct {
	records   []*kgo.Record
	malformed map[string]bool // original bytes of every malformed record
	late      int
	counts    map[windowKey]int64
}

// makeStream generates n records over partitions, in Connect envelopes, with
// event time advancing through the windows from start, some out of order
// within grace, some late, some malformed.
func makeStream(n int, partitions int32, start time.Time, span, window, grace time.Duration, seed uint64) stream {
	rng := rand.New(rand.NewPCG(seed, 1))
	gen := traffic.NewGenerator(int64(seed))
	s := stream{malformed: make(map[string]bool), counts: make(map[windowKey]int64)}
	size := window.Milliseconds()
	perPartition := n / int(partitions)
	for p := range partitions {
		watermark := int64(-1 << 62)
		for i := range perPartition {
			at := start.Add(time.Duration(int64(span) * int64(i) / int64(perPartition)))
			switch r := rng.IntN(1000); {
			case r < 3: // malformed: binary garbage, truncated JSON, no timestamp
				id := fmt.Sprintf("%d-%d", p, i) // keeps every malformed record distinct
				bad := [][]byte{
					append([]byte{0xff, 0xfe, 0x00, 0x80}, id...),
					[]byte(`{"schema":{"type":"string","optional":false},"payload":"10.0.0.1 - - [13/Aug/2019:03:4` + id),
					traffic.Envelope(nil, []byte("a line with no timestamp "+id)),
				}[r]
				s.records = append(s.records, &kgo.Record{Topic: "access_log", Partition: p, Value: bad})
				s.malformed[string(bad)] = true
				continue
			case r < 10: // late: well behind the watermark
				at = at.Add(-window - grace - 3*time.Second)
			case r < 150: // out of order within grace
				at = at.Add(-time.Duration(rng.Int64N(int64(grace))))
			}
			line, osType := gen.Append(nil, at)
			s.records = append(s.records, &kgo.Record{Topic: "access_log", Partition: p, Value: traffic.Envelope(nil, line)})

			t := at.Truncate(time.Second).UnixMilli() // the log's timestamp has second resolution
			watermark = max(watermark, t)
			closed := floorTo(watermark-grace.Milliseconds(), size)
			w := floorTo(t, size)
			if w+size <= closed {
				s.late++
				continue
			}
			s.counts[windowKey{osType, w}]++
		}
	}
	return s
}

// checkFinals fails the test unless recs, os-check's records in the order
// read, hold exactly one record per window of want, with its count;
// duplicates are named with their partitions and offsets. With mayRepeat, a
// window may come again, with its count or another, as at-least-once
// processing may write it after a partition moves; its first record must
// still have the count, and the duplicates are logged.
func checkFinals(t *testing.T, recs []*kgo.Record, window time.Duration, want map[truth.Key]int64) {
	t.Helper()
	records := finals(t, recs, window)
	v := truth.Compare(records, want)
	if v.OnePerWindow() {
		return
	}
	at := make(map[truth.Key][]string)
	for i, r := range recs {
		at[records[i].Key] = append(at[records[i].Key], fmt.Sprintf("%d@%d", r.Partition, r.Offset))
	}
	var dups []string
	for _, k := range slices.SortedFunc(maps.Keys(at), func(a, b truth.Key) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), strings.Compare(a.OS, b.OS))
	}) {
		if len(at[k]) > 1 {
			dups = append(dups, fmt.Sprintf("%s@%d at partition@offset %v", k.OS, k.Start, at[k]))
		}
	}
	t.Errorf("os-check (%d records) is not the ground truth (%d windows): %d missing, %d with a wrong count, "+
		"%d unexpected, %d identical and %d conflicting duplicates\nproblems: %v\nwindows emitted more than once:\n  %s",
		len(records), v.Expected, v.Missing, v.WrongCount, v.Unexpected, v.DuplicatesIdentical, v.DuplicatesConflicted,
		v.Problems, strings.Join(dups, "\n  "))
}

// want is the ground truth keyed as truth.Compare keys it.
func (s stream) want() map[truth.Key]int64 {
	want := make(map[truth.Key]int64, len(s.counts))
	for k, n := range s.counts {
		want[truth.Key{OS: k.os, Start: k.start}] = n
	}
	return want
}

func floorTo(t, size int64) int64 {
	q := t / size
	if t%size != 0 && t < 0 {
		q--
	}
	return q * size
}

// TestRunEndToEnd runs `oscheck run` against a broker over the wire and
// compares every os-check record with the ground truth.
func TestRunEndToEnd(t *testing.T) {
	const partitions = 6
	window, grace := 2*time.Second, 2*time.Second
	brokers := startBroker(t, partitions, "access_log")
	start := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	s := makeStream(120_000, partitions, start, 60*time.Second, window, grace, 7)
	produce(t, brokers, s.records)
	windows := len(slices.Compact(slices.Sorted(func(yield func(int64) bool) {
		for k := range s.counts {
			if !yield(k.start) {
				return
			}
		}
	})))
	if windows < 20 || s.late == 0 || len(s.malformed) == 0 {
		t.Fatalf("stream too tame: %d windows, %d late, %d malformed", windows, s.late, len(s.malformed))
	}

	http := freeAddr(t)
	service(t, "--brokers", brokers[0], "--window", window.String(), "--grace", grace.String(),
		"--idle-timeout", "1s", "--http-addr", http, "--format", "kstreams", "--late-topic", "os-check-late")

	awaitFinals(t, brokers, output.KStreams, window, s.want(), 90*time.Second)
	settle(t, brokers, 0, 90*time.Second)
	checkFinals(t, readAll(t, brokers, "os-check"), window, s.want())
	t.Logf("%d records, %d windows over %d window starts, %d late, %d malformed", len(s.records), len(s.counts), windows, s.late, len(s.malformed))

	if late := sum(scrape(t, http, "oscheck_records_late_total")); int(late) != s.late {
		t.Errorf("late records counted: got %v, want %d", late, s.late)
	}
	if bad := sum(scrape(t, http, "oscheck_records_malformed_total")); int(bad) != len(s.malformed) {
		t.Errorf("malformed records counted: got %v, want %d", bad, len(s.malformed))
	}
	written := scrape(t, http, "oscheck_state_value_bytes_count")
	for _, store := range []string{"window-table", "parse-checkpoint"} {
		if written[`store="`+store+`"`] == 0 {
			t.Errorf("oscheck_state_value_bytes saw no %s value written: %v", store, written)
		}
	}
	if n := len(readAll(t, brokers, "os-check-late")); n != s.late {
		t.Errorf("late topic has %d records, want %d", n, s.late)
	}
	dead := readAll(t, brokers, "os-check-streams-dlq")
	if len(dead) != len(s.malformed) {
		t.Errorf("dead-letter topic has %d records, want %d", len(dead), len(s.malformed))
	}
	for _, r := range dead {
		if !s.malformed[string(r.Value)] {
			t.Errorf("dead letter %q is not one of the malformed records", r.Value)
		}
		var reason string
		for _, h := range r.Headers {
			if h.Key == "reason" {
				reason = string(h.Value)
			}
		}
		if reason == "" {
			t.Errorf("dead letter %q has no reason header", r.Value)
		}
	}
}
