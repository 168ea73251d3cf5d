package truth

import (
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
