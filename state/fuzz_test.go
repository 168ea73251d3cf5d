package state

import (
	"maps"
	"math/rand/v2"
	"testing"
)

// FuzzAggregatorSlot drives up to three source partitions and up to three
// slots from the fuzz input: records with small signed time steps (so windows
// close, records come late, times cross the epoch), idle closes, deliveries
// of pending reports in any interleaving of sources, and re-deliveries of
// reports already applied. At the end every partition closes everything and
// all reports are delivered. It checks that nothing panics, that every Add
// agrees with the reference model, that no window is final twice (and the
// other harness invariants on every Apply), that the finals are exactly the
// counted records, and that finals plus late records account for every
// record.
//
// Input layout: sources, slots, grace, then (op, arg) byte pairs; op&7 is the
// action (0-4 add with os op&7, 5 deliver, 6 idle close, 7 re-deliver), op>>3
// picks the partition.
func FuzzAggregatorSlot(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 5, 1, 20, 2, 200, 5, 0})
	f.Add([]byte{2, 2, 1, 0, 10, 8, 30, 16, 3, 1, 120, 5, 0, 9, 250, 6, 255, 13, 1, 7, 0, 0, 1})
	f.Add([]byte{1, 2, 3, 0, 127, 0, 129, 0, 127, 8, 128, 5, 7, 14, 40, 7, 3, 2, 0x80, 22, 9})
	rng := rand.New(rand.NewPCG(9, 9))
	for range 16 {
		b := make([]byte, 8+rng.IntN(120))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		const size = 10
		c := pipeCfg{size: size, grace: int64(data[2]%4) * size / 2, P: 1 + int32(data[0]%3), R: 1 + int32(data[1]%3)}
		h := newHarness(t, rand.New(rand.NewPCG(uint64(len(data)), uint64(data[0])<<8|uint64(data[len(data)-1]))), size, c.R)

		aggs := make([]*Aggregator, c.P)
		models := make([]*model, c.P)
		cur := make([]int64, c.P)
		nextOff := make([]int64, c.P)
		for p := range aggs {
			aggs[p] = c.aggregator(int32(p))
			models[p] = newModel(c.size, c.grace)
			cur[p] = 1000 // event times stay inside the domain (>= MinEventTime)
		}
		pending := make([][][]*Report, c.R) // slot -> source -> reports not yet delivered
		for s := range pending {
			pending[s] = make([][]*Report, c.P)
		}
		type sent struct {
			slot int32
			r    *Report
		}
		var delivered []sent
		truth := map[int64]map[string]int64{}
		records, late := 0, 0

		flush := func(p int32) {
			if aggs[p].Due() != models[p].due() {
				t.Fatalf("source %d: Due = %v, model %v", p, aggs[p].Due(), models[p].due())
			}
			if !aggs[p].Due() {
				return
			}
			reports, _ := aggs[p].Flush()
			models[p].flush()
			for slot, r := range reports {
				pending[slot][p] = append(pending[slot][p], r)
			}
		}
		deliver := func(slot, src int32, n int) {
			for ; n > 0 && len(pending[slot][src]) > 0; n-- {
				r := pending[slot][src][0]
				pending[slot][src] = pending[slot][src][1:]
				h.apply(slot, r)
				delivered = append(delivered, sent{slot, r})
			}
		}

		ops := data[3:]
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i], ops[i+1]
			p := int32(op>>3) % c.P
			switch kind := op & 7; kind {
			case 0, 1, 2, 3, 4:
				tm := cur[p] + int64(int8(arg))
				cur[p] = max(cur[p], tm)
				r := record{off: nextOff[p], t: tm, os: osTypes[kind]}
				nextOff[p] += 1 + int64(arg>>6)
				got, want := aggs[p].Add(r.off, r.t, r.os), models[p].add(r)
				if got != want {
					t.Fatalf("source %d: Add(%+v) = %v, model says %v", p, r, got, want)
				}
				records++
				if !got {
					late++
				} else {
					ws := refStart(r.t, c.size)
					if truth[ws] == nil {
						truth[ws] = map[string]int64{}
					}
					truth[ws][r.os]++
				}
				flush(p)
			case 5:
				slot := int32(arg) % c.R
				deliver(slot, int32(arg>>2)%c.P, 1+int(arg>>5))
			case 6:
				now := cur[p] + int64(arg) - 64
				aggs[p].CloseIdle(now, size)
				models[p].closeIdle(now, size)
				flush(p)
			case 7:
				if len(delivered) > 0 {
					d := delivered[int(arg)%len(delivered)]
					h.apply(d.slot, d.r)
				}
			}
		}

		for p := range c.P {
			aggs[p].CloseIdle(farFuture, 0)
			models[p].closeIdle(farFuture, 0)
			flush(p)
			if aggs[p].OpenWindows() != 0 {
				t.Fatalf("source %d: %d windows open after closing everything", p, aggs[p].OpenWindows())
			}
		}
		for slot := range c.R {
			for src := range c.P {
				deliver(slot, src, len(pending[slot][src]))
			}
		}

		h.checkFinals(truth)
		counted := int64(0)
		for _, fc := range h.finals {
			for _, n := range fc {
				counted += n
			}
		}
		if counted+int64(late) != int64(records) {
			t.Fatalf("finals count %d records and %d were late, of %d", counted, late, records)
		}
		modelLate := 0
		for _, m := range models {
			modelLate += m.late
		}
		if late != modelLate {
			t.Fatalf("%d late, model says %d", late, modelLate)
		}
		if !maps.EqualFunc(h.finals, truth, maps.Equal) {
			t.Fatalf("finals %v, want %v", h.finals, truth)
		}
	})
}
