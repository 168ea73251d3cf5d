package tail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
)

// restart closes f and follows path again from end, as a shipper does
// after a crash with the Position it last committed.
func restart(t *testing.T, f *Follower, path string, end Position, opts ...Option) (*Follower, *logRecorder) {
	t.Helper()
	f.Close()
	return follow(t, path, &end, opts...)
}

func TestResumeGrown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		l.write("a1\na2\na3\n")
		f, _ := follow(t, path, nil)
		_, end := next(t, f, 1)
		l.write("a4\n")
		f, _ = restart(t, f, path, end)
		lines, end := readN(t, f, 3)
		equal(t, "lines", lines, []string{"a2", "a3", "a4"})
		wantAt(t, end, l, 12)
		wantEvents(t, f, Stats{})
	})
}

// Rotated while no Follower ran: the rest of the old file, under its new
// name, then the new file.
func TestResumeRotatedWhileDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		old := createLog(t, path)
		old.write("a1\na2\n")
		f, _ := follow(t, path, nil)
		_, end := next(t, f, 1)
		f.Close()

		old.rename(path + ".1")
		cur := createLog(t, path)
		cur.write("b1\n")
		old.write("a3\n")
		if err := os.WriteFile(filepath.Join(filepath.Dir(path), "unrelated"), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}

		f, _ = follow(t, path, &end)
		lines, end := next(t, f, 10)
		equal(t, "old file", lines, []string{"a2", "a3"})
		wantAt(t, end, old, 9)
		if end.Path != path+".1" {
			t.Fatalf("position path %q, want the name it was found under", end.Path)
		}
		lines, end = next(t, f, 10)
		equal(t, "new file", lines, []string{"b1"})
		wantAt(t, end, cur, 3)
		wantEvents(t, f, Stats{Rotations: 1})

		// From the old file's end, as after its unterminated last line: the
		// new file only.
		f, _ = restart(t, f, path, Position{Path: path + ".1", Dev: end.Dev, Inode: old.inode(), Offset: 9,
			FingerprintLen: 9, Fingerprint: fingerprint([]byte("a1\na2\na3\n"))})
		lines, _ = next(t, f, 10)
		equal(t, "from the old file's end", lines, []string{"b1"})
	})
}

// Rotated while down, and the rotated file gone too (compressed, deleted):
// what was not read of it is lost, said, and counted.
func TestResumeRotatedFileGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		old := createLog(t, path)
		old.write("a1\na2\n")
		f, _ := follow(t, path, nil)
		_, end := next(t, f, 1)
		f.Close()

		old.rename(path + ".1")
		if err := os.Remove(path + ".1"); err != nil {
			t.Fatal(err)
		}
		cur := createLog(t, path)
		cur.write("b1\n")

		f, rec := follow(t, path, &end)
		lines, _ := next(t, f, 10)
		equal(t, "lines", lines, []string{"b1"})
		wantEvents(t, f, Stats{FilesLost: 1})
		if !rec.has("WARN", "lost", "file="+path, "offset=3") {
			t.Fatal("loss not logged with the file and offset")
		}
	})
}

// Rotated while down, path not created again yet: the old file, then wait.
func TestResumeRotatedPathMissing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		old := createLog(t, path)
		old.write("a1\n")
		f, _ := follow(t, path, nil)
		_, end := next(t, f, 1)
		f.Close()
		old.write("a2\n")
		old.rename(path + ".1")

		f, _ = follow(t, path, &end)
		lines, _ := next(t, f, 10)
		equal(t, "old file", lines, []string{"a2"})
		nothing(t, f)
		createLog(t, path).write("b1\n")
		lines, _ = next(t, f, 10)
		equal(t, "new file", lines, []string{"b1"})
	})
}

func TestResumeTruncated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		l.write("old line 1\nold line 2\n")
		f, _ := follow(t, path, nil)
		_, end := readN(t, f, 2)
		f.Close()
		l.truncate()
		l.write("new 1\n")

		f, rec := follow(t, path, &end)
		lines, end := next(t, f, 10)
		equal(t, "lines", lines, []string{"new 1"})
		wantAt(t, end, l, 6)
		wantEvents(t, f, Stats{Truncations: 1})
		if !rec.has("WARN", "truncated or replaced") {
			t.Fatal("truncation not logged")
		}
	})
}

// The file at path has the Position's inode but other first bytes: a
// copytruncated file grown past the offset again, or a new file that reused
// the inode. Either way it is read from 0.
func TestResumeSameInodeOtherContent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		l.write("old 1\n")
		f, _ := follow(t, path, nil)
		_, end := next(t, f, 1)
		f.Close()
		l.truncate()
		l.write("new line 1\nnew line 2\n")

		f, _ = follow(t, path, &end)
		lines, _ := readN(t, f, 2)
		equal(t, "lines", lines, []string{"new line 1", "new line 2"})
		wantEvents(t, f, Stats{Truncations: 1})
	})
}

// Another file in the directory has the Position's inode (it was reused)
// but not its first bytes: the Position's file is lost.
func TestResumeInodeReusedElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		l.write("current 1\n")
		other := createLog(t, path+".1")
		other.write(strings.Repeat("other content\n", 10))
		from := Position{Inode: other.inode(), Offset: 20, FingerprintLen: 20,
			Fingerprint: fingerprint([]byte("not other's content!"))}

		f, rec := follow(t, path, &from)
		lines, _ := next(t, f, 10)
		equal(t, "lines", lines, []string{"current 1"})
		wantEvents(t, f, Stats{FilesLost: 1})
		if !rec.has("WARN", "lost", "is another file") {
			t.Fatal("loss not logged")
		}
	})
}

// Device numbers may change across reboots; the inode and the fingerprint
// still find the file.
func TestResumeDeviceChanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		l.write("a1\na2\n")
		f, _ := follow(t, path, nil)
		_, end := next(t, f, 1)
		end.Dev++
		f, rec := restart(t, f, path, end)
		lines, _ := next(t, f, 10)
		equal(t, "lines", lines, []string{"a2"})
		wantEvents(t, f, Stats{})
		if !rec.has("INFO", "device number") {
			t.Fatal("device change not logged")
		}
	})
}

// A file shorter than the fingerprint size is still checked, over the bytes
// read, and still recognized as it grows.
func TestResumeShortFingerprint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		l.write("a1\n")
		f, _ := follow(t, path, nil)
		_, end := next(t, f, 1)
		if end.FingerprintLen != 3 {
			t.Fatalf("fingerprint over %d bytes, want 3", end.FingerprintLen)
		}
		l.write(strings.Repeat("grown\n", 500))
		f, _ = restart(t, f, path, end)
		lines, end2 := next(t, f, 1)
		equal(t, "grown", lines, []string{"grown"})
		if end2.FingerprintLen != 9 {
			t.Fatalf("fingerprint over %d bytes, want 9", end2.FingerprintLen)
		}

		l.truncate()
		l.write("b1\n" + strings.Repeat("other\n", 500))
		f, _ = restart(t, f, path, end)
		lines, _ = next(t, f, 1)
		equal(t, "replaced", lines, []string{"b1"})
		wantEvents(t, f, Stats{Truncations: 1})
	})
}
