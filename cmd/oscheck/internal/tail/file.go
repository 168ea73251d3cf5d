package tail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// file is one open log file: its identity as of opening, and its first
// bytes as read so far, which reveal a copytruncate.
type file struct {
	f        *os.File
	path     string      // as opened; a rotated file keeps the name it was opened under
	info     fs.FileInfo // from fstat at opening, for os.SameFile
	dev, ino uint64

	head    []byte // the file's first min(fingerprint size, bytes read) bytes
	scratch []byte // room to read the head again and compare
	fpLen   int64  // the fingerprint cached for the head's first fpLen bytes
	fp      string
}

// openFile opens path read-only. Its identity comes from the open
// descriptor, so it is the file actually opened even if path changes at the
// same time. Errors satisfy errors.Is(err, fs.ErrNotExist) when path names
// nothing.
func openFile(path string, fingerprintSize int) (*file, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("tail: %w", err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("tail: %s is not a regular file (mode %v)", path, info.Mode())
	}
	st := info.Sys().(*syscall.Stat_t)
	return &file{
		f: f, path: path, info: info,
		dev: uint64(st.Dev), ino: st.Ino,
		head:    make([]byte, 0, fingerprintSize),
		scratch: make([]byte, fingerprintSize),
	}, nil
}

// close closes the descriptor. The file was only read, so a close error
// loses nothing and is not reported.
func (fl *file) close() { fl.f.Close() }

func (fl *file) size() (int64, error) {
	info, err := fl.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("tail: %w", err)
	}
	return info.Size(), nil
}

// loadHead reads the file's first min(off, cap(head)) bytes into head, for
// a Follower that starts reading at off. A file that has shrunk meanwhile
// gives a shorter head, and the shrink is noticed at the file's end.
func (fl *file) loadHead(off int64) error {
	n := min(off, int64(cap(fl.head)))
	got, err := fl.f.ReadAt(fl.head[:n], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("tail: reading the start of %s: %w", fl.path, err)
	}
	fl.head = fl.head[:got]
	return nil
}

// extendHead adds to head the bytes b, read at offset at, that it lacks.
func (fl *file) extendHead(b []byte, at int64) {
	if at != int64(len(fl.head)) {
		return
	}
	room := cap(fl.head) - len(fl.head)
	fl.head = append(fl.head, b[:min(room, len(b))]...)
}

// headChanged reports whether the file's first bytes are no longer those
// read before: the mark of a copytruncate, even one after which the file
// has grown past the read offset again.
func (fl *file) headChanged() (bool, error) {
	if len(fl.head) == 0 {
		return false, nil
	}
	now := fl.scratch[:len(fl.head)]
	n, err := fl.f.ReadAt(now, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("tail: reading the start of %s: %w", fl.path, err)
	}
	return n < len(now) || !bytes.Equal(now, fl.head), nil
}

// resetHead forgets the first bytes, for a file to be read again from 0.
func (fl *file) resetHead() {
	fl.head = fl.head[:0]
	fl.fpLen, fl.fp = 0, ""
}

// fingerprint returns the fingerprint of the file's first n bytes, n at
// most len(head). It is computed once per n: once n reaches the fingerprint
// size it stops changing, so following a long file hashes it once.
func (fl *file) fingerprint(n int64) string {
	if n == 0 {
		return ""
	}
	if n != fl.fpLen {
		fl.fpLen, fl.fp = n, fingerprint(fl.head[:n])
	}
	return fl.fp
}

// holds reports whether fl can still be the file p was taken from: it has
// at least p.Offset bytes and its first p.FingerprintLen bytes hash to
// p.Fingerprint.
func (fl *file) holds(p Position) (bool, error) {
	size, err := fl.size()
	if err != nil || size < p.Offset {
		return false, err
	}
	ok, err := prefixMatches(fl.f, p.FingerprintLen, p.Fingerprint)
	if err != nil {
		return false, fmt.Errorf("tail: %s: %w", fl.path, err)
	}
	return ok, nil
}

// inode returns the inode number in info, from stat(2).
func inode(info fs.FileInfo) uint64 { return info.Sys().(*syscall.Stat_t).Ino }
