package processor

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/state"
)

// FuzzParseStage runs arbitrary record sequences through the whole parse
// stage (decode, classify, bound, aggregate, report), under exactly_once_v2
// with commits and aborts at arbitrary points (an abort restores the last
// committed checkpoint and reads the records after it again) or under
// at_least_once, and checks that nothing panics and that, in what was
// committed, every record was counted, late or dead-lettered exactly once,
// each window reported once, and each slot's claims contiguous.
func FuzzParseStage(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 10, 20, 7, 4, 3, 'x', 'y', 'z', 5, 6, 15, 1, 0, 0, 23, 9})
	f.Add([]byte{8, 0, 0, 0, 0, 16, 0, 200, 0, 24, 0, 100, 0, 7, 1, 2, 31, 0, 5})
	// Four os types in one window, two over the bound, then a commit, an
	// abort and the same again, under exactly_once_v2.
	f.Add([]byte{1, 1, 0, 0, 0, 8, 0, 1, 16, 0, 1, 24, 0, 1, 7, 8, 0, 1, 16, 0, 1, 24, 0, 1, 15, 24, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		h := newStageHarness(t, data[0]&1 == 1, int64(data[1]%4)*500)
		for ops := data[2:]; len(ops) > 0; {
			op := ops[0]
			ops = ops[1:]
			switch op % 8 {
			case 0, 1, 2, 3: // a line, at an offset from the previous one's time
				var delta int64
				if len(ops) >= 2 {
					delta = int64(int16(uint16(ops[0])<<8|uint16(ops[1]))) * 37
					ops = ops[2:]
				}
				h.line(delta, []string{"ios", "a", "b", "c"}[op/8%4])
			case 4: // raw bytes
				n := 0
				if len(ops) > 0 {
					n, ops = min(int(ops[0])%16, len(ops)-1), ops[1:]
				}
				h.add(ops[:n])
				ops = ops[n:]
			case 5:
				h.add(nil)
			case 6:
				h.add(lineAt(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), "ios"))
			case 7:
				if op/8%2 == 0 {
					h.commit()
				} else {
					h.abort()
				}
			}
		}
		h.finish()
	})
}

func lineAt(at time.Time, osType string) []byte {
	return fmt.Appendf(nil, `10.0.0.1 - - [%s] "GET /?os_type=%s HTTP/1.1" 200 1`, at.Format("02/Jan/2006:15:04:05 -0700"), osType)
}

// stageHarness plays one input partition through a ParseStage and keeps what
// was committed.
type stageHarness struct {
	t       *testing.T
	txn     bool
	cfg     ParseStageConfig
	p       *ParseStage
	records [][]byte
	at      int64 // event time of the last line, Unix ms
	next    int   // the next record to consume

	committed, pending outcome
	checkpoint         []byte // the last committed checkpoint
	checkpointNext     int    // where it resumes
}

type outcome struct {
	counted, late, dead int
	reports             []slotReport
}

type slotReport struct {
	slot string
	*state.Report
}

func newStageHarness(t *testing.T, txn bool, grace int64) *stageHarness {
	h := &stageHarness{t: t, txn: txn, at: time.Date(2019, 8, 14, 0, 0, 0, 0, time.UTC).UnixMilli()}
	h.cfg = ParseStageConfig{
		Windows: state.Windows{Size: 1000}, Grace: time.Duration(grace) * time.Millisecond, Idle: time.Second,
		MaxEventSkew: 15 * time.Minute, MaxOSTypes: 2, OSParam: "os_type", Sources: 1,
		SlotKeys: []string{"s0", "s1"}, Repartition: "reports", DeadLetter: "dlq", Late: "late",
		Transactional: txn, Changelog: "changelog", ChangelogKey: func(int32) string { return "c0" },
	}
	h.p = NewParseStage(h.cfg, NewMetrics(prometheus.NewRegistry()))
	return h
}

func (h *stageHarness) line(delta int64, osType string) {
	h.at += delta
	h.add(lineAt(time.UnixMilli(h.at).UTC(), osType))
}

// add appends a record and consumes it.
func (h *stageHarness) add(raw []byte) {
	h.records = append(h.records, raw)
	h.consume()
}

// consume feeds every record not consumed yet to the parser.
func (h *stageHarness) consume() {
	for ; h.next < len(h.records); h.next++ {
		ctx := &stageContext{h: h, offset: int64(h.next)}
		h.p.Consume(ctx, h.records[h.next])
	}
}

type stageContext struct {
	gokaContext
	h      *stageHarness
	offset int64
}

