package state

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

type timed struct {
	t       int64
	counted bool
}

// TestAggregatorLateRule: a window [s,e) closes when the watermark reaches
// exactly e+grace; a record in a closed window is late, one in a window that
// is not closed yet is counted however far out of order it is.
func TestAggregatorLateRule(t *testing.T) {
	tests := []struct {
		name  string
		grace int64
		recs  []timed
	}{
		{"grace 0, end == watermark is late", 0, []timed{{1000, true}, {999, false}, {1000, true}, {0, false}}},
		{"grace 0, in order", 0, []timed{{0, true}, {999, true}, {1000, true}, {1999, true}}},
		{"grace 500, watermark one below end+grace", 500, []timed{{1499, true}, {0, true}, {999, true}}},
		{"grace 500, watermark at end+grace", 500, []timed{{1500, true}, {999, false}, {0, false}, {1000, true}}},
		{"grace 500, watermark past end+grace", 500, []timed{{1501, true}, {999, false}}},
		{"out of order within grace", 2500, []timed{{5000, true}, {2600, true}, {2500, true}, {2000, true}, {1999, false}, {4999, true}}},
		{"watermark never goes back", 0, []timed{{5000, true}, {100, false}, {4000, false}, {4999, false}, {5000, true}}},
		{"outside the event-time domain refused", 0, []timed{{-1, false}, {MaxEventTime + 1, false}, {MinEventTime, true}, {MaxEventTime, true}}},
		{"own window never late", 0, []timed{{3000, true}, {3999, true}, {7000, true}, {7000, true}}},
		{"grace several windows", 3000, []timed{{10_000, true}, {7000, true}, {6999, false}, {12_999, true}, {8999, false}, {9000, true}, {9999, true}, {10_000, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAggregator(AggregatorConfig{Windows: Windows{1000}, Grace: tt.grace, Sources: 1, Slots: 1})
			for i, r := range tt.recs {
				if got := a.Add(int64(i), r.t, "linux"); got != r.counted {
					t.Fatalf("record %d (t=%d): Add = %v, want %v", i, r.t, got, r.counted)
				}
			}
		})
	}
}

// TestAggregatorFlushScript walks one aggregator through claims of every
// shape and checks each report, the floors and the safe offsets.
func TestAggregatorFlushScript(t *testing.T) {
	const src, srcs, slots = 2, 3, 4
	a := NewAggregator(AggregatorConfig{Windows: Windows{1000}, Grace: 0, Source: src, Sources: srcs, Slots: slots})

	type want struct {
		from, to int64
		slots    []int32                    // slots that must receive a report
		partials map[int64]map[string]int64 // window -> counts, over all reports
		floor    int64
		safe     int64 // SafeOffset after the flush
		open     int   // OpenWindows after the flush
	}
	// Each slot's claim starts where the last claim sent to that slot ended.
	claimed := map[int32]int64{}
	check := func(step string, w want) {
		t.Helper()
		if !a.Due() {
			t.Fatalf("%s: not due", step)
		}
		reports, floor := a.Flush()
		if got := slices.Sorted(maps.Keys(reports)); !slices.Equal(got, w.slots) {
			t.Fatalf("%s: reports to slots %v, want %v", step, got, w.slots)
		}
		got := map[int64]map[string]int64{}
		for slot, r := range reports {
			from, ok := claimed[slot]
			if !ok {
				from = Unbounded
			}
			if r.Source != src || r.Sources != srcs || r.From != from || r.To != w.to {
				t.Fatalf("%s: slot %d report %+v, want source %d/%d claim [%d,%d)", step, slot, r, src, srcs, from, w.to)
			}
			claimed[slot] = w.to
			for _, p := range r.Partials {
				if s := SlotOf(Windows{1000}, p.Start, slots); s != slot {
					t.Fatalf("%s: partial of window %d sent to slot %d, belongs to %d", step, p.Start, slot, s)
				}
				if _, dup := got[p.Start]; dup {
					t.Fatalf("%s: window %d reported twice", step, p.Start)
				}
				got[p.Start] = p.Counts
			}
		}
		if len(got) != len(w.partials) {
			t.Fatalf("%s: partials %v, want %v", step, got, w.partials)
		}
		for ws, c := range w.partials {
			if !maps.Equal(got[ws], c) {
				t.Fatalf("%s: partials %v, want %v", step, got, w.partials)
			}
		}
		if floor != w.floor {
			t.Fatalf("%s: floor %d, want %d", step, floor, w.floor)
		}
		if s := a.SafeOffset(); s != w.safe {
			t.Fatalf("%s: SafeOffset %d, want %d", step, s, w.safe)
		}
		if n := a.OpenWindows(); n != w.open {
			t.Fatalf("%s: OpenWindows %d, want %d", step, n, w.open)
		}
		if a.Due() {
			t.Fatalf("%s: still due after Flush", step)
		}
		if r, f := a.Flush(); r != nil || f != math.MaxInt64 {
			t.Fatalf("%s: second Flush = %v, %d; want nothing", step, r, f)
		}
	}
	all := []int32{0, 1, 2, 3}

	if a.Due() {
		t.Fatal("fresh aggregator is due")
	}
	if r, f := a.Flush(); r != nil || f != math.MaxInt64 {
		t.Fatalf("fresh Flush = %v, %d", r, f)
	}
	if s := a.SafeOffset(); s != math.MaxInt64 {
		t.Fatalf("fresh SafeOffset = %d", s)
	}

	a.Add(10, 500, "linux")
	check("first claim", want{from: Unbounded, to: 0, slots: all, partials: map[int64]map[string]int64{}, floor: math.MaxInt64, safe: 10, open: 1})

	a.Add(11, 1200, "ios")
	check("one window", want{from: 0, to: 1000, slots: []int32{0},
		partials: map[int64]map[string]int64{0: {"linux": 1}}, floor: 10, safe: 11, open: 1})

	a.Add(12, 3500, "linux")
	check("two windows, one empty", want{from: 1000, to: 3000, slots: []int32{1, 2},
		partials: map[int64]map[string]int64{1000: {"ios": 1}}, floor: 11, safe: 12, open: 1})

	a.Add(13, 7100, "linux")
	check("exactly slots windows", want{from: 3000, to: 7000, slots: all,
		partials: map[int64]map[string]int64{3000: {"linux": 1}}, floor: 12, safe: 13, open: 1})

	a.Add(14, 7200, "macos")
	a.Add(15, 8100, "macos") // closes [7000,8000), not flushed yet
	a.Add(16, 7900, "linux") // late: not flushed, but closed all the same
	a.Add(17, 12_999, "linux")
	check("more than slots windows", want{from: 7000, to: 12_000, slots: all,
		partials: map[int64]map[string]int64{7000: {"linux": 1, "macos": 1}, 8000: {"macos": 1}}, floor: 13, safe: 17, open: 1})

	a.Add(18, 13_000, "linux") // [12000,13000) closes
	a.Add(19, 14_500, "linux") // and [13000,14000)
	check("two windows with counts", want{from: 12_000, to: 14_000, slots: []int32{0, 1},
		partials: map[int64]map[string]int64{12_000: {"linux": 1}, 13_000: {"linux": 1}}, floor: 17, safe: 19, open: 1})

	a.CloseIdle(20_000, 1000)
	check("idle close", want{from: 14_000, to: 19_000, slots: all,
		partials: map[int64]map[string]int64{14_000: {"linux": 1}}, floor: 19, safe: math.MaxInt64, open: 0})
}

// TestAggregatorCloseIdle: CloseIdle(now, idle) closes exactly the windows
// ending at or before Start(now-idle-grace), never reopens any, and leaves the
// watermark alone.
func TestAggregatorCloseIdle(t *testing.T) {
	const size, grace, idle = 1000, 200, 300
	tests := []struct {
		now    int64
		closed int64 // claim end after the idle close
		recs   []timed
	}{
		{7500, 7000, []timed{{6999, false}, {7000, true}}},
		{7499, 6000, []timed{{6999, true}, {5999, false}}},
		{8499, 7000, []timed{{6999, false}, {7999, true}}},
		{0, 5000, []timed{{5000, true}, {4999, false}}},                                                // behind the watermark: no effect
		{math.MinInt64, 5000, []timed{{5000, true}, {4999, false}}},                                    // no wrap around
		{math.MaxInt64, Windows{size}.Start(MaxEventTime - idle - grace), []timed{{9_000_000, false}}}, // clamped to the domain
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.now), func(t *testing.T) {
			a := NewAggregator(AggregatorConfig{Windows: Windows{size}, Grace: grace, Sources: 1, Slots: 2})
			a.Add(0, 5500, "linux") // watermark 5500: closed through Start(5300) = 5000
			a.Flush()
			a.CloseIdle(tt.now, idle)
			if tt.closed > 5000 {
				if !a.Due() {
					t.Fatal("not due after closing windows")
				}
				reports, floor := a.Flush()
				for _, r := range reports {
					if r.From != 5000 && r.From != Unbounded || r.To != tt.closed {
						t.Fatalf("claim [%d,%d), want [5000,%d) (or from Unbounded for a slot not told before)", r.From, r.To, tt.closed)
					}
				}
				if tt.closed >= 6000 && floor != 0 {
					t.Fatalf("floor %d, want 0 (window [5000,6000) flushed)", floor)
				}
			} else if a.Due() {
				t.Fatal("due though nothing closed")
			}
			for i, r := range tt.recs {
				if got := a.Add(int64(i+1), r.t, "linux"); got != r.counted {
					t.Fatalf("after CloseIdle(%d): Add(t=%d) = %v, want %v", tt.now, r.t, got, r.counted)
				}
			}
		})
	}

	// The watermark stays where the records put it.
	a := NewAggregator(AggregatorConfig{Windows: Windows{size}, Grace: grace, Sources: 1, Slots: 2})
	a.Add(0, 5500, "linux")
	a.Flush()
	a.CloseIdle(10_000, idle) // closes through Start(9500) = 9000
	a.Flush()
	if !a.Add(1, 9100, "linux") {
		t.Fatal("record in the first open window after an idle close is late")
	}
	if a.Due() {
		t.Fatal("record below the idle boundary closed windows")
	}
	a.Add(2, 10_300, "linux") // watermark 10300: closes through Start(10100) = 10000
	if !a.Due() {
		t.Fatal("watermark did not advance past the idle boundary")
	}
	reports, _ := a.Flush()
	for _, r := range reports {
		if r.From != 9000 || r.To != 10_000 || len(r.Partials) != 1 || r.Partials[0].Start != 9000 {
			t.Fatalf("report %+v, want claim [9000,10000) with window 9000", r)
		}
	}
}

