package truth

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func TestCounterLateness(t *testing.T) {
	c := NewCounter(2*time.Second, time.Second)
	c.Add(0, 10_500, "ios")   // window 10000
	c.Add(0, 13_000, "ios")   // watermark 13000: windows ending by 12000 closed
	c.Add(0, 11_999, "ios")   // window 10000 ended at 12000 <= 12000: late
	c.Add(1, 11_000, "linux") // another partition has its own watermark
	c.Add(0, 12_000, "ios")   // window 12000 is still open
	c.Add(0, -1_500, "ios")   // before the epoch: window -2000, late here
	c.Add(2, -1_500, "ios")   // first record of partition 2: counted
	want := map[Key]int64{{"ios", 10_000}: 1, {"ios", 12_000}: 2, {"linux", 10_000}: 1, {"ios", -2_000}: 1}
	if len(c.Counts) != len(want) {
		t.Fatalf("counts %v, want %v", c.Counts, want)
	}
	for k, n := range want {
		if c.Counts[k] != n {
			t.Errorf("%v: %d, want %d", k, c.Counts[k], n)
		}
	}
	if c.Late != 2 {
		t.Errorf("late %d, want 2", c.Late)
	}
}

func TestCounterBound(t *testing.T) {
	c := NewCounter(2*time.Second, time.Second)
	c.Bound(2, map[string]bool{"ios": true, "other": true}, "other")
	for _, r := range []struct {
		p  int32
		t  int64
		os string
	}{
		{0, 100, "ios"}, {0, 200, "a"}, {0, 300, "b"}, // a and b take window 0's two places on partition 0
		{0, 400, "c"},                  // a third: other
		{0, 500, "a"}, {0, 600, "ios"}, // admitted and kept names count as themselves
		{0, 700, "other"},            // a record that is other by itself
		{1, 100, "c"}, {1, 200, "d"}, // partition 1 has places of its own in window 0
		{1, 300, "e"},                    // but only two
		{0, 2_100, "c"}, {0, 2_200, "d"}, // window 2000 on partition 0 starts afresh
		{0, 2_300, "a"},                  // a third there: other
		{0, 5_000, "f"},                  // closes windows 0 and 2000 on partition 0
		{0, 2_400, "g"},                  // late: not counted, takes no place
		{0, 5_100, "g"}, {0, 5_200, "h"}, // window 4000: f, g
	} {
		c.Add(r.p, r.t, r.os)
	}
	want := map[Key]int64{
		{"ios", 0}: 2, {"a", 0}: 2, {"b", 0}: 1, {"other", 0}: 3, {"c", 0}: 1, {"d", 0}: 1,
		{"c", 2_000}: 1, {"d", 2_000}: 1, {"other", 2_000}: 1,
		{"f", 4_000}: 1, {"g", 4_000}: 1, {"other", 4_000}: 1,
	}
	if len(c.Counts) != len(want) {
		t.Errorf("counts %v, want %v", c.Counts, want)
	}
	for k, n := range want {
		if c.Counts[k] != n {
			t.Errorf("%v: %d, want %d", k, c.Counts[k], n)
		}
	}
	if c.Late != 1 || c.Folded != 4 {
		t.Errorf("late %d, folded %d; want 1, 4", c.Late, c.Folded)
	}
}

// The Counter keeps the admitted names of open windows only: a flood of
// distinct names over many windows does not grow it.
func TestCounterBoundMemory(t *testing.T) {
	c := NewCounter(2*time.Second, time.Second)
	c.Bound(16, map[string]bool{"other": true}, "other")
	for i := range 100_000 {
		c.Add(0, int64(i)*10, fmt.Sprint("scan", i)) // 200 records a window
	}
	if n := c.open(0); n > 2 {
		t.Errorf("%d windows remembered, want at most 2 open", n)
	}
	if want := 100_000 - 500*16; c.Folded != want {
		t.Errorf("folded %d, want %d", c.Folded, want)
	}
	if len(c.Counts) != 500*17 {
		t.Errorf("%d results, want %d (16 names and other in each of 500 windows)", len(c.Counts), 500*17)
	}
}

