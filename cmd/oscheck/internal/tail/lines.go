package tail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// readOff is the file offset of buf[end]: where the next read starts.
func (f *Follower) readOff() int64 {
	return f.off + int64(f.end-f.start) + f.skipped
}

// read appends to the buffer what cur holds past the bytes read so far, and
// reports how many bytes it added. It adds none at the file's end, when
// there is no file or it is finished, and when the file's first bytes have
// changed: then it sets f.truncated and drops what it read, which belongs
// to the file's new content.
//
// It makes room by moving or growing the buffer only when it is full, which
// Next's topUp, holding lines that point into it, never lets it be.
func (f *Follower) read() (int, error) {
	if f.cur == nil || f.finished || f.truncated {
		return 0, nil
	}
	if f.end == len(f.buf) {
		f.makeRoom()
	}
	at := f.readOff()
	n, err := f.cur.f.ReadAt(f.buf[f.end:], at)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("tail: reading %s at offset %d: %w", f.cur.path, at, err)
	}
	if n == 0 {
		return 0, nil
	}
	changed, err := f.cur.headChanged()
	if err != nil {
		return 0, err
	}
	if changed {
		f.truncated = true
		return 0, nil
	}
	f.cur.extendHead(f.buf[f.end:f.end+n], at)
	f.end += n
	f.grewAt = time.Now()
	return n, nil
}

// makeRoom frees the front of a full buffer, or, when a partial line fills
// it all, doubles it, up to maxLine + readSize: by then collect is skipping
// the line, which needs maxLine bytes and room to read the rest through.
func (f *Follower) makeRoom() {
	if f.start > 0 {
		f.compact()
		return
	}
	f.resize(min(2*len(f.buf), f.opt.maxLine+readSize))
}

// compact moves the bytes not yet returned to the front of the buffer. It
// overwrites what the lines returned before point to.
func (f *Follower) compact() {
	if f.start == 0 {
		return
	}
	n := copy(f.buf, f.buf[f.start:f.end])
	f.scanned -= f.start
	f.start, f.end = 0, n
}

// resize moves the bytes not yet returned to the front of a new buffer of n
// bytes.
func (f *Follower) resize(n int) {
	b := make([]byte, n)
	copy(b, f.buf[f.start:f.end])
	f.scanned -= f.start
	f.start, f.end = 0, f.end-f.start
	f.buf = b
}

// collect moves complete lines from the buffer to f.lines until it holds
// maxLines of them or the buffer holds no complete line.
func (f *Follower) collect(maxLines int) {
	for len(f.lines) < maxLines {
		i := bytes.IndexByte(f.buf[f.scanned:f.end], '\n')
		if f.skipping {
			if i < 0 { // still inside the overlong line: drop what was read of it
				f.skipped += int64(f.end - f.scanned)
				f.end = f.scanned
				return
			}
			f.emit(f.buf[f.start:f.start+f.opt.maxLine], f.scanned+i+1, true)
			continue
		}
		if i < 0 {
			f.scanned = f.end
			// Only a line longer than maxLine+1 bytes with no '\n' yet is
			// surely overlong: maxLine bytes, '\r', '\n' is not.
			if len(f.lines) == 0 && f.end-f.start > f.opt.maxLine+1 {
				f.startSkipping()
			}
			return
		}
		nl := f.scanned + i
		line := f.buf[f.start:nl]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		long := len(line) > f.opt.maxLine
		if long {
			line = line[:f.opt.maxLine]
		}
		f.emit(line, nl+1, long)
	}
}

// startSkipping keeps the first maxLine bytes of the partial line at the
// buffer's start and drops the rest of it, now and as it is read, so an
// overlong line costs no more memory than one of maxLine bytes and is
// skipped at full read size. Its caller holds no lines, so the buffer may
// move.
func (f *Follower) startSkipping() {
	f.compact()
	keep := f.opt.maxLine
	f.skipping, f.skipped = true, int64(f.end-keep)
	f.end, f.scanned = keep, keep
	if len(f.buf)-keep < readSize {
		f.resize(keep + readSize)
	}
}

// emit returns line, which ends the buffer's bytes before next, the index
// just past its '\n' (or the buffer's end, for a finished file's last line).
func (f *Follower) emit(line []byte, next int, long bool) {
	took := int64(next-f.start) + f.skipped
	f.lines = append(f.lines, line)
	f.off += took
	f.start = next
	f.scanned = max(f.scanned, next)
	f.skipping, f.skipped = false, 0
	f.stats.lines.Add(1)
	f.stats.bytes.Add(uint64(took))
	if long {
		f.stats.longLines.Add(1)
		f.log.Warn("tail: line longer than the maximum; returned cut", "file", f.cur.path, "end_offset", f.off, "max_line_bytes", f.opt.maxLine)
	}
}
