package main

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
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

func growingStream() (*stream, Options) {
	o := Options{Lines: 20_000, Partitions: 4, GrowTo: 12, Windows: 100, TailWindows: 60, HoldBack: true, LateEvery: 100,
		Malformed: 20, Window: 2 * time.Second, Grace: 2 * time.Second, Seed: 6}
	return newStream(o, time.Date(2019, 8, 14, 0, 0, 0, 0, time.UTC)), o
}

// TestTruthStreamGrows checks the growth scenario's stream: the growth 30
// to 40% into the main stream, no record on a partition before it exists,
// every partition used after, and one right answer whenever oscheck learns
// of the growth (checkGrowth), though one line in a hundred is late; and
// that the truth applies the growth frontier to the new partitions.
func TestTruthStreamGrows(t *testing.T) {
	s, o := growingStream()
	if s.grow < s.tail*30/100 || s.grow > s.tail*40/100 {
		t.Errorf("growth after %d of %d main-stream records, want 30 to 40%%", s.grow, s.tail)
	}
	if err := s.checkGrowth(o.Window, o.Grace); err != nil {
		t.Fatal(err)
	}
	in := make([][][]byte, o.GrowTo)
	for i, r := range slices.Concat(s.records, s.held) {
		if i < s.grow && r.p >= o.Partitions {
			t.Fatalf("record %d, before the growth, on partition %d", i, r.p)
		}
		in[r.p] = append(in[r.p], r.v)
	}
	for p, recs := range in {
		if len(recs) < onTimeRecords {
			t.Errorf("partition %d has %d records", p, len(recs))
		}
	}
	first := s.index[hash(s.records[s.grow].v)].t
	if s.frontier == math.MinInt64 || s.frontier > first {
		t.Errorf("growth frontier %d, want one past the start and at most the first line after the growth, %d", s.frontier, first)
	}
	got := s.truth(in, o.Window, o.Grace)
	if got.late == 0 || got.lateJoined != 0 || got.unknown != 0 {
		t.Errorf("%d late, %d by the growth frontier alone, %d unknown; want some, 0, 0", got.late, got.lateJoined, got.unknown)
	}

	// The stream's first line, ahead of new partition 4's own: on time by
	// the partition's event time (it is the first), but in a window final
	// before the growth.
	early := s.records[0]
	if l := s.index[hash(early.v)]; l.t >= s.frontier {
		t.Fatalf("the first line (event time %d) is not before the growth frontier %d", l.t, s.frontier)
	}
	in[4] = append([][]byte{early.v}, in[4]...)
	in[early.p] = in[early.p][1:]
	moved := s.truth(in, o.Window, o.Grace)
	if moved.late != got.late+1 || moved.lateJoined != 1 {
		t.Errorf("an early line first on a new partition: %d late (%d before), %d by the frontier alone; want one more, 1",
			moved.late, got.late, moved.lateJoined)
	}
	l, size := s.index[hash(early.v)], o.Window.Milliseconds()
	if k := (truth.Key{OS: l.os, Start: l.t / size * size}); moved.counts[k] != got.counts[k]-1 {
		t.Errorf("%v counts %d with the early line on a new partition, %d on its own; want one less", k, moved.counts[k], got.counts[k])
	}
	o.GrowTo = 0
	if plain := newStream(o, time.Date(2019, 8, 14, 0, 0, 0, 0, time.UTC)); plain.grow != -1 || plain.sources != o.Partitions {
		t.Error("a stream without growth grows")
	}
}

// TestTruthGrowthAmbiguous checks that checkGrowth refuses streams whose
// growth has no one right answer.
func TestTruthGrowthAmbiguous(t *testing.T) {
	s, o := growingStream()
	s.frontier = s.end // every window final before the growth: the frontier decides alone
	if err := s.checkGrowth(o.Window, o.Grace); err == nil || !strings.Contains(err.Error(), "growth frontier") {
		t.Errorf("a frontier past every window: %v", err)
	}

	s, o = growingStream()
	n := 0
	for _, r := range s.records[s.grow:] { // make partition 4's 50th line late
		l, ok := s.index[hash(r.v)]
		if r.p != 4 || !ok {
			continue
		}
		if n++; n == 50 {
			l.t -= (o.Grace + 2*o.Window).Milliseconds()
			s.index[hash(r.v)] = l
		}
	}
	if err := s.checkGrowth(o.Window, o.Grace); err == nil || !strings.Contains(err.Error(), "among its first") {
		t.Errorf("a late line among a new partition's first: %v", err)
	}

	s, o = growingStream()
	s.records[0].p = 5
	if err := s.checkGrowth(o.Window, o.Grace); err == nil || !strings.Contains(err.Error(), "before the growth") {
		t.Errorf("a record on a new partition before the growth: %v", err)
	}
}
