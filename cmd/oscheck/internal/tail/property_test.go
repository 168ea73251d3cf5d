package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestExactlyOnce writes random lines, rotates at random by rename,
// deletion or copytruncate, and restarts the Follower at random from the
// last Position it returned; every line returned must be the next one
// written, with the Position just past it. Copytruncate loses lines by
// design, so the test truncates only when the Follower has returned all
// the file holds; it restarts only when the Follower could not lose lines
// by design either: when the Position's file is still on disk, or was
// returned in full.
func TestExactlyOnce(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 10
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newScenario(t, seed)
				for range 300 {
					s.step()
				}
				s.finish()
			})
		})
	}
}

// segment is what one file held from its creation, or from its last
// truncation, on: the Follower reads segments in order.
type segment struct {
	log    *logFile
	ino    uint64
	data   []byte
	rest   string // the end of a line whose start is written
	done   bool   // a later segment follows: the Follower reads this one to its end
	onDisk bool   // its bytes can still be found by inode: not deleted, not truncated
}

type scenario struct {
	t       *testing.T
	rng     *rand.Rand
	path    string
	opts    []Option
	maxLine int

	segs    []*segment
	missing bool // path names no file
	renames int
	seq     int

	f      *Follower
	out    int      // lines returned so far
	outSeg int      // the segment of the last line returned, -1 before any
	end    Position // after the last line returned
	events []string // for the failure message
}

func newScenario(t *testing.T, seed uint64) *scenario {
	s := &scenario{
		t: t, rng: rand.New(rand.NewPCG(seed, 0x7a11)),
		path: logPath(t), maxLine: 64, outSeg: -1,
	}
	s.opts = []Option{WithMaxLineBytes(s.maxLine), WithFingerprintSize([]int{12, 1024}[s.rng.IntN(2)])}
	s.create()
	s.f = s.follow(nil)
	return s
}

func (s *scenario) logf(format string, args ...any) {
	s.events = append(s.events, fmt.Sprintf(format, args...))
}

func (s *scenario) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("%s\nafter:\n%s", fmt.Sprintf(format, args...), strings.Join(s.events, "\n"))
}

func (s *scenario) follow(from *Position) *Follower {
	s.t.Helper()
	f, err := Follow(s.path, from, s.opts...)
	if err != nil {
		s.fatalf("Follow: %v", err)
	}
	s.t.Cleanup(func() { f.Close() })
	return f
}

func (s *scenario) cur() *segment { return s.segs[len(s.segs)-1] }

func (s *scenario) create() {
	l := createLog(s.t, s.path)
	s.segs = append(s.segs, &segment{log: l, ino: l.inode(), onDisk: true})
	s.missing = false
	s.logf("create %s inode %d: segment %d", s.path, l.inode(), len(s.segs)-1)
}

func (s *scenario) write(seg *segment, b string) {
	seg.log.write(b)
	seg.data = append(seg.data, b...)
}

// line returns a random line, '\n' included. It starts with a sequence
// number, so no two files start alike; some are too long, some end in
// '\r'.
func (s *scenario) line() string {
	s.seq++
	n := s.rng.IntN(s.maxLine)
	if s.rng.IntN(10) == 0 {
		n = s.maxLine + s.rng.IntN(3*s.maxLine)
	}
	b := []byte(fmt.Sprintf("%07d|", s.seq))
	for range n {
		b = append(b, byte(' '+s.rng.IntN(95)))
	}
	if s.rng.IntN(8) == 0 {
		b = append(b, '\r')
	}
	return string(append(b, '\n'))
}

// writeLines writes what is left of a started line, then some lines,
// perhaps only the start of the last.
func (s *scenario) writeLines(seg *segment) {
	var b strings.Builder
	b.WriteString(seg.rest)
	seg.rest = ""
	for range s.rng.IntN(6) {
		b.WriteString(s.line())
	}
	if s.rng.IntN(3) == 0 {
		l := s.line()
		cut := s.rng.IntN(len(l))
		b.WriteString(l[:cut])
		seg.rest = l[cut:]
	}
	s.write(seg, b.String())
}

type wantLine struct {
	line string
	seg  int
	end  int64
}

// expected returns every line the Follower should return, eventually, from
// what was written so far.
func (s *scenario) expected() []wantLine {
	var all []wantLine
	cut := func(b []byte) string { return string(b[:min(len(b), s.maxLine)]) }
	for i, seg := range s.segs {
		d := seg.data
		off := 0
		for {
			nl := bytes.IndexByte(d[off:], '\n')
			if nl < 0 {
				break
			}
			all = append(all, wantLine{cut(bytes.TrimSuffix(d[off:off+nl], []byte("\r"))), i, int64(off + nl + 1)})
			off += nl + 1
		}
		if seg.done && off < len(d) {
			all = append(all, wantLine{cut(d[off:]), i, int64(len(d))})
		}
	}
	return all
}

func (s *scenario) step() {
	want := s.expected()
	pending := len(want) - s.out
	atCur := s.outSeg == len(s.segs)-1
	switch op := s.rng.IntN(100); {
	case op < 35 && !s.missing:
		s.writeLines(s.cur())
		s.logf("write: segment %d now %d bytes", len(s.segs)-1, len(s.cur().data))
	case op < 65 && pending > 0:
		s.read(want, 1+s.rng.IntN(20))
	case op < 70:
		s.idle(pending)
	case op < 76 && atCur && !s.missing:
		s.rotate()
	case op < 80 && atCur && !s.missing && pending == 0 && len(s.cur().data) > 0 && s.cur().rest == "":
		s.copytruncate()
	case op < 84 && s.missing:
		s.create()
	case op < 86:
		s.cleanup()
	case op < 95:
		s.restart()
	}
}

