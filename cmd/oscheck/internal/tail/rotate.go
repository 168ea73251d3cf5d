package tail

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// settle is called when the current file yields nothing more to read. It
// notices a truncated file, a path that names another file or none, and a
// path that names a file again, and reports whether reading can go on at
// once; otherwise Next waits a poll interval. It puts the unterminated last
// line of a file it finishes in f.lines.
func (f *Follower) settle() (bool, error) {
	if f.cur == nil {
		err := f.openPath(false)
		return f.cur != nil, err
	}
	if !f.finished {
		truncated, err := f.truncatedAtEnd()
		if err != nil {
			return false, err
		}
		if truncated {
			f.restart()
			return true, nil
		}
	}
	moved, err := f.moved()
	if err != nil || !moved {
		return false, err
	}
	now := time.Now()
	if f.rotatedAt.IsZero() {
		f.rotatedAt = now
	}
	if !f.finished {
		if quiet := now.Sub(later(f.rotatedAt, f.grewAt)); quiet < f.opt.drain {
			return false, nil
		}
		f.finished = true
		if f.end > f.start || f.skipping {
			f.emitLast()
			return false, nil
		}
	}
	return true, f.moveOn()
}

// truncatedAtEnd reports whether cur, read to its end, is shorter than the
// offset read or starts with other bytes than it did.
func (f *Follower) truncatedAtEnd() (bool, error) {
	if f.truncated {
		return true, nil
	}
	size, err := f.cur.size()
	if err != nil {
		return false, err
	}
	if size < f.readOff() {
		return true, nil
	}
	return f.cur.headChanged()
}

// restart reads cur again from offset 0. What was not read of it before it
// was truncated is gone from it.
func (f *Follower) restart() {
	f.stats.truncations.Add(1)
	f.log.Warn("tail: file truncated or rewritten in place; reading it again from the start; its lines not yet read are lost",
		"file", f.cur.path, "read_offset", f.readOff(), "returned_offset", f.off)
	f.cur.resetHead()
	f.resetReader(0)
}

// moved reports whether path names another file than cur, or none.
func (f *Follower) moved() (bool, error) {
	info, err := os.Stat(f.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("tail: %w", err)
	case os.SameFile(info, f.cur.info):
		f.rotatedAt = time.Time{} // renamed back: not rotated after all
		return false, nil
	}
	return true, nil
}

// emitLast returns what is left of a finished file: its last line, which
// has no '\n', cut to maxLine bytes.
func (f *Follower) emitLast() {
	line := f.buf[f.start:f.end]
	long := f.skipping || len(line) > f.opt.maxLine
	if long {
		line = line[:f.opt.maxLine]
	}
	f.emit(line, f.end, long)
}

// moveOn closes the finished file and goes on with the file at path, from
// its start, or waits for one when path names none.
func (f *Follower) moveOn() error {
	next, err := openFile(f.path, f.opt.fingerprintSize)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("tail: %w", err)
	}
	f.stats.rotations.Add(1)
	f.log.Info("tail: finished rotated file", "file", f.cur.path, "offset", f.off, "next_exists", next != nil)
	f.cur.close()
	f.cur = next
	f.resetReader(0)
	return nil
}

// openPath opens the file at path, if there is one, and positions the
// reader at its start, or just past its last complete line when atEnd.
func (f *Follower) openPath(atEnd bool) error {
	fl, err := openFile(f.path, f.opt.fingerprintSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	var off int64
	if atEnd {
		if off, err = f.lastLineEnd(fl); err == nil {
			err = fl.loadHead(off)
		}
		if err != nil {
			fl.close()
			return err
		}
	}
	f.cur = fl
	f.resetReader(off)
	return nil
}

// resetReader empties the buffer, to read cur from off.
func (f *Follower) resetReader(off int64) {
	f.start, f.end, f.scanned = 0, 0, 0
	f.off = off
	f.skipping, f.skipped = false, 0
	f.finished, f.truncated = false, false
	f.grewAt, f.rotatedAt = time.Now(), time.Time{}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