func (c *stageContext) Offset() int64        { return c.offset }
func (c *stageContext) Partition() int32     { return 0 }
func (c *stageContext) Key() string          { return "" }
func (c *stageContext) Timestamp() time.Time { return time.UnixMilli(c.h.at) }
func (c *stageContext) Emit(topic goka.Stream, key string, value any, _ ...goka.ContextOption) {
	h := c.h
	switch topic {
	case "dlq":
		h.pending.dead++
	case "late":
		h.pending.late++
	case "reports":
		h.pending.add(key, value.(*state.Report))
	default:
		h.t.Fatalf("emit to %s", topic)
	}
	if !h.txn {
		h.p.Done(0, c.offset+1)
		h.committed.merge(&h.pending)
	}
}

func (o *outcome) add(slot string, r *state.Report) {
	for _, p := range r.Partials {
		for _, n := range p.Counts {
			o.counted += int(n)
		}
	}
	o.reports = append(o.reports, slotReport{slot, r})
}

func (o *outcome) merge(from *outcome) {
	o.counted += from.counted
	o.late += from.late
	o.dead += from.dead
	o.reports = append(o.reports, from.reports...)
	*from = outcome{}
}

// commit ends the transaction as the topology does: what Precommit returns
// joins it, and all of it becomes committed with the checkpoint.
func (h *stageHarness) commit() {
	if !h.txn {
		return
	}
	recs, err := h.p.Precommit()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, r := range recs {
		switch r.Topic {
		case "reports":
			rep, err := state.ReportCodec{}.Decode(r.Value)
			if err != nil {
				h.t.Fatal(err)
			}
			h.pending.add(r.Key, rep.(*state.Report))
		case "changelog":
			h.checkpoint = r.Value
		}
	}
	h.committed.merge(&h.pending)
	h.checkpointNext = h.next
}

// abort drops the transaction, and the stage starts again from what was
// committed, reading again every record after it.
func (h *stageHarness) abort() {
	if !h.txn {
		return
	}
	h.pending = outcome{}
	h.p.Reset()
	initial := int64(-1)
	if h.checkpoint != nil {
		initial = int64(h.checkpointNext)
	}
	if _, err := h.p.Restore(0, h.checkpoint, initial, nil); err != nil {
		h.t.Fatal(err)
	}
	h.next = h.checkpointNext
	h.consume()
}

// finish closes every window by idle timeout, commits, and checks.
func (h *stageHarness) finish() {
	owned := func(int32, int64) (bool, bool) { return true, true }
	far := time.Now().Add(24 * time.Hour)
	for _, now := range []time.Time{far, far.Add(time.Minute)} {
		if h.txn {
			h.p.CloseIdle(now, owned)
			continue
		}
		for _, fl := range h.p.IdleFlushes(now, owned) {
			for slot, rs := range fl.Reports {
				for _, r := range rs {
					h.committed.add(slot, r)
				}
			}
			fl.Release()
		}
	}
	h.commit()
	c := h.committed
	if got := c.counted + c.late + c.dead; got != len(h.records) {
		h.t.Fatalf("%d records: %d counted, %d late, %d dead letters", len(h.records), c.counted, c.late, c.dead)
	}
	if f := h.p.Floor(0); !h.txn && f != math.MaxInt64 {
		h.t.Errorf("the commit is still held at %d with every record done", f)
	}
	claimed := map[string]int64{}
	windows := map[int64]bool{}
	for _, r := range c.reports {
		if to, ok := claimed[r.slot]; ok && r.From != to {
			h.t.Fatalf("slot %s: a claim from %d after one to %d", r.slot, r.From, to)
		}
		claimed[r.slot] = r.To
		for _, p := range r.Partials {
			if windows[p.Start] {
				h.t.Fatalf("window %d reported twice", p.Start)
			}
			windows[p.Start] = true
			if p.Start < r.From || p.Start+h.cfg.Windows.Size > r.To {
				h.t.Fatalf("window %d outside its report's claim [%d, %d)", p.Start, r.From, r.To)
			}
		}
	}
}

// TestStageHarness keeps FuzzParseStage honest: its lines decode, and are
// counted, folded and dead-lettered as the stage should, under both
// guarantees, an abort included.
func TestStageHarness(t *testing.T) {
	for _, txn := range []bool{false, true} {
		h := newStageHarness(t, txn, 0)
		h.line(0, "a")
		h.line(1, "b")
		h.commit()
		h.line(1, "c") // over the bound of 2: other
		h.add(nil)
		h.abort()
		h.line(5000, "ios")
		h.finish()
		c := h.committed
		counts := map[string]int64{}
		for _, r := range c.reports {
			for _, p := range r.Partials {
				for os, n := range p.Counts {
					counts[os] += n
				}
			}
		}
		if c.counted != 4 || c.dead != 1 || c.late != 0 || counts["a"] != 1 || counts["b"] != 1 || counts["other"] != 1 || counts["ios"] != 1 {
			t.Errorf("transactional %v: %d counted (%v), %d dead letters, %d late; want a, b, other and ios once each and 1 dead letter",
				txn, c.counted, counts, c.dead, c.late)
		}
	}
}
