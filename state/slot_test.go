package state

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

var slotCfg = SlotConfig{Windows: Windows{1000}, Retain: 100}

type counts = map[string]int64

func rep(src, srcs int32, from, to int64, partials ...Partial) *Report {
	return &Report{Source: src, Sources: srcs, From: from, To: to, Partials: partials}
}

func part(start int64, c counts) Partial { return Partial{Start: start, Counts: c} }

func fin(start, offset int64, c counts) Final { return Final{Start: start, Counts: c, Offset: offset} }

// applyWant applies r at offset and compares the output with want.
func applyWant(t *testing.T, s *Slot, r *Report, offset int64, c SlotConfig, want Output) {
	t.Helper()
	got := s.Apply(r, offset, c)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Apply(%+v, %d)\n got  %+v\n want %+v", *r, offset, got, want)
	}
	if s.Applied != offset {
		t.Fatalf("Applied = %d after applying at %d", s.Applied, offset)
	}
}

func TestSlotCompletionNeedsAllSources(t *testing.T) {
	s := NewSlot()
	if s.Applied != -1 {
		t.Fatalf("new slot Applied = %d, want -1", s.Applied)
	}
	applyWant(t, s, rep(0, 3, Unbounded, 2000, part(1000, counts{"linux": 2})), 0, slotCfg,
		Output{Updates: []Final{fin(1000, 0, counts{"linux": 2})}})
	applyWant(t, s, rep(1, 3, Unbounded, 1000), 1, slotCfg, Output{})
	// Source 2 covers the window too, but source 1 does not yet.
	applyWant(t, s, rep(2, 3, Unbounded, 5000, part(1000, counts{"ios": 1})), 2, slotCfg,
		Output{Updates: []Final{fin(1000, 2, counts{"ios": 1})}})
	if got := s.Open()[1000]; !reflect.DeepEqual(got, counts{"linux": 2, "ios": 1}) {
		t.Fatalf("open window 1000 = %v", got)
	}
	applyWant(t, s, rep(1, 3, 1000, 2000, part(1000, counts{"linux": 1})), 3, slotCfg, Output{
		Finals:  []Final{fin(1000, 3, counts{"linux": 3, "ios": 1})},
		Updates: []Final{fin(1000, 3, counts{"linux": 3})},
	})
	if s.OpenWindows() != 0 {
		t.Fatalf("open windows left: %v", s.Open())
	}
	// A window is final once: later claims and partials change nothing.
	applyWant(t, s, rep(0, 3, 2000, 3000, part(1000, counts{"linux": 9})), 4, slotCfg, Output{})
}

func TestSlotSourcesFromReports(t *testing.T) {
	// A slot that has heard only from source 0 of 2 must wait for source 1,
	// even though source 0's claim covers the window.
	s := NewSlot()
	applyWant(t, s, rep(0, 2, Unbounded, 5000, part(0, counts{"a": 1})), 0, slotCfg,
		Output{Updates: []Final{fin(0, 0, counts{"a": 1})}})
	if s.Sources != 2 {
		t.Fatalf("Sources = %d, want 2", s.Sources)
	}
	applyWant(t, s, rep(1, 2, Unbounded, 0), 1, slotCfg, Output{})                                      // ends at the window start
	applyWant(t, s, rep(1, 2, 0, 1000), 2, slotCfg, Output{Finals: []Final{fin(0, 2, counts{"a": 1})}}) // no counts from source 1
}

func TestSlotClaimsOutOfOrder(t *testing.T) {
	s := NewSlot()
	// Source 1's later claim arrives first, with its partial for window 2000.
	applyWant(t, s, rep(1, 2, 2000, 4000, part(2000, counts{"a": 1}), part(3000, counts{"b": 1})), 0, slotCfg,
		Output{Updates: []Final{fin(2000, 0, counts{"a": 1}), fin(3000, 0, counts{"b": 1})}})
	applyWant(t, s, rep(0, 2, Unbounded, 3000, part(1000, counts{"a": 5}), part(2000, counts{"a": 2})), 1, slotCfg,
		// Window 2000 is covered by both now; 1000 waits for source 1's earlier claim.
		Output{
			Finals:  []Final{fin(2000, 1, counts{"a": 3})},
			Updates: []Final{fin(1000, 1, counts{"a": 5}), fin(2000, 1, counts{"a": 3})},
		})
	applyWant(t, s, rep(1, 2, Unbounded, 2000, part(1000, counts{"c": 1})), 2, slotCfg, Output{
		Finals:  []Final{fin(1000, 2, counts{"a": 5, "c": 1})},
		Updates: []Final{fin(1000, 2, counts{"c": 1})},
	})
	applyWant(t, s, rep(0, 2, 3000, 5000), 3, slotCfg, Output{Finals: []Final{fin(3000, 3, counts{"b": 1})}})
	want := map[int32]Intervals{0: {{Unbounded, 5000}}, 1: {{Unbounded, 4000}}}
	if !reflect.DeepEqual(s.Claims, want) {
		t.Fatalf("claims %v, want %v", s.Claims, want)
	}
}

