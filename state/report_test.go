package state

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestReportSplit: the pieces of a report tile its claim in order, hold
// each partial once inside their own claim, encode within the limit, and
// leave a slot as the whole report does.
func TestReportSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 200 {
		size := int64(1000)
		r := &Report{Source: 1, Sources: 2, From: Unbounded, To: int64(rng.IntN(500)+1) * size}
		if run%3 == 0 {
			r.From = int64(rng.IntN(10)) * size
		}
		for start := max(r.From, 0); start < r.To; start += size {
			if rng.IntN(3) == 0 {
				continue
			}
			c := make(map[string]int64)
			for k := range rng.IntN(40) + 1 {
				c[fmt.Sprintf("os-%d-%d", k, rng.IntN(1e6))] = rng.Int64N(1e12)
			}
			r.Partials = append(r.Partials, Partial{Start: start, Counts: c})
		}
		rng.Shuffle(len(r.Partials), func(i, j int) { r.Partials[i], r.Partials[j] = r.Partials[j], r.Partials[i] })
		limit := rng.IntN(8<<10) + 512
		pieces := r.Split(limit)

		from, n := r.From, 0
		for i, p := range pieces {
			if p.From != from || p.Source != r.Source || p.Sources != r.Sources || p.From >= p.To && len(pieces) > 1 {
				t.Fatalf("run %d: piece %d claims [%d, %d) of source %d, want it to start at %d", run, i, p.From, p.To, p.Source, from)
			}
			from = p.To
			for j, q := range p.Partials {
				if q.Start < max(p.From, 0) || q.Start+size > p.To || j > 0 && q.Start <= p.Partials[j-1].Start {
					t.Fatalf("run %d: piece %d [%d, %d) holds partial %d out of order or outside", run, i, p.From, p.To, q.Start)
				}
			}
			n += len(p.Partials)
			b, err := ReportCodec{}.Encode(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > limit && len(p.Partials) > 1 {
				t.Fatalf("run %d: piece %d encodes to %d bytes, limit %d", run, i, len(b), limit)
			}
		}
		if from != r.To || n != len(r.Partials) {
			t.Fatalf("run %d: pieces end at %d with %d partials; report ends at %d with %d", run, from, n, r.To, len(r.Partials))
		}

		whole, pieced := NewSlot(), NewSlot()
		other := &Report{Source: 0, Sources: 2, From: Unbounded, To: r.To}
		whole.Apply(other, 0, slotCfg)
		pieced.Apply(other, 0, slotCfg)
		want := whole.Apply(r, 1, slotCfg).Finals
		var got []Final
		for i, p := range pieces {
			got = append(got, pieced.Apply(p, int64(i+1), slotCfg).Finals...)
		}
		for i := range got {
			got[i].Offset = 1
		}
		if len(want) != len(got) || len(want) > 0 && !reflect.DeepEqual(want, got) {
			t.Fatalf("run %d: the pieces finalised %d windows, the whole report %d", run, len(got), len(want))
		}
	}
}
