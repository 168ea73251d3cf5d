package state

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

const pipelineSeeds = 50

// TestPipelineMatchesGroundTruth is the end-to-end property: P source
// partitions of records (mostly increasing event times, some out of order
// within grace, some beyond it) each run through their own Aggregator,
// flushed whenever due and closed at the end; the reports are routed to R
// slots by slot key and delivered in a random interleaving of the sources
// (in half the runs also out of order within a source), with a random subset
// delivered a second time at a new offset. Whatever the order, the finals
// must be exactly the ground truth: one final per window that has a counted
// record, with the counts a plain per-partition loop gives, none twice, and
// the same number of late records. The harness checks replays, stale
// offsets, changelog round trips and Updates on every Apply.
func TestPipelineMatchesGroundTruth(t *testing.T) {
	for seed := uint64(1); seed <= pipelineSeeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0xfeed))
			c := randomCfg(rng)
			parts := genParts(rng, c)
			want, wantLate := groundTruth(parts, c.size, c.grace)

			queues := make([][][]*Report, c.R) // slot -> source -> reports in flush order
			for s := range queues {
				queues[s] = make([][]*Report, c.P)
			}
			late := 0
			for src, recs := range parts {
				fl, l := runPartition(c.aggregator(int32(src)), recs, 0, len(recs), true)
				late += l
				for _, f := range fl {
					for _, sr := range f.reports {
						queues[sr.slot][src] = append(queues[sr.slot][src], sr.r)
					}
				}
			}
			if late != wantLate {
				t.Errorf("%v: %d records late, want %d", c, late, wantLate)
			}

			shuffle := seed%2 == 0
			h := newHarness(t, rng, c.size, c.R)
			for slot := range c.R {
				for _, r := range withDuplicates(rng, interleave(rng, queues[slot], shuffle), 0.2) {
					h.apply(slot, r)
				}
			}
			h.checkFinals(want)
			if t.Failed() {
				t.Logf("config %v, shuffled within sources: %v", c, shuffle)
			}
		})
	}
}

// crashMode says where a crashed run's replacement starts reading.
type crashMode int

const (
	// restartSafe: at min(SafeOffset, next record), every report the crashed
	// run flushed delivered.
	restartSafe crashMode = iota
	// restartLagging: anywhere at or before that (the committed offset
	// lags, or was reset).
	restartLagging
	// restartUndelivered: the crashed run's last flushes never reached the
	// window stage, so the restart is also held at or before their floors
	// and at or before the records that produced them (whose emits were
	// never acknowledged, so their offsets were never committed).
	restartUndelivered
)

func (m crashMode) String() string {
	return [...]string{"safe", "lagging", "undelivered"}[m]
}

// TestCrashRebuild: one or more partitions crash, up to three times each, at
// random records; each time a fresh Aggregator replays the partition from
// where the topology would restart it (see crashMode), and its reports go to
// the window stage after those of the crashed run. The finals must equal the
// ground truth of the run without crashes.
func TestCrashRebuild(t *testing.T) {
	for _, mode := range []crashMode{restartSafe, restartLagging, restartUndelivered} {
		for seed := uint64(1); seed <= pipelineSeeds; seed++ {
			t.Run(fmt.Sprintf("%v/%d", mode, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 0xc0ffee+uint64(mode)))
				c := randomCfg(rng)
				parts := genParts(rng, c)
				want, _ := groundTruth(parts, c.size, c.grace)

				queues := make([][][]*Report, c.R)
				for s := range queues {
					queues[s] = make([][]*Report, c.P)
				}
				var story []string
				crashed := rng.Int32N(c.P) // at least this one crashes
				for src, recs := range parts {
					crashes := 0
					if int32(src) == crashed || rng.IntN(2) == 0 {
						crashes = 1 + rng.IntN(3)
					}
					var delivered []flushed
					start := 0
					for run := 0; ; run++ {
						a := c.aggregator(int32(src))
						if run == crashes {
							fl, _ := runPartition(a, recs, start, len(recs), true)
							delivered = append(delivered, fl...)
							break
						}
						cut := start + rng.IntN(len(recs)-start+1)
						fl, _ := runPartition(a, recs, start, cut, false)
						next := int64(math.MaxInt64) // offset of the record at the cut
						if cut < len(recs) {
							next = recs[cut].off
						}
						restart := min(a.SafeOffset(), next)
						lost := 0
						if mode == restartUndelivered {
							lost = rng.IntN(min(3, len(fl)) + 1)
							for _, f := range fl[len(fl)-lost:] {
								restart = min(restart, f.floor, recs[f.at].off)
							}
						}
						delivered = append(delivered, fl[:len(fl)-lost]...)
						from := start
						start = firstAtOrAfter(recs, restart)
						if mode == restartLagging {
							start = rng.IntN(start + 1)
						}
						story = append(story, fmt.Sprintf("source %d run %d: records [%d,%d) crash, %d flushes lost, SafeOffset %d, restart at record %d",
							src, run, from, cut, lost, a.SafeOffset(), start))
					}
					for _, f := range delivered {
						for _, sr := range f.reports {
							queues[sr.slot][src] = append(queues[sr.slot][src], sr.r)
						}
					}
				}

				h := newHarness(t, rng, c.size, c.R)
				for slot := range c.R {
					for _, r := range withDuplicates(rng, interleave(rng, queues[slot], false), 0.1) {
						h.apply(slot, r)
					}
				}
				h.checkFinals(want)
				if t.Failed() {
					t.Logf("config %v", c)
					for _, s := range story {
						t.Log(s)
					}
				}
			})
		}
	}
}