func TestSlotDuplicatePartialIgnored(t *testing.T) {
	s := NewSlot()
	r := rep(0, 2, Unbounded, 2000, part(1000, counts{"linux": 1}))
	applyWant(t, s, r, 0, slotCfg, Output{Updates: []Final{fin(1000, 0, counts{"linux": 1})}})
	// The same report again at a new offset (a producer retry).
	applyWant(t, s, r, 1, slotCfg, Output{})
	// A rebuilt report whose claim overlaps: only the uncovered window counts.
	applyWant(t, s, rep(0, 2, Unbounded, 3000, part(1000, counts{"linux": 7}), part(2000, counts{"ios": 1})), 2, slotCfg,
		Output{Updates: []Final{fin(2000, 2, counts{"ios": 1})}})
	// A partial for a window the source claimed earlier without counts.
	applyWant(t, s, rep(0, 2, Unbounded, 3000, part(0, counts{"x": 1})), 3, slotCfg, Output{})
	// Source 1 completes everything: the first partials won.
	applyWant(t, s, rep(1, 2, Unbounded, 3000), 4, slotCfg, Output{Finals: []Final{
		fin(1000, 4, counts{"linux": 1}), fin(2000, 4, counts{"ios": 1}),
	}})
	if s.OpenWindows() != 0 {
		t.Fatalf("open windows left: %v", s.Open())
	}
}

func TestSlotReplay(t *testing.T) {
	s := NewSlot()
	applyWant(t, s, rep(0, 1, Unbounded, 2000, part(1000, counts{"a": 1}), part(0, counts{"b": 1})), 10, slotCfg, Output{
		Finals:  []Final{fin(0, 10, counts{"b": 1}), fin(1000, 10, counts{"a": 1})},
		Updates: []Final{fin(0, 10, counts{"b": 1}), fin(1000, 10, counts{"a": 1})},
	})
	applyWant(t, s, rep(0, 1, 2000, 3000), 11, slotCfg, Output{})
	applyWant(t, s, rep(0, 1, 4000, 6000, part(5000, counts{"c": 2})), 12, slotCfg, Output{
		Finals:  []Final{fin(5000, 12, counts{"c": 2})},
		Updates: []Final{fin(5000, 12, counts{"c": 2})},
	})
	before, _ := SlotCodec{}.Encode(s)

	replays := []struct {
		name   string
		r      *Report
		offset int64
		want   Output
	}{
		{"same report at Applied", rep(0, 1, 4000, 6000, part(5000, counts{"c": 2})), 12, Output{
			Finals:  []Final{fin(5000, 12, counts{"c": 2})},
			Updates: []Final{fin(5000, 12, counts{"c": 2})},
		}},
		{"other report at Applied", rep(0, 1, 3000, 4000, part(3000, counts{"z": 9})), 12, Output{
			Finals:  []Final{fin(5000, 12, counts{"c": 2})},
			Updates: []Final{fin(5000, 12, counts{"c": 2})},
		}},
		// Older offsets at or above Committed (0 here) return all they returned.
		{"older offset", rep(0, 1, 3000, 4000, part(3000, counts{"z": 9})), 10, Output{
			Finals:  []Final{fin(0, 10, counts{"b": 1}), fin(1000, 10, counts{"a": 1})},
			Updates: []Final{fin(0, 10, counts{"b": 1}), fin(1000, 10, counts{"a": 1})},
		}},
		{"older offset without finals", rep(0, 1, 3000, 4000), 11, Output{}},
		{"offset never applied", rep(0, 1, 3000, 4000), 3, Output{}},
	}
	for _, tt := range replays {
		if got := s.Apply(tt.r, tt.offset, slotCfg); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Apply at %d = %+v, want %+v", tt.name, tt.offset, got, tt.want)
		}
		if after, _ := (SlotCodec{}).Encode(s); !bytes.Equal(before, after) {
			t.Fatalf("%s: replay changed the slot\n%s\n%s", tt.name, before, after)
		}
	}
	// The replayed claim [3000,4000) was not taken: window 3000 can still count.
	applyWant(t, s, rep(0, 1, 3000, 4000, part(3000, counts{"d": 1})), 13, slotCfg, Output{
		Finals:  []Final{fin(3000, 13, counts{"d": 1})},
		Updates: []Final{fin(3000, 13, counts{"d": 1})},
	})
}

