package cluster

import (
	"testing"
	"time"
)

// The retry loops promise a longest wait (README: a session joined again
// "100 ms doubling to 5 s, with jitter", a restart "backoff up to 30 s, with
// jitter"); backoff/v5's jitter applies to the capped interval, so its
// waits reached half as much again (7.5 s, 45 s). Each wait stays within
// [initial/2, limit], and waits grow towards limit and start over on Reset.
func TestAttackBackoffWithinLimit(t *testing.T) {
	for _, c := range []struct{ initial, limit time.Duration }{
		{100 * time.Millisecond, 5 * time.Second}, {time.Second, 30 * time.Second}, {100 * time.Millisecond, time.Second},
	} {
		b := NewBackoff(c.initial, c.limit)
		for round := range 2 {
			var longest time.Duration
			for i := range 200 {
				w := b.NextBackOff()
				if w > c.limit || w < c.initial/2 {
					t.Fatalf("NewBackoff(%v, %v), round %d, wait %d: %v, want within [%v, %v]", c.initial, c.limit, round, i, w, c.initial/2, c.limit)
				}
				if i == 0 && w > c.initial*3/2 {
					t.Errorf("NewBackoff(%v, %v): first wait %v, want at most %v", c.initial, c.limit, w, c.initial*3/2)
				}
				longest = max(longest, w)
			}
			if longest < c.limit*3/4 {
				t.Errorf("NewBackoff(%v, %v): the longest of 200 waits is %v, want near %v", c.initial, c.limit, longest, c.limit)
			}
			b.Reset()
		}
	}
}
