package state

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func checkpoint(t testing.TB, a *Aggregator) []byte {
	t.Helper()
	b, err := a.Checkpoint()
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	return b
}

func restored(t testing.TB, c AggregatorConfig, data []byte) *Aggregator {
	t.Helper()
	a, err := RestoreAggregator(c, data)
	if err != nil {
		t.Fatalf("RestoreAggregator(%s): %v", data, err)
	}
	return a
}

// TestAggregatorCheckpointRoundTrip: a restored aggregator equals the one
// checkpointed, field for field, fresh or in mid-stream with windows closed
// but not flushed yet, and checkpoints to the same bytes.
func TestAggregatorCheckpointRoundTrip(t *testing.T) {
	c := AggregatorConfig{Windows: Windows{1000}, Grace: 500, Source: 2, Sources: 3, Slots: 4}
	a := NewAggregator(c)
	steps := []func(){
		func() {},
		func() { a.Add(10, 5200, "linux"); a.Add(11, 5300, "ios") },
		func() { a.Flush() },
		func() { a.Add(12, 7600, "linux"); a.Add(13, 6900, "android"); a.Add(14, 4000, "linux") }, // the last is late
		func() { a.Flush(); a.Add(15, 8100, "macos"); a.Add(16, 9600, "macos") },                  // [7000,8000) and [8000,9000) closed, not flushed
		func() { a.CloseIdle(20_000, 1000) },
		func() { a.Flush() },
	}
	for i, step := range steps {
		step()
		b := checkpoint(t, a)
		r := restored(t, c, b)
		if !reflect.DeepEqual(r, a) {
			t.Fatalf("step %d: restored %+v, want %+v (via %s)", i, r, a, b)
		}
		if again := checkpoint(t, r); !bytes.Equal(again, b) {
			t.Fatalf("step %d: restored aggregator checkpoints to %s, original to %s", i, again, b)
		}
	}
	a = NewAggregator(c)
	a.Add(7, 1500, "linux")
	want := `{"size":1000,"grace":500,"source":2,"sources":3,"slots":4,"watermark":1500,"closed":1000,"reported":-9223372036854775808,` +
		`"claimed":[-9223372036854775808,-9223372036854775808,-9223372036854775808,-9223372036854775808],` +
		`"open":[{"start":1000,"first_offset":7,"counts":{"linux":1}}]}`
	if b := checkpoint(t, a); string(b) != want {
		t.Fatalf("Checkpoint = %s, want %s", b, want)
	}
}

// TestRestoreAggregatorAfterGrowth: a checkpoint taken before the input
// gained partitions restores into the larger count, and one taken after
// keeps it when restored under the count the service started with; the
// reports tell the slots the larger one.
func TestRestoreAggregatorAfterGrowth(t *testing.T) {
	c := AggregatorConfig{Windows: Windows{1000}, Grace: 0, Source: 2, Sources: 3, Slots: 1}
	for _, tt := range []struct {
		checkpointed, configured int32
	}{{3, 6}, {6, 3}} {
		c.Sources = tt.checkpointed
		a := NewAggregator(c)
		a.Add(7, 1500, "linux")
		c.Sources = tt.configured
		b, err := RestoreAggregator(c, checkpoint(t, a))
		if err != nil {
			t.Fatalf("restore of sources %d under %d: %v", tt.checkpointed, tt.configured, err)
		}
		b.Add(8, 2500, "linux")
		reports, _ := b.Flush()
		if got := reports[0].Sources; got != 6 {
			t.Errorf("checkpoint of sources %d restored under %d reports sources %d, want 6", tt.checkpointed, tt.configured, got)
		}
	}
}

// TestRestoreAggregatorRefuses: a checkpoint of another configuration, or
// one that is not an aggregator's, is refused with an error that says why.
func TestRestoreAggregatorRefuses(t *testing.T) {
	c := AggregatorConfig{Windows: Windows{1000}, Grace: 500, Source: 2, Sources: 3, Slots: 4}
	a := NewAggregator(c)
	a.Add(7, 1500, "linux")
	b := checkpoint(t, a)

	for _, tt := range []struct {
		what string
		edit func(*AggregatorConfig)
	}{
		{"source 2, configured 1", func(c *AggregatorConfig) { c.Source = 1 }},
		{"slots 4, configured 5", func(c *AggregatorConfig) { c.Slots = 5 }},
		{"window size 1000, configured 2000", func(c *AggregatorConfig) { c.Windows.Size = 2000 }},
		{"grace 500, configured 0", func(c *AggregatorConfig) { c.Grace = 0 }},
	} {
		other := c
		tt.edit(&other)
		if _, err := RestoreAggregator(other, b); err == nil || !strings.Contains(err.Error(), tt.what) {
			t.Errorf("restore with %s: error %v, want one saying so", tt.what, err)
		}
	}
	other := c
	other.Source, other.Grace = 0, 0
	_, err := RestoreAggregator(other, b)
	var mismatch *MismatchError
	if !errors.As(err, &mismatch) || *mismatch != (MismatchError{"grace", 500, 0}) {
		t.Errorf("restore with two differences: error %v, want the setting named first, grace, as a MismatchError", err)
	}

	valid := string(b)
	for _, g := range []struct{ data, what string }{
		{"", "aggregator checkpoint"},
		{"not json", "aggregator checkpoint"},
		{`{"size":"x"}`, "aggregator checkpoint"},
		{strings.Replace(valid, `"claimed":[-9223372036854775808,`, `"claimed":[`, 1), "3 claims for 4 slots"},
		{strings.Replace(valid, `"open":[`, `"open":[{"start":1000,"first_offset":1,"counts":{}},`, 1), "window 1000 twice"},
	} {
		if _, err := RestoreAggregator(c, []byte(g.data)); err == nil || !strings.Contains(err.Error(), g.what) {
			t.Errorf("RestoreAggregator(%q): error %v, want %q", g.data, err, g.what)
		}
	}

	// A window whose counts are null can still count.
	r := restored(t, c, []byte(strings.Replace(valid, `"counts":{"linux":1}`, `"counts":null`, 1)))
	if !r.Add(8, 1600, "ios") {
		t.Fatal("record refused after restoring a window without counts")
	}
}

