package state

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
)

// Aggregator pre-aggregates one source partition's records into per-window
// counts and decides when each window closes there. It is the parse stage's
// only state: it lives in memory and is rebuilt by replay from the partition's
// safe offset (see SafeOffset) after a crash or a rebalance, or restored from
// a Checkpoint.
//
// A window [s, e) closes when the partition's watermark (the highest event
// time it has seen) reaches e+grace, or when the partition is idle and the
// wall clock passes e+grace+idle (CloseIdle). A record whose window is closed
// is late: it is not counted. Because closing depends only on the records in
// offset order (except for CloseIdle), a replay from the safe offset closes
// the same windows with the same counts.
//
// An Aggregator is not safe for concurrent use.
type Aggregator struct {
	windows Windows
	grace   int64
	source  int32
	sources int32
	slots   int32
	types   TypeBound
	folded  int64 // records counted under types.Fold instead of their own os type

	watermark int64   // highest event time seen; math.MinInt64 before the first record
	closed    int64   // every window ending at or before this is closed
	reported  int64   // claims sent so far reach up to here
	claimed   []int64 // per slot: the end of the last claim sent there
	open      map[int64]*openWindow
}

type openWindow struct {
	firstOffset int64
	counts      map[string]int64
	extra       int // os types in counts that types.Kept does not hold
}

// AggregatorConfig describes where an Aggregator sits.
type AggregatorConfig struct {
	Windows Windows
	Grace   int64 // milliseconds, >= 0
	Source  int32 // the input partition
	Sources int32 // number of input partitions, as known (Grow raises it)
	Slots   int32 // number of window-stage slots reports are spread over, > 0
	Types   TypeBound
}

// NewAggregator returns an empty aggregator that has reported nothing.
func NewAggregator(c AggregatorConfig) *Aggregator {
	return &Aggregator{
		windows:   c.Windows,
		grace:     c.Grace,
		source:    c.Source,
		sources:   c.Sources,
		slots:     c.Slots,
		types:     c.Types,
		watermark: math.MinInt64,
		closed:    Unbounded,
		reported:  Unbounded,
		claimed:   slices.Repeat([]int64{Unbounded}, int(c.Slots)),
		open:      make(map[int64]*openWindow),
	}
}

// Event times outside [MinEventTime, MaxEventTime] (the years 1970 to 9999)
// are not counted; the topology sends such records to the dead-letter topic.
// The bound keeps all window arithmetic far from int64 overflow.
const (
	MinEventTime int64 = 0
	MaxEventTime int64 = 253402300799999 // 9999-12-31T23:59:59.999Z
)

// Add counts one record at offset with event time t (Unix ms) under osType,
// or under the TypeBound's Fold once the window holds its Max others.
// It returns false, counting nothing, when the record's window is already
// closed here (the record is late) or t is outside the event-time range.
func (a *Aggregator) Add(offset, t int64, osType string) bool {
	if t < MinEventTime || t > MaxEventTime {
		return false
	}
	if t > a.watermark {
		a.watermark = t
		a.closeThrough(a.windows.Start(satSub(t, a.grace)))
	}
	start := a.windows.Start(t)
	if start+a.windows.Size <= a.closed {
		return false
	}
	w := a.open[start]
	if w == nil {
		w = &openWindow{firstOffset: offset, counts: make(map[string]int64, 8)}
		a.open[start] = w
	}
	if a.types.count(w, osType) {
		a.folded++
	}
	return true
}

// Grow tells the aggregator that the input has n partitions: its reports
// tell the slots, which then wait for the new partitions' claims too. It
// never lowers the number.
func (a *Aggregator) Grow(n int32) { a.sources = max(a.sources, n) }

// Folded returns how many records this aggregator has counted under the
// TypeBound's Fold instead of their own os type.
func (a *Aggregator) Folded() int64 { return a.folded }

// CloseIdle closes, for a partition that has gone idle, every window that
// ended at least grace+idle (ms) before now (wall clock, Unix ms). It is the
// only rule that depends on the wall clock; the topology calls it only when
// the partition is caught up and has been silent for idle.
func (a *Aggregator) CloseIdle(now, idle int64) {
	now = min(now, MaxEventTime)
	a.closeThrough(a.windows.Start(satSub(satSub(now, idle), a.grace)))
}

func (a *Aggregator) closeThrough(boundary int64) {
	if boundary > a.closed {
		a.closed = boundary
	}
}

// Watermark returns the highest event time counted so far (math.MinInt64
// before the first record).
func (a *Aggregator) Watermark() int64 { return a.watermark }

// Due reports whether windows closed since the last Flush (or claims not yet
// sent) wait to be reported.
func (a *Aggregator) Due() bool { return a.closed > a.reported }

// Flush hands over everything closed since the last Flush: one Report per
// slot that has a window in the newly closed range, with the counts of the
// closed windows that had records. A slot's report claims everything since
// the last claim sent to that slot, so each slot sees one contiguous claim
// per source however the windows fall. floor is the lowest first offset among the flushed
// windows (math.MaxInt64 if none had records): the input must not be committed
// past it until the reports are acknowledged.
func (a *Aggregator) Flush() (reports map[int32]*Report, floor int64) {
	floor = math.MaxInt64
	if !a.Due() {
		return nil, floor
	}
	from, to := a.reported, a.closed
	reports = make(map[int32]*Report)
	report := func(slot int32) *Report {
		r := reports[slot]
		if r == nil {
			r = &Report{Source: a.source, Sources: a.sources, From: a.claimed[slot], To: to}
			reports[slot] = r
			a.claimed[slot] = to
		}
		return r
	}
	// Every slot with a window in [from, to) must hear of the claim, even
	// without counts: its windows may be waiting for this source.
	if from == Unbounded || (to-from)/a.windows.Size >= int64(a.slots) {
		for s := int32(0); s < a.slots; s++ {
			report(s)
		}
	} else {
		for start := from; start < to; start += a.windows.Size {
			report(a.Slot(start))
		}
	}
	for start, w := range a.open {
		if start+a.windows.Size > to {
			continue
		}
		r := report(a.Slot(start))
		r.Partials = append(r.Partials, Partial{Start: start, Counts: w.counts})
		floor = min(floor, w.firstOffset)
		delete(a.open, start)
	}
	a.reported = to
	return reports, floor
}

