package processor

import (
	"math"
	"time"

	"github.com/oscheck/oscheck/state"
)

// IdleFlush is what an idle partition has to send: reports keyed by their
// repartition key. Release must be called once every report is acknowledged;
// until then the partition's commit stays below the flushed windows.
type IdleFlush struct {
	Partition int32
	Reports   map[string][]*state.Report // in the order they must be sent
	Release   func()
}

// IdleFlushes closes the windows of every partition that is idle — caught up
// with its high-water mark and without a new record for the idle timeout —
// per state.Aggregator.CloseIdle, and returns what must be sent. position
// tells whether a partition is assigned here and whether a consumer whose next
// offset is next (-1: no record consumed yet this session) has caught up with
// the partition's high-water mark.
//
// A partition that is behind is never idle, however long since its last
// record: a replay after downtime must not close windows it is about to fill.
func (p *ParseStage) IdleFlushes(now time.Time, position func(partition int32, next int64) (owned, caughtUp bool)) []IdleFlush {
	parts := *p.parts.Load()
	var out []IdleFlush
	for id, part := range parts {
		if !p.closeIdle(int32(id), part, now, position) {
			continue
		}
		part.mu.Lock()
		if part.agg.Due() {
			out = append(out, p.flushIdle(int32(id), part))
		}
		part.mu.Unlock()
	}
	return out
}

// closeIdle closes the windows of partition id if it is idle, and reports
// whether the partition is owned here (see IdleFlushes).
func (p *ParseStage) closeIdle(id int32, part *partition, now time.Time, position func(partition int32, next int64) (owned, caughtUp bool)) bool {
	part.mu.Lock()
	next := part.next
	part.mu.Unlock()
	// Asked without the partition lock: the topology takes its own lock
	// and then the partition's when it commits.
	owned, caughtUp := position(id, next)
	if !owned {
		return false
	}
	part.mu.Lock()
	defer part.mu.Unlock()
	if part.next != part.seen || part.quietSince.IsZero() {
		part.seen = part.next
		part.quietSince = now
	}
	if caughtUp && part.next == next && now.Sub(part.quietSince) >= p.cfg.Idle {
		part.agg.CloseIdle(now.UnixMilli(), p.cfg.Idle.Milliseconds())
	}
	return true
}

// flushIdle must be called with part.mu held.
func (p *ParseStage) flushIdle(id int32, part *partition) IdleFlush {
	reports, floor := part.agg.Flush()
	f := IdleFlush{Partition: id, Reports: make(map[string][]*state.Report, len(reports)), Release: func() {}}
	for slot, r := range reports {
		f.Reports[p.cfg.SlotKeys[slot]] = r.Split(state.MaxReportBytes)
		p.metrics.ReportsSent.Add(float64(len(f.Reports[p.cfg.SlotKeys[slot]])))
	}
	if floor != math.MaxInt64 {
		key := p.token.Add(-1)
		part.holds.add(key, floor)
		f.Release = func() {
			part.mu.Lock()
			part.holds.release(key)
			part.mu.Unlock()
		}
	}
	return f
}
