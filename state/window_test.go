package state

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestWindowsStart(t *testing.T) {
	const minute = 60_000
	tests := []struct {
		size, t, want int64
	}{
		{1000, 0, 0},
		{1000, 1, 0},
		{1000, 999, 0},
		{1000, 1000, 1000},
		{1000, 1001, 1000},
		{1000, -1, -1000},
		{1000, -999, -1000},
		{1000, -1000, -1000},
		{1000, -1001, -2000},
		{1, -1, -1},
		{1, math.MinInt64, math.MinInt64},
		{1, math.MaxInt64, math.MaxInt64},
		{7, -7, -7},
		{7, -8, -14},
		{minute, 1_700_000_123_456, 1_700_000_100_000},
		{1000, math.MaxInt64, 9223372036854775000},
		// The lowest window whose start is representable starts here.
		{1000, -9223372036854775000, -9223372036854775000},
		{1000, -9223372036854774001, -9223372036854775000},
		// Below it the start is not representable: Unbounded.
		{1000, -9223372036854775001, Unbounded},
		{1000, math.MinInt64, Unbounded},
		{1000, math.MinInt64 + 1, Unbounded},
		{2, math.MinInt64, math.MinInt64}, // MinInt64 is itself a multiple of 2
		{math.MaxInt64, -1, -math.MaxInt64},
		{math.MaxInt64, math.MinInt64, Unbounded},
		{math.MaxInt64, math.MaxInt64, math.MaxInt64},
		{math.MaxInt64, math.MaxInt64 - 1, 0},
	}
	for _, tt := range tests {
		if got := (Windows{tt.size}).Start(tt.t); got != tt.want {
			t.Errorf("Windows{%d}.Start(%d) = %d, want %d", tt.size, tt.t, got, tt.want)
		}
	}
}

func TestWindowsIndex(t *testing.T) {
	tests := []struct {
		size, start, want int64
	}{
		{1000, 0, 0},
		{1000, 1000, 1},
		{1000, -1000, -1},
		{1000, -2000, -2},
		{1000, -1, -1}, // not a window start, but Index still floors
		{1000, 999, 0},
		{1000, Unbounded, -9223372036854776},
		{1000, 9223372036854775000, 9223372036854775},
		{1, math.MinInt64, math.MinInt64},
		{1, math.MaxInt64, math.MaxInt64},
		{math.MaxInt64, math.MinInt64, -2},
	}
	for _, tt := range tests {
		if got := (Windows{tt.size}).Index(tt.start); got != tt.want {
			t.Errorf("Windows{%d}.Index(%d) = %d, want %d", tt.size, tt.start, got, tt.want)
		}
	}
}

// bigStart is the exact window start, computed without overflow.
func bigStart(t, size int64) *big.Int {
	q := new(big.Int).Div(big.NewInt(t), big.NewInt(size)) // Euclidean: floor for size > 0
	return q.Mul(q, big.NewInt(size))
}

// TestWindowsStartExact checks Start and Index against exact big-integer
// arithmetic over the whole int64 range, extremes included: the start is the
// exact floor when representable and Unbounded otherwise, never a wrapped
// value, and nothing panics.
func TestWindowsStartExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int64{1, 2, 3, 7, 10, 1000, 60_000, 3_600_000, 86_400_000, 1 << 40, 1<<62 + 1, math.MaxInt64}
	for range 20 {
		sizes = append(sizes, 1+rng.Int64N(math.MaxInt64))
	}
	times := []int64{0, 1, -1, math.MinInt64, math.MinInt64 + 1, math.MaxInt64, math.MaxInt64 - 1}
	for range 200 {
		d := rng.Int64N(1 << 20)
		times = append(times, rng.Int64(), d, -d, math.MinInt64+d, math.MaxInt64-d)
	}
	for _, size := range sizes {
		w := Windows{size}
		for _, tm := range times {
			got := w.Start(tm)
			exact := bigStart(tm, size)
			if exact.IsInt64() {
				if got != exact.Int64() {
					t.Fatalf("Windows{%d}.Start(%d) = %d, want %d", size, tm, got, exact)
				}
				if idx := w.Index(got); big.NewInt(idx).Cmp(new(big.Int).Div(exact, big.NewInt(size))) != 0 {
					t.Fatalf("Windows{%d}.Index(%d) = %d, want %d", size, got, idx, new(big.Int).Div(exact, big.NewInt(size)))
				}
			} else if got != Unbounded {
				t.Fatalf("Windows{%d}.Start(%d) = %d, want Unbounded (exact start %s is not representable)", size, tm, got, exact)
			}
			if got > tm {
				t.Fatalf("Windows{%d}.Start(%d) = %d is after the time", size, tm, got)
			}
			// Index of any value is the exact floor quotient.
			q := new(big.Int).Div(big.NewInt(tm), big.NewInt(size))
			if idx := w.Index(tm); !q.IsInt64() || idx != q.Int64() {
				t.Fatalf("Windows{%d}.Index(%d) = %d, want %s", size, tm, idx, q)
			}
		}
	}
}

func TestSlotOf(t *testing.T) {
	w := Windows{1000}
	tests := []struct {
		start int64
		slots int32
		want  int32
	}{
		{0, 4, 0},
		{1000, 4, 1},
		{3000, 4, 3},
		{4000, 4, 0},
		{-1000, 4, 3},
		{-4000, 4, 0},
		{-5000, 4, 3},
		{12345000, 1, 0},
		{-12345000, 1, 0},
		{Unbounded, 4, int32(((-9223372036854776 % 4) + 4) % 4)},
		{9223372036854775000, 7, int32(9223372036854775 % 7)},
	}
	for _, tt := range tests {
		if got := SlotOf(w, tt.start, tt.slots); got != tt.want {
			t.Errorf("SlotOf(%d, slots=%d) = %d, want %d", tt.start, tt.slots, got, tt.want)
		}
	}
}

// TestSlotOfRoundRobin: slots are in range and consecutive windows go to
// consecutive slots, across the epoch and at the extremes.
func TestSlotOfRoundRobin(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		size := []int64{1, 10, 1000, 60_000, 1 + rng.Int64N(1<<40)}[rng.IntN(5)]
		w := Windows{size}
		slots := 1 + rng.Int32N(16)
		var start int64
		switch rng.IntN(3) {
		case 0:
			start = w.Start(rng.Int64N(1<<50) - 1<<49)
		case 1:
			start = w.Start(rng.Int64())
		default:
			start = w.Start(math.MinInt64 + rng.Int64N(1<<45))
		}
		if start == Unbounded {
			start = w.Start(math.MinInt64 + size) // the lowest representable window, if any
			if start == Unbounded {
				continue
			}
		}
		s := SlotOf(w, start, slots)
		if s < 0 || s >= slots {
			t.Fatalf("SlotOf(size=%d, %d, %d) = %d, out of range", size, start, slots, s)
		}
		if start > math.MaxInt64-size {
			continue
		}
		if next := SlotOf(w, start+size, slots); next != (s+1)%slots {
			t.Fatalf("size=%d slots=%d: SlotOf(%d) = %d, SlotOf(next window) = %d, want %d", size, slots, start, s, next, (s+1)%slots)
		}
		// Every slots-th window shares the slot.
		if start <= math.MaxInt64-int64(slots)*size {
			if far := SlotOf(w, start+int64(slots)*size, slots); far != s {
				t.Fatalf("size=%d slots=%d: window %d in slot %d, window %d slots later in slot %d", size, slots, start, s, slots, far)
			}
		}
	}
}