// firstAtOrAfter returns the index of the first record at or after offset.
func firstAtOrAfter(recs []record, offset int64) int {
	for i, r := range recs {
		if r.off >= offset {
			return i
		}
	}
	return len(recs)
}

// TestSlotCrashReplay: the window stage's run over one slot's reports crashes
// up to three times at random reports. The table then holds the slot as one
// of the run's writes left it (the writes after it were lost), and the
// partition's committed offset is anywhere from the highest Committed the run
// passed to Apply up to the first report whose write was lost; the emits
// below it were acknowledged. The next run reads from the committed offset.
// Every output, whether a replay or a report applied afresh, must be what the
// run without crashes produced at that offset, so that per offset the first
// emits and the replays together are exactly that run's output.
func TestSlotCrashReplay(t *testing.T) {
	replayed := 0 // replays that re-emitted something, over all seeds
	for seed := uint64(1); seed <= pipelineSeeds; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0xdead))
		c := randomCfg(rng)
		queues := make([][][]*Report, c.R)
		for s := range queues {
			queues[s] = make([][]*Report, c.P)
		}
		for src, recs := range genParts(rng, c) {
			fl, _ := runPartition(c.aggregator(int32(src)), recs, 0, len(recs), true)
			for _, f := range fl {
				for _, sr := range f.reports {
					queues[sr.slot][src] = append(queues[sr.slot][src], sr.r)
				}
			}
		}
		for slot := range c.R {
			seq := withDuplicates(rng, interleave(rng, queues[slot], seed%2 == 0), 0.2)
			offs := make([]int64, len(seq))
			for i := range offs {
				offs[i] = int64(i) + rng.Int64N(3)
				if i > 0 {
					offs[i] = max(offs[i], offs[i-1]+1)
				}
			}
			retain := rng.IntN(4)
			cfg := func(committed int64) SlotConfig {
				return SlotConfig{Windows: Windows{c.size}, Committed: committed, Retain: retain}
			}
			want := make([]Output, len(seq))
			s := NewSlot()
			for i, r := range seq {
				want[i] = s.Apply(r, offs[i], cfg(0))
			}

			s = NewSlot()
			var committed int64
			tbl := store{} // what the table holds
			pos := 0       // first report of the run
			for crashes := rng.IntN(4); pos < len(seq); crashes-- {
				end := len(seq) // reports [pos, end) applied before the crash
				if crashes > 0 {
					end = pos + rng.IntN(len(seq)-pos+1)
				}
				// The writes of reports [pos, durable) reached the table,
				// and a prefix of those of report durable: its parts may
				// land without the slot's value (they are sent first), or
				// the slot's value without the deletes after it.
				durable := pos + rng.IntN(end-pos+1)
				limit := offs[len(offs)-1] + 1
				if durable < len(seq) {
					limit = offs[durable]
				}
				atCrash := committed + rng.Int64N(limit-committed+1)
				table := maps.Clone(tbl)
				for i := pos; i < end; i++ {
					committed += rng.Int64N(min(offs[i], atCrash) - committed + 1)
					replay := offs[i] <= s.Applied
					got := s.Apply(seq[i], offs[i], cfg(committed))
					if !reflect.DeepEqual(got, want[i]) {
						t.Fatalf("seed %d (%v) slot %d: Apply at %d (replay %v, committed %d, retain %d) = %+v, without crashes %+v",
							seed, c, slot, offs[i], replay, committed, retain, got, want[i])
					}
					if replay && len(got.Finals)+len(got.Updates) > 0 {
						replayed++
					}
					if replay {
						continue // the window stage writes nothing for a replay
					}
					ops := writes(t, s)
					tbl.do(ops)
					switch {
					case i < durable:
						table.do(ops)
					case i == durable:
						table.do(ops[:rng.IntN(len(ops))])
					}
				}
				if crashes <= 0 {
					break
				}
				tbl = table
				s, committed = tbl.load(t), atCrash
				pos, _ = slices.BinarySearch(offs, atCrash)
			}
		}
	}
	if replayed < pipelineSeeds {
		t.Fatalf("only %d replays re-emitted anything in %d seeds: the test does not exercise replays", replayed, pipelineSeeds)
	}
}