// TestSlotRetain: a slot keeps the output of every report at or above
// Committed, which a replay returns exactly, and beyond those the newest
// Retain finals; the parts of no other window.
func TestSlotRetain(t *testing.T) {
	const reports = 8
	for _, retain := range []int{0, 1, 2, 5, 10} {
		for _, lag := range []int64{0, 2, 20} { // how far Committed trails the offset applied
			t.Run(fmt.Sprintf("retain %d lag %d", retain, lag), func(t *testing.T) {
				s := NewSlot()
				var all []Output
				var c SlotConfig
				for i := range int64(reports) {
					r := rep(0, 1, i*1000, (i+1)*1000, part(i*1000, counts{"a": i + 1}))
					if i == 0 {
						r.From = Unbounded
					}
					c = SlotConfig{Windows: Windows{1000}, Retain: retain, Committed: max(0, 100+i-lag)}
					out := s.Apply(r, 100+i, c)
					if len(out.Finals) != 1 || len(out.Updates) != 1 {
						t.Fatalf("apply %d: %+v, want one final and one update", i, out)
					}
					all = append(all, out)
				}
				replayable := min(reports, int(lag)+1)
				var finals []Final
				for i, out := range all {
					if i >= reports-max(retain, replayable) {
						finals = append(finals, out.Finals...)
					}
				}
				if got := s.Finals(); len(got) != len(finals) || len(finals) > 0 && !reflect.DeepEqual(got, finals) {
					t.Fatalf("kept finals %+v, want %+v", got, finals)
				}
				if kept := len(s.Parts()); kept != len(finals) {
					t.Fatalf("kept %d parts for %d finals", kept, len(finals))
				}
				for i := reports - replayable; i < reports; i++ {
					if got := s.Apply(rep(0, 1, 0, 1), 100+int64(i), c); !reflect.DeepEqual(got, all[i]) {
						t.Fatalf("replay at %d: %+v, want %+v", 100+i, got, all[i])
					}
				}
			})
		}
	}
}

// TestSlotUpdates: Updates are the new totals of what a report changed.
func TestSlotUpdates(t *testing.T) {
	s := NewSlot()
	// Committed at the offset applied: only the last report may be read again.
	committed := func(offset int64) SlotConfig { c := slotCfg; c.Committed = offset; return c }
	applyWant(t, s, rep(0, 2, Unbounded, 3000,
		part(2000, counts{"linux": 1}),
		part(1000, counts{"linux": 2, "ios": 1}),
	), 0, committed(0), Output{Updates: []Final{
		fin(1000, 0, counts{"linux": 2, "ios": 1}),
		fin(2000, 0, counts{"linux": 1}),
	}})
	// Only the (window, os) pairs this report changed, with their new totals.
	applyWant(t, s, rep(1, 2, Unbounded, 1000, part(0, counts{"x": 1})), 1, committed(1), Output{
		Finals:  []Final{fin(0, 1, counts{"x": 1})},
		Updates: []Final{fin(0, 1, counts{"x": 1})},
	})
	applyWant(t, s, rep(1, 2, 1000, 2000, part(1000, counts{"linux": 3, "android": 1})), 2, committed(2), Output{
		Finals:  []Final{fin(1000, 2, counts{"linux": 5, "ios": 1, "android": 1})},
		Updates: []Final{fin(1000, 2, counts{"linux": 5, "android": 1})},
	})
	// A report that changes nothing leaves no updates behind.
	applyWant(t, s, rep(1, 2, 1000, 2000, part(1000, counts{"linux": 3})), 3, committed(3), Output{})
	if got := s.Apply(rep(1, 2, 0, 1), 3, committed(3)); !reflect.DeepEqual(got, Output{}) {
		t.Fatalf("replay of a report that changed nothing: %+v", got)
	}
}

// TestSlotReplayEveryFinal: a replayed report re-emits every final it
// produced, however many, not only the ones Retain keeps for queries.
func TestSlotReplayEveryFinal(t *testing.T) {
	const windows = 200
	c := SlotConfig{Windows: Windows{1000}, Retain: 64}
	s := NewSlot()
	var partials []Partial
	for i := range int64(windows) {
		partials = append(partials, part(i*1000, counts{"linux": i + 1}))
	}
	first := s.Apply(rep(0, 1, Unbounded, windows*1000, partials...), 5, c)
	if len(first.Finals) != windows {
		t.Fatalf("first apply: %d finals, want %d", len(first.Finals), windows)
	}
	s.Apply(rep(0, 1, windows*1000, (windows+1)*1000), 6, c)
	if got := s.Apply(rep(0, 1, 0, 1), 5, c); !reflect.DeepEqual(got, first) {
		t.Fatalf("replay at 5: %d finals and %d updates, first time %d and %d",
			len(got.Finals), len(got.Updates), len(first.Finals), len(first.Updates))
	}
}

