package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/traffic"
)

// floodTopic is the second input topic --flood preloads: access_log's lines
// with a scanner's and a replaying shipper's lines among them.
const floodTopic = "access_log_flood"

// floodLateBy is how far a late flood line is behind the stream's current
// event time: far beyond grace, so its window has closed on any partition
// that has seen a record of the stream.
const floodLateBy = 10 * time.Minute

// flooder interleaves 2n flood lines with a backlog's lines: n lines whose
// os_type parameters are all distinct ("scan0", "scan1", ...), at the
// stream's current event time, and n late lines (each with a distinct
// os_type too, "old0", ...), floodLateBy behind it. They alternate, each
// kind round-robin over the partitions on its own, and are spread evenly
// through the stream from its partitions' first lines on, so that every late
// line follows a record of the stream on its partition.
type flooder struct {
	n          int
	lines      int // the backlog's
	partitions int32
	start      time.Time
	span       time.Duration

	emitted, distinct, late int
	line                    []byte
}

func newFlooder(b traffic.Backlog, n int) *flooder {
	return &flooder{n: n, lines: b.Lines, partitions: b.Partitions, start: b.Start, span: b.Span}
}

// floodKind tells a line's kind.
type floodKind int

const (
	floodNone     floodKind = iota // a line of the backlog, in both topics
	floodDistinct                  // a new os_type value at the current event time
	floodLate                      // an old line
)

// eachLine calls f with every record of the flood topic in production order:
// each of b's lines (kind floodNone, as access_log has them) and, with n > 0,
// after each the flood lines due there (see flooder). It returns the
// flooder, which counts them, and stops at the first error f returns.
func eachLine(b traffic.Backlog, n int, f func(p int32, v []byte, t int64, os string, kind floodKind) error) (*flooder, error) {
	fl := newFlooder(b, n)
	i := 0
	err := b.Each(func(p int32, v []byte, t int64, os string) error {
		if err := f(p, v, t, os, floodNone); err != nil {
			return err
		}
		i++
		return fl.after(i-1, f)
	})
	return fl, err
}

// after calls f with the flood lines due after the backlog's line i (from
// 0), in production order: each line's partition, value (a new slice f may
// keep), event time (Unix ms, the log's second resolution), os_type and
// kind. It stops at the first error f returns.
func (fl *flooder) after(i int, f func(p int32, v []byte, t int64, os string, kind floodKind) error) error {
	// The first flood line comes after every partition has had a line.
	first := int(fl.partitions) - 1
	if fl.n == 0 || i < first || fl.lines <= first {
		return nil
	}
	due := int(int64(2*fl.n) * int64(i-first+1) / int64(fl.lines-first))
	now := fl.start.Add(time.Duration(int64(fl.span) * int64(i) / int64(fl.lines)))
	for ; fl.emitted < due; fl.emitted++ {
		var p int32
		var os string
		at, kind := now, floodDistinct
		if fl.emitted%2 == 0 {
			p, os = int32(fl.distinct%int(fl.partitions)), "scan"+strconv.Itoa(fl.distinct)
			fl.distinct++
		} else {
			kind = floodLate
			p, os, at = int32(fl.late%int(fl.partitions)), "old"+strconv.Itoa(fl.late), now.Add(-floodLateBy)
			fl.late++
		}
		fl.line = appendFloodLine(fl.line[:0], at, os, fl.emitted)
		if err := f(p, traffic.Envelope(nil, fl.line), at.Truncate(time.Second).UnixMilli(), os, kind); err != nil {
			return err
		}
	}
	return nil
}

// appendFloodLine appends a line in the reference app's format from a
// client that names its OS os: a scanner that sends a new os_type with
// every request, or an old line replayed.
func appendFloodLine(dst []byte, at time.Time, os string, k int) []byte {
	dst = fmt.Appendf(dst, "10.%d.%d.%d - - ", k>>16&255, k>>8&255, k&255)
	dst = at.AppendFormat(dst, "[02/Jan/2006:15:04:05 -0700]")
	dst = append(dst, ` "GET /v1/open/product_list?user_key=****&user_phone=****&from_page=1&os_type=`...)
	dst = append(dst, os...)
	return append(dst, ` HTTP/1.0" 200 512`...)
}
