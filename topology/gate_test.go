package topology

import (
	"context"
	"log/slog"
	"math"
	"testing"

	"github.com/IBM/sarama"
)

// floors is a CommitFloor whose floor the test sets.
type floors struct {
	floor map[int32]int64
	done  []int64
	reset int
}

func (f *floors) Done(p int32, next int64) int64 {
	f.done = append(f.done, next)
	return f.Floor(p)
}
func (f *floors) Floor(p int32) int64 {
	if v, ok := f.floor[p]; ok {
		return v
	}
	return math.MaxInt64
}
func (f *floors) Reset() { f.reset++ }

// session records what the gate marks.
type session struct {
	sarama.ConsumerGroupSession
	marked map[int32]int64
	calls  int
}

func (s *session) MarkOffset(_ string, p int32, offset int64, _ string) {
	s.marked[p] = offset
	s.calls++
}
func (s *session) Context() context.Context   { return context.Background() }
func (s *session) Claims() map[string][]int32 { return map[string][]int32{"in": {0, 1, 2, 3}} }

type claim struct {
	sarama.ConsumerGroupClaim
	partition int32
	initial   int64
	highWater int64
}

func (c claim) Topic() string              { return "in" }
func (c claim) Partition() int32           { return c.partition }
func (c claim) InitialOffset() int64       { return c.initial }
func (c claim) HighWaterMarkOffset() int64 { return c.highWater }

func TestGateClampsCommitsToTheFloor(t *testing.T) {
	f := &floors{floor: map[int32]int64{}}
	g := newGate(f, slog.Default())
	s := &session{marked: map[int32]int64{}}
	gs := g.begin(s)
	if f.reset != 1 {
		t.Fatalf("a new session did not reset the floor")
	}
	g.claimed(claim{partition: 0, highWater: 100})

	gs.MarkOffset("in", 0, 10, "")
	if s.marked[0] != 10 || len(f.done) != 1 || f.done[0] != 10 {
		t.Fatalf("without a floor: marked %d, done %v; want 10, [10]", s.marked[0], f.done)
	}
	f.floor[0] = 12 // a window opened at offset 12 is still in memory
	gs.MarkOffset("in", 0, 20, "")
	if s.marked[0] != 12 {
		t.Fatalf("marked %d past the floor 12", s.marked[0])
	}
	calls := s.calls
	for next := int64(21); next < 100; next++ {
		gs.MarkOffset("in", 0, next, "")
	}
	if s.calls != calls || s.marked[0] != 12 {
		t.Fatalf("marks under a floor that held still reached sarama %d times (marked %d)", s.calls-calls, s.marked[0])
	}
	f.floor[0] = 15 // the window closed and its report was acknowledged
	g.remark(0)
	if s.marked[0] != 15 {
		t.Fatalf("remark marked %d, want 15", s.marked[0])
	}
	delete(f.floor, 0)
	g.remark(0)
	if s.marked[0] != 99 {
		t.Fatalf("remark marked %d, want what goka asked for, 99", s.marked[0])
	}
	gs.MarkMessage(&sarama.ConsumerMessage{Topic: "in", Partition: 0, Offset: 129}, "")
	if s.marked[0] != 130 {
		t.Fatalf("MarkMessage marked %d, want offset+1 = 130", s.marked[0])
	}

	g.end(gs)
	g.remark(0)
	if s.marked[0] != 130 {
		t.Fatalf("remark after the session ended marked %d", s.marked[0])
	}
}

// TestGateMarksPastOutOfOrderAcks acknowledges a later record before an
// earlier one that holds the floor: once the earlier one is done, the commit
// goes to the later one, not to where the earlier one would have taken it.
func TestGateMarksPastOutOfOrderAcks(t *testing.T) {
	f := &floors{floor: map[int32]int64{0: 48}} // record 47's report is not acknowledged yet
	g := newGate(f, slog.Default())
	s := &session{marked: map[int32]int64{}}
	gs := g.begin(s)
	g.claimed(claim{partition: 0, highWater: 51})
	gs.MarkOffset("in", 0, 51, "") // record 50 done first
	if s.marked[0] != 48 {
		t.Fatalf("marked %d, want the floor 48", s.marked[0])
	}
	delete(f.floor, 0)
	gs.MarkOffset("in", 0, 48, "") // then record 47
	if s.marked[0] != 51 {
		t.Fatalf("marked %d after every record was done, want 51", s.marked[0])
	}
}

func TestGatePosition(t *testing.T) {
	g := newGate(&floors{}, slog.Default())
	g.begin(&session{marked: map[int32]int64{}})
	g.claimed(claim{partition: 1, initial: 50, highWater: 50})
	g.claimed(claim{partition: 2, initial: sarama.OffsetOldest, highWater: 0})
	g.claimed(claim{partition: 3, initial: 10, highWater: 40})
	tests := []struct {
		partition       int32
		next            int64
		owned, caughtUp bool
	}{
		{0, -1, false, false}, // not assigned here
		{1, -1, true, true},   // committed offset already at the high-water mark
		{2, -1, true, true},   // empty partition
		{3, -1, true, false},  // nothing consumed yet, 30 behind
		{3, 39, true, false},
		{3, 40, true, true},
	}
	for _, tt := range tests {
		owned, caughtUp := g.position(tt.partition, tt.next)
		if owned != tt.owned || caughtUp != tt.caughtUp {
			t.Errorf("position(%d, %d) = %v, %v; want %v, %v", tt.partition, tt.next, owned, caughtUp, tt.owned, tt.caughtUp)
		}
	}
}