// TestSlotReplayUpdatesBelowApplied: in update mode a replay of an offset
// below Applied (a crash after later reports were applied, before the emits
// of this one were acknowledged) re-emits that offset's updates.
func TestSlotReplayUpdatesBelowApplied(t *testing.T) {
	s := NewSlot()
	first := s.Apply(rep(0, 2, Unbounded, 2000, part(1000, counts{"ios": 3})), 10, slotCfg)
	s.Apply(rep(1, 2, Unbounded, 1000, part(0, counts{"linux": 1})), 11, slotCfg)
	if len(first.Updates) != 1 {
		t.Fatalf("first apply: updates %+v, want one", first.Updates)
	}
	if got := s.Apply(rep(0, 2, Unbounded, 2000, part(1000, counts{"ios": 3})), 10, slotCfg); !reflect.DeepEqual(got, first) {
		t.Fatalf("replay at 10: %+v, first time %+v", got, first)
	}
}

// TestSlotTrackRecreatedTopic applies reports of a repartition topic, then
// of a topic of the same name created again, whose offsets start over at 0:
// Track moves the slot's positions past the old topic's, so the new reports
// are applied (not taken for replays), Applied only rises (the table keeps
// the newer value), and a report counted before does not count twice.
func TestSlotTrackRecreatedTopic(t *testing.T) {
	s := NewSlot()
	if s.Track("old", 0) {
		t.Fatal("a new slot moved")
	}
	applyWant(t, s, rep(0, 2, Unbounded, 2000, part(1000, counts{"ios": 1})), 0, slotCfg,
		Output{Updates: []Final{fin(1000, 0, counts{"ios": 1})}})
	applyWant(t, s, rep(1, 2, Unbounded, 1000), 1, slotCfg, Output{})
	before, err := SlotCodec{}.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if s.Track("old", 2) {
		t.Fatal("the same topic moved the slot")
	}

	if !s.Track("new", 1) || s.Base != 2 || s.Topic != "new" {
		t.Fatalf("a new topic: Base %d, Topic %q; want 2, new", s.Base, s.Topic)
	}
	// Offset 0 of the new topic: source 1 claims the window; source 0's
	// partial for it, sent again, does not count twice.
	applyWant(t, s, rep(0, 2, Unbounded, 2000, part(1000, counts{"ios": 1})), s.Base+0, slotCfg, Output{})
	applyWant(t, s, rep(1, 2, 1000, 2000), s.Base+1, slotCfg,
		Output{Finals: []Final{fin(1000, 3, counts{"ios": 1})}})
	after, err := SlotCodec{}.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if newer, err := SlotSupersedes(before, after); err != nil || !newer {
		t.Fatalf("SlotSupersedes(old topic's value, new topic's) = %v, %v; want true", newer, err)
	}
	decoded, err := SlotCodec{}.Decode(after)
	if err != nil {
		t.Fatal(err)
	}
	if d := decoded.(*Slot); d.Base != s.Base || d.Topic != s.Topic {
		t.Fatalf("decoded Base %d, Topic %q; want %d, %q", d.Base, d.Topic, s.Base, s.Topic)
	}
}

// TestSlotTrackWithoutTopicIDs is Track for brokers before Kafka 2.8, and
// for slots written before the slot recorded its topic: the slot tells
// another topic by having applied an offset at or past the partition's end.
func TestSlotTrackWithoutTopicIDs(t *testing.T) {
	s := NewSlot()
	for off := range int64(5) {
		s.Apply(rep(0, 1, off*1000, off*1000+1000), off, slotCfg)
	}
	if s.Track("", 5) || s.Track("", -1) {
		t.Fatal("moved on a partition that ends past what it applied, or with its end unknown")
	}
	if !s.Track("", 5-1) || s.Base != 5 {
		t.Fatalf("a partition ending at or below what the slot applied: Base %d, want 5", s.Base)
	}
	// A slot without a topic adopts the one it is told, once it applied
	// from it.
	if s.Track("id", 10) || s.Topic != "id" {
		t.Fatalf("Topic %q, want id", s.Topic)
	}
}