// TestAggregatorCheckpointMatchesUninterrupted runs random record streams
// with random idle closes and flushes through an aggregator and, side by
// side, through a second one that is checkpointed and restored at random
// points (also between a close and its flush). After every step the restored
// line must take the same decisions: Add's verdict, Due, every report and
// floor of Flush, SafeOffset and OpenWindows; and at every checkpoint the two
// must encode to the same bytes.
func TestAggregatorCheckpointMatchesUninterrupted(t *testing.T) {
	restores := 0
	for seed := uint64(1); seed <= 100; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0xc4ec))
		pc := randomCfg(rng)
		src := rng.Int32N(pc.P)
		c := AggregatorConfig{Windows: Windows{pc.size}, Grace: pc.grace, Source: src, Sources: pc.P, Slots: pc.R}
		recs := genPartition(rng, pc, rng.IntN(300), 10*pc.size+4*pc.grace+rng.Int64N(20*pc.size))
		a, b := NewAggregator(c), NewAggregator(c)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d (%v): %s", seed, pc, fmt.Sprintf(format, args...))
		}
		restore := func(at int) {
			t.Helper()
			ca, cb := checkpoint(t, a), checkpoint(t, b)
			if !bytes.Equal(ca, cb) {
				fail("record %d: checkpoints differ:\n%s\n%s", at, ca, cb)
			}
			b = restored(t, c, cb)
			restores++
		}
		flush := func(at int) {
			t.Helper()
			ra, fa := a.Flush()
			rb, fb := b.Flush()
			if !reflect.DeepEqual(byStart(ra), byStart(rb)) || fa != fb {
				fail("record %d: Flush = %v, %d; uninterrupted %v, %d", at, rb, fb, ra, fa)
			}
		}
		for i, r := range recs {
			if got, want := b.Add(r.off, r.t, r.os), a.Add(r.off, r.t, r.os); got != want {
				fail("record %d %+v: Add = %v, uninterrupted %v", i, r, got, want)
			}
			if rng.IntN(20) == 0 {
				now, idle := r.t+rng.Int64N(4*pc.size+pc.grace+1), rng.Int64N(2*pc.size+1)
				a.CloseIdle(now, idle)
				b.CloseIdle(now, idle)
			}
			if a.Due() != b.Due() {
				fail("record %d: Due = %v, uninterrupted %v", i, b.Due(), a.Due())
			}
			if rng.IntN(8) == 0 {
				restore(i)
			}
			if rng.IntN(3) == 0 {
				flush(i)
			}
			if a.SafeOffset() != b.SafeOffset() || a.OpenWindows() != b.OpenWindows() {
				fail("record %d: SafeOffset %d, OpenWindows %d; uninterrupted %d, %d",
					i, b.SafeOffset(), b.OpenWindows(), a.SafeOffset(), a.OpenWindows())
			}
		}
		restore(len(recs))
		a.CloseIdle(farFuture, 0)
		b.CloseIdle(farFuture, 0)
		flush(len(recs))
		if b.OpenWindows() != 0 || b.SafeOffset() != math.MaxInt64 {
			fail("%d windows open after closing everything", b.OpenWindows())
		}
	}
	if restores < 500 {
		t.Fatalf("only %d restores", restores)
	}
}

// byStart orders each report's partials by window (Flush leaves them in map
// order) and returns the reports by value, for comparing and printing.
func byStart(reports map[int32]*Report) map[int32]Report {
	out := make(map[int32]Report, len(reports))
	for slot, r := range reports {
		slices.SortFunc(r.Partials, func(p, q Partial) int { return cmp.Compare(p.Start, q.Start) })
		out[slot] = *r
	}
	return out
}

// BenchmarkAggregatorCheckpoint: the checkpoint of one partition's steady
// state, written in every transaction (every 100 ms per partition): three
// open windows (2 s windows, 4 s grace) of eight os types each.
func BenchmarkAggregatorCheckpoint(b *testing.B) {
	a := NewAggregator(AggregatorConfig{Windows: Windows{2000}, Grace: 4000, Source: 5, Sources: 12, Slots: 12})
	oses := []string{"android", "ios", "windows", "macos", "linux", "chromeos", "bot", "other"}
	const now = 1_700_000_000_000
	for i := range int64(3 * 8 * 50) {
		a.Add(1_000_000+i, now+i%3*2000, oses[i%8])
		a.Flush()
	}
	if a.OpenWindows() != 3 {
		b.Fatalf("%d open windows, want 3", a.OpenWindows())
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Checkpoint(); err != nil {
			b.Fatal(err)
		}
	}
}
