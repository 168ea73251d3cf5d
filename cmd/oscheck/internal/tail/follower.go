package tail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("tail: follower closed")

// A Follower reads the lines of the file at one path, across rotations.
//
// A Follower is not safe for concurrent use: Next and Close must not run at
// the same time, so one goroutine should drive it; to stop a Next blocked in
// another goroutine, cancel its ctx. Stats is safe to call from any
// goroutine at any time.
type Follower struct {
	path  string
	opt   options
	log   *slog.Logger
	stats counters

	cur *file // nil while path names no file and the previous one is finished

	// The buffer holds in buf[start:end] the bytes read from cur and not yet
	// returned; buf[start] is at file offset off. See lines.go.
	buf        []byte
	start, end int
	scanned    int   // buf[start:scanned] holds no '\n'
	off        int64 // the offset just past the last line returned
	skipping   bool  // in an overlong line: its first maxLine bytes are kept, the rest dropped as read
	skipped    int64 // how many bytes of it were dropped

	finished  bool      // cur is rotated away, drained and fully returned: only moving on remains
	truncated bool      // cur's first bytes changed: to be read again from 0
	grewAt    time.Time // when cur last yielded bytes, or was opened
	rotatedAt time.Time // when path was first seen naming another file than cur, or none; zero if it names cur

	lines  [][]byte
	closed bool
}

// readSize is the buffer's size while lines fit in it, and the room kept
// for reading through the rest of an overlong line.
const readSize = 64 << 10

// Follow opens path and positions the reader.
//
// With no Position (from is nil), it starts at the start of path, or just
// past its last complete line with WithStartAtEnd. A missing path is waited
// for, by Next.
//
// With a Position, it looks for its file by inode: the file at path, or else
// a regular file in path's directory (path was rotated while no Follower
// ran). A file found is checked to be the same (see fingerprint.go), then:
//
//   - the same file: reading resumes at from.Offset. A file other than the
//     one at path is read to its end and drained, as for a rotation, and
//     then path is read from its start;
//   - at path, but shorter than from.Offset or with other first bytes
//     (truncated, or replaced by a file that reused the inode): path is read
//     from 0, and Stats.Truncations counts it;
//   - no file, or another file elsewhere in the directory: its unread lines
//     are lost. Follow logs a warning naming it, Stats.FilesLost counts it,
//     and path is read from its start.
//
// Follow fails on invalid options or Position, when path's directory is
// not a directory, and on I/O errors other than path not existing.
func Follow(path string, from *Position, opts ...Option) (*Follower, error) {
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("tail: options: %w", err)
	}
	if from != nil {
		if err := from.validate(); err != nil {
			return nil, err
		}
	}
	dir := filepath.Dir(path)
	if info, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("tail: directory of %s: %w", path, err)
	} else if !info.IsDir() {
		return nil, fmt.Errorf("tail: %s is not a directory", dir)
	}
	f := &Follower{path: path, opt: o, log: o.log, buf: make([]byte, readSize)}
	var err error
	if from != nil {
		err = f.resume(*from)
	} else {
		err = f.openPath(o.startAtEnd)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Next blocks until at least one line is available, or ctx is done, then
// returns up to maxLines lines and the Position just past the last of them.
// The lines point into the Follower's buffer: they are valid until the next
// call of Next or Close.
//
// All returned lines come from one file, and end is in that file: a
// Follower started from end returns the line after them.
//
// Errors are ctx's (wrapped), ErrClosed, or I/O errors. A failed Next has
// consumed nothing: calling it again retries.
func (f *Follower) Next(ctx context.Context, maxLines int) (lines [][]byte, end Position, err error) {
	if maxLines < 1 {
		return nil, Position{}, fmt.Errorf("tail: Next: maxLines %d, want at least 1", maxLines)
	}
	if f.closed {
		return nil, Position{}, ErrClosed
	}
	f.lines = f.lines[:0]
	f.compact()
	for {
		f.collect(maxLines)
		if len(f.lines) > 0 {
			f.topUp(maxLines)
			return f.lines, f.position(), nil
		}
		n, err := f.read()
		if err != nil {
			return nil, Position{}, err
		}
		if n > 0 {
			continue
		}
		again, err := f.settle()
		if err != nil {
			return nil, Position{}, err
		}
		if len(f.lines) > 0 { // a finished file's unterminated last line
			return f.lines, f.position(), nil
		}
		if again {
			continue
		}
		select {
		case <-ctx.Done():
			return nil, Position{}, fmt.Errorf("tail: waiting for a line of %s: %w", f.path, ctx.Err())
		case <-time.After(f.opt.poll):
		}
	}
}

// topUp reads into the free end of the buffer, without moving the bytes the
// lines collected so far point to, so that a reader that keeps up with the
// writer still returns full batches.
func (f *Follower) topUp(maxLines int) {
	for len(f.lines) < maxLines && f.end < len(f.buf) {
		if n, err := f.read(); err != nil || n == 0 {
			return // an error recurs at the next call, which has no lines to lose
		}
		f.collect(maxLines)
	}
}

// position returns the Position just past the last line returned.
func (f *Follower) position() Position {
	n := min(f.off, int64(len(f.cur.head)))
	return Position{
		Path: f.cur.path, Dev: f.cur.dev, Inode: f.cur.ino,
		FingerprintLen: n, Fingerprint: f.cur.fingerprint(n),
		Offset: f.off,
	}
}

// Close releases the open file. Next then returns ErrClosed; Close again
// does nothing.
func (f *Follower) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	if f.cur != nil {
		f.cur.close()
		f.cur = nil
	}
	return nil
}

// Stats returns the Follower's counters since Follow. It is safe to call
// from any goroutine, during Next and after Close.
func (f *Follower) Stats() Stats { return f.stats.snapshot() }