func TestCompare(t *testing.T) {
	want := map[Key]int64{{"ios", 0}: 3, {"android", 0}: 2, {"linux", 0}: 1}
	records := []Record{
		{Key{"ios", 0}, 3}, {Key{"ios", 0}, 3}, // an identical duplicate
		{Key{"android", 0}, 1}, {Key{"android", 0}, 2}, // wrong first, then conflicting
		{Key{"macos", 0}, 5}, // not in the input
	}
	v := Compare(records, want)
	if v.Missing != 1 || v.WrongCount != 1 || v.Unexpected != 1 || v.DuplicatesIdentical != 1 || v.DuplicatesConflicted != 1 {
		t.Errorf("verdict %+v", v)
	}
	if v.Exact() || v.OnePerWindow() {
		t.Error("a wrong output judged exact")
	}
	good := Compare([]Record{{Key{"ios", 0}, 3}, {Key{"android", 0}, 2}, {Key{"linux", 0}, 1}}, want)
	if !good.OnePerWindow() {
		t.Errorf("a right output judged wrong: %+v", good)
	}
	if dup := Compare([]Record{{Key{"ios", 0}, 3}, {Key{"ios", 0}, 3}, {Key{"android", 0}, 2}, {Key{"linux", 0}, 1}}, want); !dup.Exact() || dup.OnePerWindow() {
		t.Errorf("identical duplicates: exact %v, one per window %v; want true, false", dup.Exact(), dup.OnePerWindow())
	}
}

func TestCompareLast(t *testing.T) {
	want := map[Key]int64{{"ios", 0}: 3, {"android", 0}: 2, {"linux", 0}: 4, {"bot", 0}: 1}
	records := []Record{
		{Key{"ios", 0}, 1}, {Key{"ios", 0}, 3}, // updated to its count
		{Key{"android", 0}, 2}, {Key{"android", 0}, 1}, // a regression, and the last is wrong
		{Key{"linux", 0}, 5}, {Key{"linux", 0}, 4}, // above its count on the way
		{Key{"macos", 0}, 5}, // not in the input
	}
	v := CompareLast(records, want)
	if v.Missing != 1 || v.WrongCount != 1 || v.Unexpected != 1 || v.Overcounts != 1 || v.Regressions != 2 || v.DuplicatesIdentical != 0 {
		t.Errorf("verdict %+v", v)
	}
	if v.Exact() {
		t.Error("a wrong output judged exact")
	}
	good := CompareLast([]Record{
		{Key{"ios", 0}, 2}, {Key{"android", 0}, 2}, {Key{"ios", 0}, 3}, {Key{"ios", 0}, 3},
		{Key{"linux", 0}, 4}, {Key{"bot", 0}, 1},
	}, want)
	if !good.Exact() || good.DuplicatesIdentical != 1 {
		t.Errorf("a right output with one repeat: %+v", good)
	}
	if over := CompareLast([]Record{{Key{"ios", 0}, 4}, {Key{"ios", 0}, 3}, {Key{"android", 0}, 2}, {Key{"linux", 0}, 4}, {Key{"bot", 0}, 1}}, want); over.Exact() {
		t.Errorf("a count above the truth on the way judged exact: %+v", over)
	}
}

// TestCounterJoin checks the rule for partitions added while the service
// runs: records of a joined partition for windows final before it joined
// are late, even where the partition's own event time has closed nothing.
func TestCounterJoin(t *testing.T) {
	c := NewCounter(2*time.Second, time.Second)
	if f := c.Frontier(2); f != math.MinInt64 {
		t.Errorf("frontier of partitions without records: %d, want none", f)
	}
	c.Add(0, 9_000, "ios")  // closes windows ending by 8000 on partition 0
	c.Add(1, 12_500, "ios") // closes windows ending by 10000 on partition 1
	f := c.Frontier(2)
	if f != 8_000 {
		t.Fatalf("frontier %d, want 8000 (the lesser of 8000 and 10000)", f)
	}
	if c.Frontier(3) != math.MinInt64 || c.Frontier(0) != math.MinInt64 {
		t.Error("a frontier over a partition without records, or over none, closed something")
	}
	c.Join(2, f)
	c.Join(3, f)
	c.Add(2, 8_500, "linux")  // window 8000 ends after the frontier: counted; windows ending by 6000 closed
	c.Add(2, 7_999, "linux")  // window 6000 ends at the frontier: late by the growth alone
	c.Add(3, 6_500, "linux")  // the first record of partition 3, late by the growth alone
	c.Add(3, 20_000, "linux") // moves partition 3's watermark: windows ending by 18000 closed
	c.Add(3, 15_000, "linux") // late by its own partition, not by the growth
	c.Add(4, 7_000, "ios")    // partition 4 did not join: its own rule only, and it closed nothing
	want := map[Key]int64{{"ios", 8_000}: 1, {"ios", 12_000}: 1, {"linux", 8_000}: 1, {"linux", 20_000}: 1, {"ios", 6_000}: 1}
	if len(c.Counts) != len(want) {
		t.Fatalf("counts %v, want %v", c.Counts, want)
	}
	for k, n := range want {
		if c.Counts[k] != n {
			t.Errorf("%v: %d, want %d", k, c.Counts[k], n)
		}
	}
	if c.Late != 3 || c.LateJoined != 2 {
		t.Errorf("late %d, late by the growth alone %d; want 3, 2", c.Late, c.LateJoined)
	}
}