// TestAggregatorMatchesModel runs random record streams (with random idle
// closes and random flush timing, so claims of every length occur) through
// an Aggregator and the reference model side by side, and checks after every
// step: Add's verdict, Due, each Flush's claim (contiguous from Unbounded),
// the slots that get a report (all when the claim starts at Unbounded or
// spans >= slots windows, else exactly the slots of its windows), the
// partials and their slots, the floor, SafeOffset and OpenWindows.
func TestAggregatorMatchesModel(t *testing.T) {
	for seed := uint64(1); seed <= 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		c := randomCfg(rng)
		recs := genPartition(rng, c, rng.IntN(300), 10*c.size+4*c.grace+rng.Int64N(20*c.size))
		src := rng.Int32N(c.P)
		a := c.aggregator(src)
		m := newModel(c.size, c.grace)
		flushP := []float64{1, 0.5, 0.1}[rng.IntN(3)]
		prevTo := int64(Unbounded)
		slotTo := map[int32]int64{} // end of the last claim sent to each slot
		flushes := 0

		step := func(what string) {
			if a.Due() != m.due() {
				t.Fatalf("seed %d (%v) %s: Due = %v, want %v", seed, c, what, a.Due(), m.due())
			}
			if rng.Float64() >= flushP && what != "end" {
				return
			}
			reports, floor := a.Flush()
			if !m.due() {
				if reports != nil || floor != math.MaxInt64 {
					t.Fatalf("seed %d %s: Flush when not due = %v, %d", seed, what, reports, floor)
				}
				return
			}
			flushes++
			from, to, wins, mfloor := m.flush()
			if from != prevTo {
				t.Fatalf("seed %d %s: claim starts at %d, previous ended at %d", seed, what, from, prevTo)
			}
			prevTo = to
			wantSlots := map[int32]bool{}
			if from == Unbounded {
				for s := range c.R {
					wantSlots[s] = true
				}
			} else {
				for s := from; s < to && len(wantSlots) < int(c.R); s += c.size {
					wantSlots[refSlot(s, c.size, c.R)] = true
				}
			}
			if got := slices.Sorted(maps.Keys(reports)); !slices.Equal(got, slices.Sorted(maps.Keys(wantSlots))) {
				t.Fatalf("seed %d (%v) %s: claim [%d,%d) reported to slots %v, want %v", seed, c, what, from, to, got, slices.Sorted(maps.Keys(wantSlots)))
			}
			got := map[int64]map[string]int64{}
			for slot, r := range reports {
				slotFrom, ok := slotTo[slot]
				if !ok {
					slotFrom = Unbounded
				}
				if r.From != slotFrom || r.To != to || r.Source != src || r.Sources != c.P {
					t.Fatalf("seed %d %s: slot %d report %+v, want claim [%d,%d) from %d/%d", seed, what, slot, r, slotFrom, to, src, c.P)
				}
				slotTo[slot] = to
				for _, p := range r.Partials {
					if s := refSlot(p.Start, c.size, c.R); s != slot {
						t.Fatalf("seed %d %s: window %d sent to slot %d, want %d", seed, what, p.Start, slot, s)
					}
					if _, dup := got[p.Start]; dup {
						t.Fatalf("seed %d %s: window %d reported twice in one flush", seed, what, p.Start)
					}
					got[p.Start] = p.Counts
				}
			}
			if !maps.EqualFunc(got, wins, maps.Equal) {
				t.Fatalf("seed %d (%v) %s: claim [%d,%d) partials %v, want %v", seed, c, what, from, to, got, wins)
			}
			if floor != mfloor {
				t.Fatalf("seed %d %s: floor %d, want %d", seed, what, floor, mfloor)
			}
		}

		for i, r := range recs {
			if got, want := a.Add(r.off, r.t, r.os), m.add(r); got != want {
				t.Fatalf("seed %d (%v) record %d %+v: Add = %v, want %v", seed, c, i, r, got, want)
			}
			if rng.IntN(20) == 0 {
				now, idle := r.t+rng.Int64N(4*c.size+c.grace+1), rng.Int64N(2*c.size+1)
				a.CloseIdle(now, idle)
				m.closeIdle(now, idle)
			}
			step(fmt.Sprintf("record %d", i))
			if s, ms := a.SafeOffset(), m.safe(); s != ms {
				t.Fatalf("seed %d record %d: SafeOffset %d, want %d", seed, i, s, ms)
			}
			if n := a.OpenWindows(); n != len(m.open) {
				t.Fatalf("seed %d record %d: OpenWindows %d, want %d", seed, i, n, len(m.open))
			}
		}
		a.CloseIdle(farFuture, 0)
		m.closeIdle(farFuture, 0)
		step("end")
		if a.OpenWindows() != 0 || a.SafeOffset() != math.MaxInt64 {
			t.Fatalf("seed %d: %d windows open after closing everything", seed, a.OpenWindows())
		}
		if flushes == 0 {
			t.Fatalf("seed %d: no flush at all", seed)
		}
	}
}