// read calls Next and checks it returned the next lines and the Position
// just past them.
func (s *scenario) read(want []wantLine, maxLines int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), patience)
	defer cancel()
	lines, end, err := s.f.Next(ctx, maxLines)
	if err != nil {
		s.fatalf("Next: %v (%d lines pending)", err, len(want)-s.out)
	}
	if len(lines) > maxLines || s.out+len(lines) > len(want) {
		s.fatalf("Next returned %d lines; %d pending, %d asked for", len(lines), len(want)-s.out, maxLines)
	}
	for i, l := range lines {
		if w := want[s.out+i]; string(l) != w.line {
			s.fatalf("line %d: got %q, want %q of segment %d", s.out+i, l, w.line, w.seg)
		}
	}
	s.out += len(lines)
	last := want[s.out-1]
	if seg := s.segs[last.seg]; end.Inode != seg.ino || end.Offset != last.end {
		s.fatalf("position after line %d: inode %d offset %d, want inode %d offset %d", s.out-1, end.Inode, end.Offset, seg.ino, last.end)
	}
	s.outSeg, s.end = last.seg, end
	s.logf("read %d lines: now %d, at segment %d offset %d", len(lines), s.out, last.seg, end.Offset)
}

// idle lets ten seconds pass in Next, in which the Follower finishes any
// drain; with nothing pending, it must return nothing.
func (s *scenario) idle(pending int) {
	if pending > 0 {
		return
	}
	ctx, cancel := context.WithTimeout(s.t.Context(), 10*time.Second)
	defer cancel()
	if lines, _, err := s.f.Next(ctx, 10); !errors.Is(err, context.DeadlineExceeded) {
		s.fatalf("idle Next = %q, %v; want nothing", lines, err)
	}
	s.logf("idle")
}

// rotate renames path away (or deletes it), perhaps creates it again, and
// lets the writer of the old file write a little more, as nginx workers do
// until they reopen.
func (s *scenario) rotate() {
	old := s.cur()
	if s.rng.IntN(3) == 0 {
		if err := os.Remove(s.path); err != nil {
			s.t.Fatal(err)
		}
		old.onDisk = false
		s.missing = true
		s.logf("delete %s", s.path)
	} else {
		s.renames++
		to := fmt.Sprintf("%s.%d", s.path, s.renames)
		old.log.rename(to)
		s.missing = true
		s.logf("rename: to %s", to)
	}
	old.done = true // the Follower finishes it at its drain, new file or not
	if s.rng.IntN(2) == 0 {
		s.create()
	}
	if s.rng.IntN(2) == 0 {
		s.writeLines(old)
		s.logf("late-write: old segment now %d bytes", len(old.data))
	}
}

func (s *scenario) copytruncate() {
	seg := s.cur()
	seg.log.truncate()
	seg.done, seg.onDisk = true, false
	s.segs = append(s.segs, &segment{log: seg.log, ino: seg.ino, onDisk: true})
	s.logf("copytruncate: segment %d", len(s.segs)-1)
}

// cleanup deletes a rotated file the Follower is done with, as logrotate
// does with old ones; its inode may be reused by the next file created.
func (s *scenario) cleanup() {
	for i, seg := range s.segs[:max(s.outSeg, 0)] {
		if seg.onDisk && seg.done && seg.log.path != s.path {
			if err := os.Remove(seg.log.path); err != nil {
				s.t.Fatal(err)
			}
			seg.onDisk = false
			s.logf("delete-finished %s (segment %d)", seg.log.path, i)
			return
		}
	}
}

// restart starts a new Follower from the last Position returned, when that
// cannot lose lines by design.
func (s *scenario) restart() {
	var from *Position
	switch {
	case s.outSeg < 0:
		if len(s.segs) > 1 || s.cur().done {
			return // no Position, and path's first file is gone
		}
	case s.segs[s.outSeg].onDisk || s.out == s.lastOf(s.outSeg):
		end := s.end
		from = &end
	default:
		return
	}
	s.f.Close()
	s.f = s.follow(from)
	kind := "restart"
	switch {
	case from == nil || s.outSeg == len(s.segs)-1:
	case s.segs[s.outSeg].onDisk:
		kind = "restart-in-rotated"
	case s.segs[s.outSeg+1].ino == s.segs[s.outSeg].ino:
		kind = "restart-in-truncated"
	default:
		kind = "restart-in-gone"
	}
	s.logf("%s from %+v", kind, from)
}

// lastOf returns how many lines there are up to the end of segment i, or
// -1 while more may be written to it.
func (s *scenario) lastOf(i int) int {
	if !s.segs[i].done {
		return -1
	}
	n := 0
	for _, w := range s.expected() {
		if w.seg <= i {
			n++
		}
	}
	return n
}

// finish ends every line, reads everything and checks nothing more comes.
func (s *scenario) finish() {
	if s.missing {
		s.create()
	}
	s.write(s.cur(), s.cur().rest+"\n")
	s.cur().rest = ""
	for {
		want := s.expected()
		if s.out == len(want) {
			break
		}
		s.read(want, 100)
	}
	s.idle(0)
	kinds := map[string]int{}
	for _, e := range s.events {
		kinds[strings.TrimSuffix(strings.Fields(e)[0], ":")]++
	}
	s.t.Logf("%d lines in %d segments; events %v", s.out, len(s.segs), kinds)
}
