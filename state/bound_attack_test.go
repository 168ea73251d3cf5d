package state

import (
	"fmt"
	"math"
	"testing"
)

// TestAttackWorstCaseValuesBounded: the largest report and part the bounds
// allow (max-os-types 4,096 and 256 buckets, every name 32 bytes, every
// count the largest an int64 holds, the latest window, a source of 1,024)
// go through the real path (Aggregator, Flush, Split, Slot.Apply, Changes)
// and the codecs, and every value is at most 256 KiB: the bound README's
// "Bounded state" and TypeBound claim, and below MinRecordLimit (300,000).
func TestAttackWorstCaseValuesBounded(t *testing.T) {
	const limit = 256 << 10
	name := func(prefix string, i int) string { return fmt.Sprintf("%s%0*d", prefix, 32-len(prefix), i) }
	kept := map[string]bool{"other": true}
	for i := 0; len(kept) < MaxKept; i++ {
		kept[name("bucket.", i)] = true
	}
	w := Windows{Size: 1000}
	a := NewAggregator(AggregatorConfig{Windows: w, Source: 1023, Sources: 1024, Slots: 1,
		Types: TypeBound{Max: MaxTypeBound, Kept: kept, Fold: "other"}})
	at := w.Start(MaxEventTime) - w.Size
	offset := int64(math.MaxInt64 / 2)
	add := func(os string) {
		a.Add(offset, at, os)
		offset++
	}
	for os := range kept {
		add(os)
	}
	for i := range MaxTypeBound + 100 {
		add(name("scanner.", i))
	}
	a.Add(offset, MaxEventTime, "ios") // closes the window
	reports, _ := a.Flush()
	r := reports[0]
	if r == nil || len(r.Partials) != 1 {
		t.Fatalf("flush: %+v", reports)
	}
	if n := len(r.Partials[0].Counts); n != MaxTypeBound+MaxKept {
		t.Fatalf("the window counts %d os types, want %d", n, MaxTypeBound+MaxKept)
	}
	for os := range r.Partials[0].Counts {
		r.Partials[0].Counts[os] = math.MaxInt64
	}
	for _, piece := range r.Split(MaxReportBytes) {
		v, err := ReportCodec{}.Encode(piece)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("report: %d bytes", len(v))
		if len(v) > limit {
			t.Errorf("a report is %d bytes, over %d", len(v), limit)
		}
	}
	s := NewSlot()
	s.Apply(r, math.MaxInt64-1, SlotConfig{Windows: w, Retain: 1})
	written, _ := s.Changes()
	if len(written) == 0 {
		t.Fatal("no part written")
	}
	for _, p := range written {
		v, err := SlotCodec{}.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("part: %d bytes", len(v))
		if len(v) > limit {
			t.Errorf("a part is %d bytes, over %d", len(v), limit)
		}
	}
}
