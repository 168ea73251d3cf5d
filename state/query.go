package state

import (
	"cmp"
	"maps"
	"slices"
)

// WindowCount is one os_type's count in one window, as an interactive query
// sees it in the window table. A final count is the one written to the
// output. A window that is not final yet shows only what the input
// partitions that have closed it reported: Reported of Sources partitions.
type WindowCount struct {
	OSType   string `json:"os_type"`
	Start    int64  `json:"start"` // milliseconds since the epoch
	End      int64  `json:"end"`
	Count    int64  `json:"count"`
	Final    bool   `json:"final"`
	Reported int32  `json:"reported_partitions"`
	Sources  int32  `json:"partitions"`
}

// Query returns the slot's retained finals and open windows for osType, or
// for every os_type when osType is "". A window the slot holds with no
// record of osType is left out, as it is from the output.
func (s *Slot) Query(osType string, w Windows) []WindowCount {
	var out []WindowCount
	add := func(start int64, counts map[string]int64, final bool, reported int32) {
		for _, os := range slices.Sorted(maps.Keys(counts)) {
			if osType != "" && os != osType {
				continue
			}
			out = append(out, WindowCount{OSType: os, Start: start, End: start + w.Size, Count: counts[os],
				Final: final, Reported: reported, Sources: s.Sources})
		}
	}
	for _, f := range s.Finals() {
		add(f.Start, f.Counts, true, s.Sources)
	}
	for start, counts := range s.Open() {
		add(start, counts, false, s.reported(start, w.Size))
	}
	return out
}

// reported counts the sources whose claims cover the window at start.
func (s *Slot) reported(start, size int64) int32 {
	var n int32
	for src := int32(0); src < s.Sources; src++ {
		if s.Claims[src].Covers(start, start+size) {
			n++
		}
	}
	return n
}

// Latest keeps the counts of the last windows (by start) among counts, and
// returns them ordered by window start, then os_type.
func Latest(counts []WindowCount, last int) []WindowCount {
	slices.SortFunc(counts, func(a, b WindowCount) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.OSType, b.OSType))
	})
	starts := 0
	for i := len(counts) - 1; i >= 0; i-- {
		if i == len(counts)-1 || counts[i].Start != counts[i+1].Start {
			if starts == last {
				return counts[i+1:]
			}
			starts++
		}
	}
	return counts
}
