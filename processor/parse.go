package processor

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lovoo/goka"

	"github.com/oscheck/oscheck/processor/classify"
	"github.com/oscheck/oscheck/processor/decode"
	"github.com/oscheck/oscheck/state"
)

// ParseStageConfig configures the parse stage.
type ParseStageConfig struct {
	Windows    state.Windows
	Grace      time.Duration
	Idle       time.Duration
	TimeSource TimeSource
	// MaxEventSkew is how far ahead of the time its record was written
	// (its Kafka timestamp) an event time may be (0: any). A record further
	// ahead goes to the dead-letter topic (ReasonFuture) instead of moving
	// the partition's event time, which would make every later record late
	// and keep its window open.
	MaxEventSkew time.Duration
	// ReportEvery is the least time between a partition's reports: windows
	// that close sooner wait for the partition's next record after it, or
	// for the idle flush. Sparse input (a record every few seconds of event
	// time) closes a window with nearly every record, and each close reports
	// to every slot; read back after downtime, that is a flood of reports
	// and window-table writes. Zero reports at once.
	ReportEvery time.Duration
	OSParam     string // query parameter that names the os_type
	// Classify configures each partition's classifier (user buckets).
	Classify []classify.Option
	// MaxOSTypes bounds, per input partition and window, the os types
	// counted under their own names besides the classifier's buckets; the
	// records of further ones count as other (state.TypeBound). 0: no bound.
	MaxOSTypes int
	// Sources is the number of input partitions at start; Grow raises it
	// when the input gains partitions.
	Sources int32
	// SlotKeys[i] is the repartition key of slot i; len(SlotKeys) is the
	// number of slots.
	SlotKeys    []string
	Repartition goka.Stream
	DeadLetter  goka.Stream
	Late        goka.Stream // "" to drop late records after counting them
	// Transactional runs the stage under exactly_once_v2: a partition's
	// state is restored from its checkpoint and reported only at commits
	// (Precommit), and nothing holds the commit back.
	Transactional bool
	// Changelog is the topic of the partitions' checkpoints, and
	// ChangelogKey(i) the key of input partition i's; ChangelogPieceKey(i,
	// n) is the key of the nth piece of one written in pieces, in the same
	// changelog partition.
	Changelog         goka.Stream
	ChangelogKey      func(partition int32) string
	ChangelogPieceKey func(partition int32, n int) string
	// Closed, if not nil, is called under exactly_once_v2 when a record
	// closes windows: their reports wait for the next commit.
	Closed func()
}

// ParseStage is the parse stage: a goka callback plus the in-memory windows of
// every input partition this instance owns.
//
// Per partition, goka runs callbacks on one goroutine, and the idle flush runs
// on another; a mutex per partition keeps them apart. The partition state is
// dropped at every new consumer-group session (Reset): the session consumes
// again from the committed offset, which Floor kept at or below the first
// record of every window still open, so the state is rebuilt exactly.
type ParseStage struct {
	cfg     ParseStageConfig
	metrics *Metrics
	types   state.TypeBound

	parts atomic.Pointer[[]*partition] // by input partition; replaced whole by Reset and Grow
	grow  sync.Mutex                   // serialises the replacements of parts
	// sources is the number of input partitions as last learned.
	sources atomic.Int32
	token   atomic.Int64 // counts down: keys of holds not tied to a record are negative
}

type partition struct {
	mu       sync.Mutex
	agg      *state.Aggregator
	dec      *decode.Decoder
	cls      *classify.Classifier
	req      decode.Request
	holds    holds
	next     int64         // offset after the last record seen, -1 before the first
	emits    []pendingEmit // decided by the record being counted, sent by Consume
	reported time.Time     // when the last reports were sent
	// start is the offset the partition's claim started at (-1 unknown),
	// and dirty whether its state changed since its last checkpoint.
	start int64
	dirty bool
	// checkpointed: the partition's state came from a checkpoint, or one
	// was sent since (Checkpointed).
	checkpointed bool
	// pieces is the number of pieces of the partition's last checkpoint
	// sent or read: a later one in fewer deletes the rest.
	pieces int

	// idle bookkeeping, touched only by the idle flush
	seen       int64
	quietSince time.Time
}

