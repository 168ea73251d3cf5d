package tail

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// resume positions the reader at p, as Follow documents.
func (f *Follower) resume(p Position) error {
	fl, atPath, err := locate(f.path, p, f.opt.fingerprintSize)
	if err != nil {
		return err
	}
	if fl == nil {
		f.lost(p, "no file in the directory has its inode")
		return f.openPath(false)
	}
	same, err := fl.holds(p)
	if err != nil {
		fl.close()
		return err
	}
	switch {
	case same:
		if fl.dev != p.Dev {
			f.log.Info("tail: file found under another device number, as after a reboot", "file", fl.path, "dev", fl.dev, "saved_dev", p.Dev)
		}
		if err := fl.loadHead(p.Offset); err != nil {
			fl.close()
			return err
		}
		f.cur = fl
		f.resetReader(p.Offset)
	case atPath:
		f.stats.truncations.Add(1)
		f.log.Warn("tail: file at the saved position was truncated or replaced; reading it from the start; its lines past the saved offset are lost",
			"file", fl.path, "offset", p.Offset)
		f.cur = fl
		f.resetReader(0)
	default:
		fl.close()
		f.lost(p, "the file with its inode, "+fl.path+", is another file")
		return f.openPath(false)
	}
	return nil
}

func (f *Follower) lost(p Position, why string) {
	f.stats.filesLost.Add(1)
	f.log.Warn("tail: file of the saved position is gone; its lines past the offset are lost; reading path from its start",
		"file", p.Path, "inode", p.Inode, "offset", p.Offset, "why", why, "path", f.path)
}

// locate opens the file p was taken from, by inode: the file at path when
// it is that file, else a regular file in path's directory with its inode.
// It returns nil when there is none, and reports whether the file it
// returns is the one at path.
//
// A rotation under way can rename the file between the listing of the
// directory and its opening; a second pass over the directory finds it
// under its new name.
func locate(path string, p Position, fingerprintSize int) (fl *file, atPath bool, err error) {
	fl, err = openFile(path, fingerprintSize)
	switch {
	case err == nil && fl.ino == p.Inode:
		return fl, true, nil
	case err == nil:
		fl.close()
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("tail: %w", err)
	}
	dir := filepath.Dir(path)
	for range 2 {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, false, fmt.Errorf("tail: listing %s: %w", dir, err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			name := filepath.Join(dir, e.Name())
			info, err := os.Stat(name)
			if err != nil || !info.Mode().IsRegular() || inode(info) != p.Inode {
				continue // gone since the listing, or not it
			}
			fl, err := openFile(name, fingerprintSize)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, false, fmt.Errorf("tail: %w", err)
			}
			if fl.ino == p.Inode {
				return fl, false, nil
			}
			fl.close()
		}
	}
	return nil, false, nil
}

// lastLineEnd returns the offset just past the last '\n' in fl, 0 if it has
// none, so that starting at the end never starts inside a line. It reads
// backwards through the (still empty) buffer.
func (f *Follower) lastLineEnd(fl *file) (int64, error) {
	end, err := fl.size()
	if err != nil {
		return 0, err
	}
	for end > 0 {
		n := min(int64(len(f.buf)), end)
		chunk := f.buf[:n]
		if _, err := fl.f.ReadAt(chunk, end-n); err != nil {
			return 0, fmt.Errorf("tail: reading %s backwards from %d: %w", fl.path, end, err)
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}
