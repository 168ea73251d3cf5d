package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// report is what the harness reads of a parse-stage report on the
// repartition topic: source partition Source, one of Sources, has closed
// every window of the report's slot in [From, To). Slot i's reports are on
// partition i of the topic (oscheck picks the slot keys so).
type report struct {
	slot     int32
	Source   int32 `json:"source"`
	Sources  int32 `json:"sources"`
	From     int64 `json:"from"`
	To       int64 `json:"to"`
	Partials []struct {
		Start int64 `json:"start"`
	} `json:"partials"`
}

func readReport(r *kgo.Record, _ time.Time) (report, bool) {
	var rep report
	if err := json.Unmarshal(r.Value, &rep); err != nil {
		return report{}, false
	}
	rep.slot = r.Partition
	return rep, true
}

// claims are what each source has claimed in each slot, as the window stage
// merges them: a window is final once every source's claims cover it.
type claims struct {
	size  int64 // window size, ms
	slots int32
	by    map[[2]int32][][2]int64 // (slot, source): disjoint [from, to) intervals, sorted
	// sources is, per slot, the most sources a report merged there named:
	// as the window stage's slot does, so a slot waits for the partitions
	// added to the input once a report says they exist.
	sources map[int32]int32
}

func newClaims(window time.Duration, slots int32) *claims {
	return &claims{size: window.Milliseconds(), slots: slots, by: make(map[[2]int32][][2]int64), sources: make(map[int32]int32)}
}

// covers reports whether source's claims in slot cover [a, b).
func (c *claims) covers(slot, source int32, a, b int64) bool {
	ivs := c.by[[2]int32{slot, source}]
	i := sort.Search(len(ivs), func(i int) bool { return ivs[i][1] > a })
	return i < len(ivs) && ivs[i][0] <= a && b <= ivs[i][1]
}

func (c *claims) add(slot, source int32, from, to int64) {
	k := [2]int32{slot, source}
	ivs := append(c.by[k], [2]int64{from, to})
	slices.SortFunc(ivs, func(x, y [2]int64) int { return cmp.Compare(x[0], y[0]) })
	merged := ivs[:1]
	for _, iv := range ivs[1:] {
		if last := &merged[len(merged)-1]; iv[0] <= last[1] {
			last[1] = max(last[1], iv[1])
		} else {
			merged = append(merged, iv)
		}
	}
	c.by[k] = merged
}

// slot is the window-stage slot of the window starting at start: windows go
// round-robin over the slots by their number since the epoch.
func (c *claims) slot(start int64) int32 {
	return int32(((start/c.size)%int64(c.slots) + int64(c.slots)) % int64(c.slots))
}

// through reports whether every source but held has claimed, in every slot,
// everything before end.
func (c *claims) through(sources, held int32, end int64) bool {
	for slot := range c.slots {
		for src := range sources {
			if src != held && !c.covers(slot, src, math.MinInt64, end) {
				return false
			}
		}
	}
	return true
}

// claimed counts the windows in [from, to) that source has claimed in their
// slots.
func (c *claims) claimed(source int32, from, to int64) int {
	n := 0
	for w := from; w < to; w += c.size {
		if c.covers(c.slot(w), source, w, w+c.size) {
			n++
		}
	}
	return n
}

// largest is the report that completed the most windows.
type largest struct {
	windows int   // windows it completed
	source  int32 // its source partition
}

// replay merges reports, each slot's in offset order, as the window stage
// does, and returns the claims and the report that completed the most of
// windows (window starts) at once. A report completes a window when the
// window was not complete before and every source of its slot has claimed
// it since. A report's sources may be more than an earlier one's (the
// input grew): the slot then waits for the new sources too, but a window
// complete before stays so, as a final window does.
func replay(reports []report, windows []int64, window time.Duration, slots int32) (*claims, largest, error) {
	c := newClaims(window, slots)
	bySlot := make(map[int32][]int64)
	for _, w := range windows {
		bySlot[c.slot(w)] = append(bySlot[c.slot(w)], w)
	}
	for _, ws := range bySlot {
		slices.Sort(ws)
	}
	complete := make(map[int64]bool)
	var top largest
	for _, r := range reports {
		for _, p := range r.Partials {
			if c.slot(p.Start) != r.slot {
				return nil, largest{}, fmt.Errorf("a report on partition %d of the repartition topic counts window %d, of slot %d",
					r.slot, p.Start, c.slot(p.Start))
			}
		}
		c.sources[r.slot] = max(c.sources[r.slot], r.Sources)
		c.add(r.slot, r.Source, r.From, r.To)
		// Only windows the report claims can have become complete: more
		// sources complete nothing.
		ws := bySlot[r.slot]
		lo, _ := slices.BinarySearch(ws, r.From)
		hi, _ := slices.BinarySearch(ws, r.To)
		n := 0
		for _, w := range ws[lo:hi] {
			if !complete[w] && c.complete(r.slot, w) {
				complete[w] = true
				n++
			}
		}
		if n > top.windows {
			top = largest{n, r.Source}
		}
	}
	return c, top, nil
}

// complete reports whether every source of slot has claimed the window at w.
func (c *claims) complete(slot int32, w int64) bool {
	for src := range c.sources[slot] {
		if !c.covers(slot, src, w, w+c.size) {
			return false
		}
	}
	return c.sources[slot] > 0
}