// NewParseStage returns a parse stage with no partitions.
func NewParseStage(cfg ParseStageConfig, m *Metrics) *ParseStage {
	p := &ParseStage{cfg: cfg, metrics: m}
	p.sources.Store(cfg.Sources)
	p.types = state.TypeBound{Max: cfg.MaxOSTypes, Kept: make(map[string]bool), Fold: classify.Other}
	for _, name := range classify.BucketNames(cfg.Classify...) {
		p.types.Kept[name] = true
	}
	p.Reset()
	return p
}

// Reset implements CommitFloor.
func (p *ParseStage) Reset() {
	p.grow.Lock()
	defer p.grow.Unlock()
	parts := make([]*partition, p.sources.Load())
	for i := range parts {
		parts[i] = p.newPartition(int32(i))
	}
	p.parts.Store(&parts)
}

// Grow tells the stage that the input has n partitions: it makes room for
// the new ones, and every partition's reports from now on tell the slots,
// which then wait for the new partitions' claims too. It never shrinks.
func (p *ParseStage) Grow(n int32) {
	p.grow.Lock()
	defer p.grow.Unlock()
	if n <= p.sources.Load() {
		return
	}
	p.sources.Store(n)
	old := *p.parts.Load()
	parts := make([]*partition, n)
	copy(parts, old)
	for i := len(old); i < len(parts); i++ {
		parts[i] = p.newPartition(int32(i))
	}
	for _, part := range old {
		part.mu.Lock()
		part.agg.Grow(n)
		part.mu.Unlock()
	}
	p.parts.Store(&parts)
}

func (p *ParseStage) newPartition(id int32) *partition {
	return &partition{
		agg:   state.NewAggregator(p.aggregatorConfig(id)),
		dec:   decode.NewDecoder(p.cfg.OSParam),
		cls:   classify.New(p.cfg.Classify...),
		next:  -1,
		seen:  -1,
		start: -1,
	}
}

// aggregatorConfig is the configuration of partition id's aggregator.
func (p *ParseStage) aggregatorConfig(id int32) state.AggregatorConfig {
	return state.AggregatorConfig{
		Windows: p.cfg.Windows,
		Grace:   p.cfg.Grace.Milliseconds(),
		Source:  id,
		Sources: p.sources.Load(),
		Slots:   int32(len(p.cfg.SlotKeys)),
		Types:   p.types,
	}
}

// partition returns partition id's state. A partition beyond those known
// is one the input gained: the caller should have said so (Grow) with the
// input's whole count when the partition was claimed; this is the least
// the claim itself proves.
func (p *ParseStage) partition(id int32) *partition {
	if parts := *p.parts.Load(); int(id) < len(parts) {
		return parts[id]
	}
	p.Grow(id + 1)
	return (*p.parts.Load())[id]
}

// Consume is the goka callback for the input topic.
//
// It decides under the partition's lock and emits after releasing it: goka
// acknowledges emits on the producer's goroutine, which takes the same lock
// (Done), and an emit blocks while the producer's queue is full, so emitting
// under the lock could deadlock once a burst of reports fills the queue.
func (p *ParseStage) Consume(ctx goka.Context, msg any) {
	raw, _ := msg.([]byte)
	part := p.partition(ctx.Partition())
	p.metrics.RecordsConsumed.Inc()

	part.mu.Lock()
	p.count(ctx, part, raw)
	emits := part.emits
	part.emits = part.emits[:0]
	part.mu.Unlock()

	for _, e := range emits {
		if e.headers != nil {
			ctx.Emit(e.topic, e.key, e.value, goka.WithCtxEmitHeaders(e.headers))
		} else {
			ctx.Emit(e.topic, e.key, e.value)
		}
	}
	clear(emits) // the reports and records they hold
}

