package processor

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/lovoo/goka"

	"github.com/oscheck/oscheck/state"
)

// Record is a record a stage sends outside goka's callbacks.
type Record struct {
	Topic goka.Stream
	Key   string
	Value []byte
}

// checkpoint is a parse-stage partition's state as committed with its input
// offset in one transaction: the aggregator after every record before Next
// (and every idle close since) was applied.
type checkpoint struct {
	Next       int64           `json:"next"` // -1: the group had no committed offset
	Aggregator json.RawMessage `json:"aggregator,omitempty"`
	// Checked tells that every event time in the aggregator passed the
	// max-event-skew check; a checkpoint without it (written with the check
	// off, or by an oscheck without it) is checked against the wall clock
	// when restored under a skew.
	Checked bool `json:"checked,omitempty"`
	// Pieces is the number of records the aggregator was written in
	// before this one, under ChangelogPieceKey(partition, 1 … Pieces) in
	// the same transaction, when it is larger than MaxCheckpointBytes (0:
	// it is in Aggregator); Sum is the SHA-256 of the whole, which tells
	// them from an older checkpoint's pieces left under the same keys.
	Pieces int    `json:"pieces,omitempty"`
	Sum    string `json:"sum,omitempty"`
}

// MaxCheckpointBytes bounds a checkpoint record. A partition's open windows
// take more with a long grace and hundreds of os types a window; the
// checkpoint is then written in pieces of at most this size.
const MaxCheckpointBytes = 192 << 10

// checkpointRecords returns the changelog records of partition id's
// checkpoint cp of aggregator agg: its pieces, if it needs them, a deletion
// (a nil value) of each piece beyond them up to the count of the previous
// checkpoint, stale (compaction keeps a key's last value for ever), and last
// the checkpoint itself; and the number of its pieces.
func (p *ParseStage) checkpointRecords(id int32, cp checkpoint, agg []byte, stale int) ([]Record, int, error) {
	var out []Record
	if len(agg) > MaxCheckpointBytes {
		sum := sha256.Sum256(agg)
		cp.Sum = hex.EncodeToString(sum[:])
		for piece := range slices.Chunk(agg, MaxCheckpointBytes) {
			cp.Pieces++
			out = append(out, Record{Topic: p.cfg.Changelog, Key: p.cfg.ChangelogPieceKey(id, cp.Pieces), Value: piece})
		}
	} else {
		cp.Aggregator = agg
	}
	for n := cp.Pieces + 1; n <= stale; n++ {
		out = append(out, Record{Topic: p.cfg.Changelog, Key: p.cfg.ChangelogPieceKey(id, n)})
	}
	v, err := json.Marshal(cp)
	if err != nil {
		return nil, 0, fmt.Errorf("checkpoint of partition %d: %w", id, err)
	}
	return append(out, Record{Topic: p.cfg.Changelog, Key: p.cfg.ChangelogKey(id), Value: v}), cp.Pieces, nil
}

// assemble returns the aggregator of checkpoint cp, reading its pieces with
// pieces.
func (cp checkpoint) assemble(pieces func(n int) ([][]byte, error)) ([]byte, error) {
	if cp.Pieces == 0 {
		return cp.Aggregator, nil
	}
	got, err := pieces(cp.Pieces)
	if err != nil {
		return nil, fmt.Errorf("its %d pieces: %w", cp.Pieces, err)
	}
	if len(got) != cp.Pieces {
		return nil, fmt.Errorf("%d of its %d pieces read", len(got), cp.Pieces)
	}
	agg := bytes.Join(got, nil)
	if sum := sha256.Sum256(agg); hex.EncodeToString(sum[:]) != cp.Sum {
		return nil, fmt.Errorf("its %d pieces are not the ones it was written with (the changelog lost records)", cp.Pieces)
	}
	return agg, nil
}

