package state

import (
	"reflect"
	"testing"
)

// TestSlotQuery: finals are final with every partition reported; an open
// window shows the counts and the number of partitions that closed it.
func TestSlotQuery(t *testing.T) {
	s := NewSlot()
	s.Apply(rep(0, 3, 0, 2000, part(0, counts{"android": 2, "ios": 1}), part(1000, counts{"ios": 4})), 0, slotCfg)
	s.Apply(rep(1, 3, 0, 1000, part(0, counts{"android": 5})), 1, slotCfg)
	s.Apply(rep(2, 3, 0, 1000, part(0, counts{"linux": 1})), 2, slotCfg) // window 0 is final here

	wc := func(os string, start, count int64, final bool, reported int32) WindowCount {
		return WindowCount{OSType: os, Start: start, End: start + 1000, Count: count, Final: final, Reported: reported, Sources: 3}
	}
	all := Latest(s.Query("", slotCfg.Windows), 10)
	want := []WindowCount{
		wc("android", 0, 7, true, 3), wc("ios", 0, 1, true, 3), wc("linux", 0, 1, true, 3),
		wc("ios", 1000, 4, false, 1),
	}
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("all os types:\n got  %+v\n want %+v", all, want)
	}
	if got := Latest(s.Query("ios", slotCfg.Windows), 10); !reflect.DeepEqual(got, []WindowCount{want[1], want[3]}) {
		t.Fatalf("ios: got %+v", got)
	}
	if got := s.Query("windows", slotCfg.Windows); len(got) != 0 {
		t.Fatalf("an os_type with no records: got %+v", got)
	}
}

// TestLatest keeps the last windows by start, however many os types each has.
func TestLatest(t *testing.T) {
	var in []WindowCount
	for _, start := range []int64{5, 1, 3, 2, 4} {
		for _, os := range []string{"ios", "android"} {
			in = append(in, WindowCount{OSType: os, Start: start})
		}
	}
	for _, c := range []struct {
		last  int
		first int64 // start of the first window kept
		n     int
	}{{0, 0, 0}, {1, 5, 2}, {2, 4, 4}, {5, 1, 10}, {9, 1, 10}} {
		got := Latest(append([]WindowCount(nil), in...), c.last)
		if len(got) != c.n || (c.n > 0 && got[0].Start != c.first) {
			t.Errorf("last %d: got %+v", c.last, got)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Start < got[i-1].Start || (got[i].Start == got[i-1].Start && got[i].OSType <= got[i-1].OSType) {
				t.Errorf("last %d: not ordered: %+v", c.last, got)
			}
		}
	}
}