// pendingEmit is an emit decided under the partition's lock.
type pendingEmit struct {
	topic   goka.Stream
	key     string
	value   any
	headers goka.Headers
}

// count decodes, classifies and counts one record, queueing on part.emits
// what must be sent. It must be called with part.mu held.
func (p *ParseStage) count(ctx goka.Context, part *partition, raw []byte) {
	offset := ctx.Offset()
	part.next = offset + 1
	part.dirty = true
	if err := part.dec.Decode(raw, &part.req); err != nil {
		reason := decode.ReasonNotAccessLog
		var de *decode.Error
		if errors.As(err, &de) {
			reason = de.Reason
		}
		p.deadLetter(ctx, part, raw, reason, err.Error())
		return
	}

	var t int64
	switch p.cfg.TimeSource {
	case TimeFromRecord:
		t = ctx.Timestamp().UnixMilli()
	case TimeFromWall:
		t = time.Now().UnixMilli()
	default:
		t = part.req.Time
	}
	if t < state.MinEventTime || t > state.MaxEventTime {
		p.deadLetter(ctx, part, raw, ReasonTimeOutOfRange,
			fmt.Sprintf("%s: event time %d ms is outside the years 1970 to 9999", ReasonTimeOutOfRange, t))
		return
	}
	// Only a record that moves event time can be too far ahead of when it
	// was written.
	if p.cfg.MaxEventSkew > 0 && p.cfg.TimeSource != TimeFromWall && t > part.agg.Watermark() {
		ref, against := p.writtenAt(ctx)
		if ahead := time.Duration(t-ref) * time.Millisecond; ahead > p.cfg.MaxEventSkew {
			p.deadLetter(ctx, part, raw, ReasonFuture, fmt.Sprintf("%s: event time %s is %v ahead of %s (max-event-skew %v)",
				ReasonFuture, time.UnixMilli(t).UTC().Format(time.RFC3339Nano), ahead.Round(time.Second), against, p.cfg.MaxEventSkew))
			return
		}
	}
	p.metrics.RecordsDecoded.Inc()
	osType := part.cls.OSType(part.req.OSParam, part.req.UserAgent)
	folded := part.agg.Folded()
	if part.agg.Add(offset, t, osType) {
		if part.agg.Folded() != folded {
			p.metrics.RecordsFolded.Inc()
		}
	} else {
		p.metrics.RecordsLate.Inc()
		if p.cfg.Late != "" {
			p.hold(part, offset, offset)
			key, value, headers := copyOut(ctx, raw, goka.Headers{"reason": []byte("late"), "os_type": []byte(osType)})
			part.emits = append(part.emits, pendingEmit{p.cfg.Late, key, value, headers})
		}
	}
	if p.cfg.Transactional {
		if p.cfg.Closed != nil && part.agg.Due() {
			p.cfg.Closed()
		}
		return
	}
	if part.agg.Due() && p.reportDue(part) {
		reports, floor := part.agg.Flush()
		if floor != math.MaxInt64 {
			part.holds.add(offset, floor)
		}
		for slot, r := range reports {
			for _, piece := range r.Split(state.MaxReportBytes) {
				part.emits = append(part.emits, pendingEmit{topic: p.cfg.Repartition, key: p.cfg.SlotKeys[slot], value: piece})
				p.metrics.ReportsSent.Inc()
			}
		}
	}
}

// writtenAt returns when the record at ctx was written (Unix ms) and what
// says so: its Kafka timestamp, which a replay reads again unchanged, so
// that every reading judges a record alike. Where the timestamp is the event
// time itself (time source record) or missing, it is the wall clock, which
// only a transaction makes a decision of once.
func (p *ParseStage) writtenAt(ctx goka.Context) (int64, string) {
	if ts := ctx.Timestamp().UnixMilli(); p.cfg.TimeSource != TimeFromRecord && ts > 0 {
		return ts, "its record's timestamp"
	}
	return time.Now().UnixMilli(), "the wall clock"
}

