package main

import (
	"testing"
	"time"

	"github.com/oscheck/oscheck/processor/decode"
)

func testStream() (*stream, Options) {
	o := Options{Lines: 5000, Partitions: 4, Windows: 50, TailWindows: 60, HoldBack: true, LateEvery: 100, Malformed: 20,
		Window: 2 * time.Second, Grace: 2 * time.Second, Seed: 4}
	return newStream(o, time.Date(2019, 8, 14, 0, 0, 0, 0, time.UTC)), o
}

// TestStreamHoldsBack checks the held-back partition's part of the stream:
// it has no record of the tail but its own, which start past every window of
// the rest and are then late, every one.
func TestStreamHoldsBack(t *testing.T) {
	s, o := testStream()
	held := o.Partitions - 1
	in := make([][][]byte, o.Partitions)
	for i, r := range s.records {
		if i >= s.tail && r.p == held {
			t.Fatalf("a tail record on the held-back partition %d", held)
		}
		in[r.p] = append(in[r.p], r.v)
	}
	if len(in[held]) < o.Lines/int(o.Partitions) {
		t.Errorf("the held-back partition has %d records of the main stream, want its share", len(in[held]))
	}
	without := s.truth(in, o.Window, o.Grace)
	for _, r := range s.held {
		if r.p != held {
			t.Fatalf("a held record on partition %d, want %d", r.p, held)
		}
		in[r.p] = append(in[r.p], r.v)
	}
	if first := s.index[hash(s.held[0].v)].t; first < s.end+o.Grace.Milliseconds() {
		t.Errorf("the held-back partition starts at %d, before the stream's end %d plus grace", first, s.end)
	}
	with := s.truth(in, o.Window, o.Grace)
	if with.late-without.late != heldLate || len(with.counts) != len(without.counts)+1 {
		t.Errorf("the held-back partition adds %d late records and %d windows, want %d and 1",
			with.late-without.late, len(with.counts)-len(without.counts), heldLate)
	}
	if without.late == 0 || with.malformed != o.Malformed || with.unknown != 0 {
		t.Errorf("input %d late, %d malformed, %d unknown; want some, %d, 0", without.late, with.malformed, with.unknown, o.Malformed)
	}
}

// TestMalformedRecords checks that every malformed record of the stream is
// one oscheck's decoder rejects, and how the dead-letter topic is judged.
func TestMalformedRecords(t *testing.T) {
	s, o := testStream()
	var bad [][]byte
	dec := decode.NewDecoder("os_type")
	for _, r := range s.records {
		if s.malformed[hash(r.v)] {
			bad = append(bad, r.v)
			var req decode.Request
			if err := dec.Decode(r.v, &req); err == nil {
				t.Errorf("malformed record %q decodes", r.v)
			}
		}
	}
	if len(bad) != o.Malformed {
		t.Fatalf("%d malformed records, want %d", len(bad), o.Malformed)
	}
	if d := s.deadLetters(bad); d != (dlq{Sent: o.Malformed, Records: o.Malformed}) {
		t.Errorf("every one once: %+v", d)
	}
	got := append(append([][]byte{}, bad[1:]...), bad[2], s.records[0].v)
	if d := s.deadLetters(got); d != (dlq{Sent: o.Malformed, Records: o.Malformed + 1, Missing: 1, Duplicates: 1, Unexpected: 1}) {
		t.Errorf("one missing, one twice, one not malformed: %+v", d)
	}
}
