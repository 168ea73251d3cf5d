package traffic

import (
	"testing"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/truth"
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
