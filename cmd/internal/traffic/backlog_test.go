package traffic

import (
	"testing"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/testkit/truth"
)

// TestBacklogLateness checks that a backlog has no late line unless asked,
// and about as many as asked for with LateEvery, by the truth's rule.
func TestBacklogLateness(t *testing.T) {
	const window, grace = 2 * time.Second, 2 * time.Second
	late := func(every int) int {
		b := Backlog{Lines: 20_000, Partitions: 4, Start: time.Unix(1_565_712_000, 0), Span: 400 * window, Grace: grace,
			Seed: 7, LateEvery: every, LateBy: grace + 2*window}
		c := truth.NewCounter(window, grace)
		_ = b.Each(func(p int32, _ []byte, t int64, os string) error {
			c.Add(p, t, os)
			return nil
		})
		return c.Late
	}
	if n := late(0); n != 0 {
		t.Errorf("%d late lines in a backlog without LateEvery", n)
	}
	if n := late(100); n < 150 || n > 250 {
		t.Errorf("%d late lines of 20,000 with LateEvery 100, want about 200", n)
	}
}

// TestBacklogOnTime checks that OnTime keeps the lines it names from being
// late and leaves every other line as the seed gives it.
func TestBacklogOnTime(t *testing.T) {
	const window, grace = 2 * time.Second, 2 * time.Second
	b := Backlog{Lines: 20_000, Partitions: 4, Start: time.Unix(1_565_712_000, 0), Span: 400 * window, Grace: grace,
		Seed: 7, LateEvery: 100, LateBy: grace + 2*window}
	type line struct {
		p int32
		t int64
	}
	run := func(b Backlog) (lines []line, late []int) {
		c := truth.NewCounter(window, grace)
		_ = b.Each(func(p int32, _ []byte, t int64, os string) error {
			before := c.Late
			c.Add(p, t, os)
			if c.Late > before {
				late = append(late, len(lines))
			}
			lines = append(lines, line{p, t})
			return nil
		})
		return lines, late
	}
	all, allLate := run(b)
	b.OnTime = func(i int) bool { return i >= 5_000 && i < 10_000 }
	kept, keptLate := run(b)
	for _, i := range keptLate {
		if b.OnTime(i) {
			t.Errorf("line %d is late, though OnTime names it", i)
		}
	}
	vetoed := 0
	for _, i := range allLate {
		if b.OnTime(i) {
			vetoed++
		}
	}
	if vetoed == 0 || len(keptLate) != len(allLate)-vetoed {
		t.Errorf("%d late lines with OnTime, %d without, %d of them in its range; want the difference, and some", len(keptLate), len(allLate), vetoed)
	}
	for i := range all {
		if !b.OnTime(i) && all[i] != kept[i] {
			t.Fatalf("line %d, which OnTime does not name, changed: %+v, was %+v", i, kept[i], all[i])
		}
	}
}
