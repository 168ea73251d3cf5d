package processor

import (
	"math"
	"testing"
)

func TestDelivered(t *testing.T) {
	d := newDelivered()
	if d.covers(0) {
		t.Fatal("a new run covers nothing")
	}
	// Session 1 reads 100..104; 102 is not acknowledged yet.
	for o := int64(100); o <= 104; o++ {
		d.seen(o)
	}
	d.acked(102)
	if !d.covers(100) || !d.covers(101) || d.covers(102) || d.covers(99) {
		t.Fatalf("after floor 102: run [%d, %d], want [100, 101]", d.from, d.to)
	}
	d.acked(math.MaxInt64)
	if !d.covers(104) || d.covers(105) {
		t.Fatalf("all acked: run [%d, %d], want [100, 104]", d.from, d.to)
	}
	// Session 2 restarts from a commit that lagged, at 102: the run grows.
	d.session()
	for o := int64(102); o <= 108; o++ {
		d.seen(o)
	}
	d.acked(107)
	if !d.covers(100) || !d.covers(106) || d.covers(107) {
		t.Fatalf("session 2: run [%d, %d], want [100, 106]", d.from, d.to)
	}
	// A floor below what the run holds never shrinks it.
	d.session()
	d.seen(103)
	d.acked(103)
	if !d.covers(106) {
		t.Fatalf("session 3: run [%d, %d] shrank", d.from, d.to)
	}
	// Session 4 starts past the run (another member moved the commit on):
	// the new run replaces it.
	d.session()
	d.seen(200)
	d.seen(201)
	d.acked(math.MaxInt64)
	if d.covers(100) || !d.covers(200) || !d.covers(201) {
		t.Fatalf("session 4: run [%d, %d], want [200, 201]", d.from, d.to)
	}
	// A session that read nothing acknowledges nothing.
	d.session()
	d.acked(math.MaxInt64)
	if !d.covers(201) {
		t.Fatal("an empty session changed the run")
	}
}