// Restore rebuilds partition id from data, the value of its last committed
// checkpoint (nil for none), when the checkpoint describes the partition at
// initial, the offset its claim starts at (-1 when the group has none);
// otherwise the partition starts empty, as a new one does. The two agree
// whenever both were committed in exactly_once_v2's transactions. They
// differ after at_least_once ran (it commits offsets, not checkpoints), and
// when the group's offsets were reset, to read the input again. pieces(n)
// returns the values committed with the checkpoint under
// ChangelogPieceKey(id, 1 … n), for a checkpoint written in pieces.
func (p *ParseStage) Restore(id int32, data []byte, initial int64, pieces func(n int) ([][]byte, error)) (restored bool, err error) {
	part := p.partition(id)
	part.mu.Lock()
	defer part.mu.Unlock()
	part.start = initial
	if data == nil {
		return false, nil
	}
	var cp checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return false, fmt.Errorf("decoding the checkpoint of partition %d: %w", id, err)
	}
	// Its pieces are in the changelog, whether it is restored or not: the
	// next checkpoint deletes those it does not write again. (More is no
	// harm: a deletion beyond the next one's pieces.)
	part.pieces = max(part.pieces, cp.Pieces)
	if cp.Next != initial {
		return false, nil
	}
	whole, err := cp.assemble(pieces)
	if err != nil {
		return false, fmt.Errorf("the checkpoint of partition %d: %w", id, err)
	}
	agg, err := state.RestoreAggregator(p.aggregatorConfig(id), whole)
	if err != nil {
		return false, fmt.Errorf("the checkpoint of partition %d does not fit this configuration "+
			"(were window or grace changed, or the input's partitions?): %w", id, err)
	}
	if p.cfg.MaxEventSkew > 0 && !cp.Checked {
		if w := agg.Watermark(); w > time.Now().Add(p.cfg.MaxEventSkew).UnixMilli() {
			return false, &FutureStateError{Partition: id, EventTime: time.UnixMilli(w).UTC()}
		}
	}
	part.agg = agg
	part.checkpointed = true
	return true, nil
}

// FutureStateError is a checkpoint whose event time is further ahead of the
// wall clock than MaxEventSkew allows: a line from the future moved it
// before the check existed, or while it was off, and every later record of
// the partition would be late. Its windows' claims reached the window stage
// already, so no restore can undo it; the repair is a new group.
type FutureStateError struct {
	Partition int32
	EventTime time.Time
}

func (e *FutureStateError) Error() string {
	return fmt.Sprintf("the committed windows of input partition %d have event time %s, ahead of the wall clock",
		e.Partition, e.EventTime.Format(time.RFC3339))
}

// CloseIdle closes, under exactly_once_v2, the windows of every partition
// that is idle, as IdleFlushes does, and reports whether windows wait to be
// reported: their reports go out with the next commit (Precommit), which the
// caller should ask for soon.
func (p *ParseStage) CloseIdle(now time.Time, position func(partition int32, next int64) (owned, caughtUp bool)) (due bool) {
	for id, part := range *p.parts.Load() {
		if !p.closeIdle(int32(id), part, now, position) {
			continue
		}
		part.mu.Lock()
		due = due || part.agg.Due()
		part.mu.Unlock()
	}
	return due
}

// Precommit is the parse stage's part of every transaction under
// exactly_once_v2, called with every partition's records stopped: it returns
// the reports of every window closed since the last commit and a checkpoint
// of every partition whose state changed. Windows are reported only here, so
// a partition sends each slot at most one report per transaction.
func (p *ParseStage) Precommit() ([]Record, error) {
	var out []Record
	for id, part := range *p.parts.Load() {
		part.mu.Lock()
		recs, err := p.precommit(int32(id), part)
		part.mu.Unlock()
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

// precommit must be called with part.mu held.
func (p *ParseStage) precommit(id int32, part *partition) ([]Record, error) {
	var out []Record
	if part.agg.Due() {
		reports, _ := part.agg.Flush()
		for slot, r := range reports {
			for _, piece := range r.Split(state.MaxReportBytes) {
				v, err := state.ReportCodec{}.Encode(piece)
				if err != nil {
					return nil, err
				}
				out = append(out, Record{Topic: p.cfg.Repartition, Key: p.cfg.SlotKeys[slot], Value: v})
				p.metrics.ReportsSent.Inc()
			}
		}
		part.dirty = true
	}
	if !part.dirty {
		return out, nil
	}
	agg, err := part.agg.Checkpoint()
	if err != nil {
		return nil, fmt.Errorf("checkpoint of partition %d: %w", id, err)
	}
	next := part.next
	if next < 0 {
		next = part.start
	}
	recs, pieces, err := p.checkpointRecords(id, checkpoint{Next: next, Checked: p.cfg.MaxEventSkew > 0}, agg, part.pieces)
	if err != nil {
		return nil, err
	}
	part.pieces = pieces
	part.dirty = false
	part.checkpointed = true
	return append(out, recs...), nil
}

// Checkpointed reports whether partition id's committed position, once the
// transaction at hand commits, has a checkpoint: restored from one, or one
// was sent since. The topology marks such positions, so that a restore
// that finds none can tell a lost changelog from a partition that never
// had one.
func (p *ParseStage) Checkpointed(id int32) bool {
	parts := *p.parts.Load()
	if int(id) >= len(parts) {
		return false
	}
	part := parts[id]
	part.mu.Lock()
	defer part.mu.Unlock()
	return part.checkpointed
}
