package processor

import "math"

// delivered is one partition's run of offsets [from, to] whose records this
// process has finished, with every emit and table write acknowledged, kept
// across consumer-group sessions. A session that ends without a crash (the
// member's session expired while the network was slow or down, or a
// rebalance gave the partition back) starts again from the committed
// offset, which lags what was acknowledged; the records it reads again from
// within the run have their finals in the output already, so re-emitting
// them would only write duplicates. After a crash the run is gone with the
// process, and the finals are emitted again: the only copy of them that is
// certain is the one emitted now.
type delivered struct {
	from, to int64 // empty while to < from
	// The current session's first and highest offset, -1 before any.
	first, last int64
}

func newDelivered() *delivered { return &delivered{from: 0, to: -1, first: -1, last: -1} }

// session starts a new consumer-group session.
func (d *delivered) session() { d.first, d.last = -1, -1 }

// seen tells that the session read the record at offset.
func (d *delivered) seen(offset int64) {
	if d.first < 0 {
		d.first = offset
	}
	d.last = max(d.last, offset)
}

// acked tells that every record the session read below floor is finished
// (math.MaxInt64: every one). The session's records form one run from its
// first offset; it extends the kept run when the two meet, and replaces it
// otherwise, since a session that starts past the run never reads the run
// again.
func (d *delivered) acked(floor int64) {
	through := d.last
	if floor != math.MaxInt64 {
		through = min(through, floor-1)
	}
	if d.first < 0 || through < d.first {
		return
	}
	if d.from <= d.first && d.first <= d.to+1 {
		d.to = max(d.to, through)
		return
	}
	d.from, d.to = d.first, through
}

// covers reports whether the record at offset is known to be finished.
func (d *delivered) covers(offset int64) bool { return d.from <= offset && offset <= d.to }