// hold keeps the commit at or below floor until the record at until is
// done. Under exactly_once_v2 a record's effects commit with its offset, so
// nothing is held.
func (p *ParseStage) hold(part *partition, until, floor int64) {
	if !p.cfg.Transactional {
		part.holds.add(until, floor)
	}
}

// reportDue reports whether ReportEvery has passed since the partition last
// reported, and if so starts the next interval. It must be called with
// part.mu held.
func (p *ParseStage) reportDue(part *partition) bool {
	if p.cfg.ReportEvery <= 0 {
		return true
	}
	now := time.Now()
	if now.Sub(part.reported) < p.cfg.ReportEvery {
		return false
	}
	part.reported = now
	return true
}

// ReasonTimeOutOfRange is the dead-letter reason of a record whose event time
// (from the record's timestamp, with time source "record") is outside
// [state.MinEventTime, state.MaxEventTime].
const ReasonTimeOutOfRange = "time_out_of_range"

// ReasonFuture is the dead-letter reason of a record whose event time is
// more than ParseStageConfig.MaxEventSkew ahead of the wall clock.
const ReasonFuture = "future"

// deadLetter queues raw for the dead-letter topic with its reason and holds
// the commit below the record until the broker has it: a malformed record is
// moved, never lost. It must be called with part.mu held.
func (p *ParseStage) deadLetter(ctx goka.Context, part *partition, raw []byte, reason, detail string) {
	p.metrics.RecordsMalformed.WithLabelValues(reason).Inc()
	p.hold(part, ctx.Offset(), ctx.Offset())
	key, value, headers := copyOut(ctx, raw, goka.Headers{"reason": []byte(detail)})
	part.emits = append(part.emits, pendingEmit{p.cfg.DeadLetter, key, value, headers})
}

// MaxCopyBytes is the most of an input record the parse stage copies to the
// dead-letter or late topic. An input topic may allow larger records than
// the producer (1 MB) or those topics take, and a record that cannot be
// written would fail its transaction, and every replay of it, for ever.
const MaxCopyBytes = 256 << 10

// MaxCopyKeyBytes is the most of an input record's key the parse stage
// copies with it: the key counts against the same limits as the value.
const MaxCopyKeyBytes = 4 << 10

// copyOut returns what to write of the record raw, read at ctx, with
// headers: its key and raw themselves, or, if either is too long, their
// first MaxCopyKeyBytes and MaxCopyBytes and a header "truncated" that says
// where the whole record is.
func copyOut(ctx goka.Context, raw []byte, headers goka.Headers) (string, []byte, goka.Headers) {
	key := ctx.Key()
	if len(raw) <= MaxCopyBytes && len(key) <= MaxCopyKeyBytes {
		return key, raw, headers
	}
	k, v := min(len(key), MaxCopyKeyBytes), min(len(raw), MaxCopyBytes)
	headers["truncated"] = fmt.Appendf(nil, "the first %d of %d bytes of the key and %d of %d bytes of the value; "+
		"the whole record is at partition %d offset %d of the input", k, len(key), v, len(raw), ctx.Partition(), ctx.Offset())
	return key[:k], raw[:v], headers
}

// Done implements CommitFloor.
func (p *ParseStage) Done(id int32, next int64) int64 {
	part := p.partition(id)
	part.mu.Lock()
	defer part.mu.Unlock()
	part.holds.release(next - 1)
	return min(part.holds.floor(), part.agg.SafeOffset())
}

// Floor implements CommitFloor: the first record of the oldest open window, or
// of a flushed window whose report is not yet acknowledged.
func (p *ParseStage) Floor(id int32) int64 {
	part := p.partition(id)
	part.mu.Lock()
	defer part.mu.Unlock()
	return min(part.holds.floor(), part.agg.SafeOffset())
}

// OpenWindows returns the number of windows open across owned partitions.
func (p *ParseStage) OpenWindows() int {
	parts := *p.parts.Load()
	n := 0
	for _, part := range parts {
		part.mu.Lock()
		n += part.agg.OpenWindows()
		part.mu.Unlock()
	}
	return n
}