// Slot returns the window-stage slot of the window starting at start.
func (a *Aggregator) Slot(start int64) int32 {
	return SlotOf(a.windows, start, a.slots)
}

// SafeOffset returns the lowest input offset that a replay must start from to
// rebuild every open window (math.MaxInt64 when none is open).
func (a *Aggregator) SafeOffset() int64 {
	safe := int64(math.MaxInt64)
	for _, w := range a.open {
		safe = min(safe, w.firstOffset)
	}
	return safe
}

// OpenWindows returns the number of windows counting records here.
func (a *Aggregator) OpenWindows() int { return len(a.open) }

// SlotOf spreads consecutive windows round-robin over slots.
func SlotOf(w Windows, start int64, slots int32) int32 {
	s := w.Index(start) % int64(slots)
	if s < 0 {
		s += int64(slots)
	}
	return int32(s)
}

// satSub is a-b clamped at math.MinInt64, so subtracting grace or idle from the
// earliest times cannot wrap around.
func satSub(a, b int64) int64 {
	if b > 0 && a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}

// aggregatorCheckpoint is the encoding of an Aggregator: where it sits, so
// that a checkpoint is never restored elsewhere, and everything that decides
// what it does next.
type aggregatorCheckpoint struct {
	Size      int64              `json:"size"`
	Grace     int64              `json:"grace"`
	Source    int32              `json:"source"`
	Sources   int32              `json:"sources"`
	Slots     int32              `json:"slots"`
	Watermark int64              `json:"watermark"`
	Closed    int64              `json:"closed"`
	Reported  int64              `json:"reported"`
	Claimed   []int64            `json:"claimed"`
	Open      []checkpointWindow `json:"open,omitempty"` // by start
}

type checkpointWindow struct {
	Start       int64            `json:"start"`
	FirstOffset int64            `json:"first_offset"`
	Counts      map[string]int64 `json:"counts"`
}

// Checkpoint encodes the aggregator's whole state (JSON, like the codecs in
// codec.go): the aggregator RestoreAggregator makes from it takes every
// decision this one would take from here on. Equal states encode to equal
// bytes.
func (a *Aggregator) Checkpoint() ([]byte, error) {
	c := aggregatorCheckpoint{
		Size: a.windows.Size, Grace: a.grace, Source: a.source, Sources: a.sources, Slots: a.slots,
		Watermark: a.watermark, Closed: a.closed, Reported: a.reported, Claimed: a.claimed,
		Open: make([]checkpointWindow, 0, len(a.open)),
	}
	for _, start := range slices.Sorted(maps.Keys(a.open)) {
		w := a.open[start]
		c.Open = append(c.Open, checkpointWindow{Start: start, FirstOffset: w.firstOffset, Counts: w.counts})
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("aggregator checkpoint: %w", err)
	}
	return b, nil
}

// MismatchError is a checkpoint written under another configuration than
// the one it is restored into.
type MismatchError struct {
	Field      string // "window size", "grace", "slots" or "source"
	Checkpoint int64  // its value in the checkpoint
	Configured int64
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("aggregator checkpoint does not match the configuration: %s %d, configured %d", e.Field, e.Checkpoint, e.Configured)
}

// RestoreAggregator returns the aggregator that Checkpoint encoded in data.
// It refuses a checkpoint taken under another source, number of slots,
// window size or grace than c's: its windows, claims and late decisions would
// not be this configuration's. The number of sources may have grown since
// the checkpoint (the input gained partitions): the larger one holds.
func RestoreAggregator(c AggregatorConfig, data []byte) (*Aggregator, error) {
	var cp aggregatorCheckpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return nil, fmt.Errorf("aggregator checkpoint: %w", err)
	}
	for _, d := range []MismatchError{
		{"window size", cp.Size, c.Windows.Size},
		{"grace", cp.Grace, c.Grace},
		{"slots", int64(cp.Slots), int64(c.Slots)},
		{"source", int64(cp.Source), int64(c.Source)},
	} {
		if d.Checkpoint != d.Configured {
			return nil, &d
		}
	}
	if len(cp.Claimed) != int(c.Slots) {
		return nil, fmt.Errorf("aggregator checkpoint: %d claims for %d slots", len(cp.Claimed), c.Slots)
	}
	a := NewAggregator(c)
	a.Grow(cp.Sources)
	a.watermark, a.closed, a.reported, a.claimed = cp.Watermark, cp.Closed, cp.Reported, cp.Claimed
	for _, w := range cp.Open {
		if _, dup := a.open[w.Start]; dup {
			return nil, fmt.Errorf("aggregator checkpoint: window %d twice", w.Start)
		}
		if w.Counts == nil { // a JSON null; Add writes to the map
			w.Counts = make(map[string]int64)
		}
		a.open[w.Start] = &openWindow{firstOffset: w.FirstOffset, counts: w.Counts, extra: c.Types.extra(w.Counts)}
	}
	return a, nil
}
