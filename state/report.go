package state

import (
	"cmp"
	"maps"
	"slices"
)

// Report is what one source (input) partition tells one slot of the window
// stage: every window of the slot inside the claim [From, To) is closed at the
// source, and Partials holds the source's counts for those that had records.
// A window with no partial in a report that claims it had no records there.
//
// From and To are window boundaries; From may be Unbounded.
type Report struct {
	Source   int32     `json:"source"`  // input partition that produced the report
	Sources  int32     `json:"sources"` // number of input partitions
	From     int64     `json:"from"`
	To       int64     `json:"to"`
	Partials []Partial `json:"partials,omitempty"`
}

// Partial is one source partition's counts for one window.
type Partial struct {
	Start  int64            `json:"start"`
	Counts map[string]int64 `json:"counts"`
}

// MaxReportBytes bounds the encoded size of a report the parse stage
// writes (Split), well below Kafka's default message size (1 MB).
const MaxReportBytes = 128 << 10

// Split returns r as consecutive reports of the same source whose encodings
// each stay within about maxBytes, unless a single partial alone is larger:
// their claims tile [r.From, r.To) at window starts, in order, and each
// holds the partials of its claim, ordered by start. Sent in that order to
// the same slot, they tell it what r would. A report catching up a backlog
// closes windows by the thousand at once.
func (r *Report) Split(maxBytes int) []*Report {
	slices.SortFunc(r.Partials, func(a, b Partial) int { return cmp.Compare(a.Start, b.Start) })
	// A window listed twice counts both (Slot.Apply): as one partial, so
	// that no piece ends inside it.
	for i := 1; i < len(r.Partials); i++ {
		if prev := &r.Partials[i-1]; prev.Start == r.Partials[i].Start {
			sum := maps.Clone(prev.Counts)
			if sum == nil {
				sum = make(map[string]int64)
			}
			for os, n := range r.Partials[i].Counts {
				sum[os] += n
			}
			prev.Counts = sum
			r.Partials = slices.Delete(r.Partials, i, i+1)
			i--
		}
	}
	var out []*Report
	cur := &Report{Source: r.Source, Sources: r.Sources, From: r.From, To: r.To}
	size := reportOverhead
	for _, p := range r.Partials {
		n := p.size()
		if len(cur.Partials) > 0 && size+n > maxBytes {
			cur.To = p.Start
			out = append(out, cur)
			cur = &Report{Source: r.Source, Sources: r.Sources, From: p.Start, To: r.To}
			size = reportOverhead
		}
		cur.Partials = append(cur.Partials, p)
		size += n
	}
	return append(out, cur)
}

// reportOverhead is the most a report's encoding takes besides its
// partials: `{"source":…,"sources":…,"from":…,"to":…,"partials":[]}`.
const reportOverhead = 128

// size is at least the length of p's encoding in a report:
// `{"start":…,"counts":{"name":n,…}},`.
func (p Partial) size() int {
	n := 48
	for os := range p.Counts {
		n += len(os) + 24
	}
	return n
}
