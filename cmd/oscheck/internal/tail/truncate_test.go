package tail

import (
	"strings"
	"testing"
	"testing/synctest"
)

// copytruncate leaves the file shorter than the offset read.
func TestCopyTruncateShorter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		l.write("old line 1\nold line 2\n")
		f, rec := follow(t, path, nil)
		readN(t, f, 2)
		l.truncate()
		l.write("new 1\n")
		lines, end := next(t, f, 10)
		equal(t, "lines", lines, []string{"new 1"})
		wantAt(t, end, l, 6)
		wantEvents(t, f, Stats{Truncations: 1})
		if !rec.has("WARN", "truncated") {
			t.Fatal("truncation not logged")
		}
	})
}

// The file has grown past the offset read again before the Follower looks:
// its first bytes tell, and it is read from 0, not from the middle.
func TestCopyTruncateRegrownPast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		l.write("old 1\n")
		f, _ := follow(t, path, nil)
		next(t, f, 10)
		l.truncate()
		l.write("new line 1\nnew line 2\n")
		lines, end := readN(t, f, 2)
		equal(t, "lines", lines, []string{"new line 1", "new line 2"})
		wantAt(t, end, l, 22)
		wantEvents(t, f, Stats{Truncations: 1})
	})
}

// Regrown to exactly the offset read: no read returns bytes, but the check
// of the first bytes at the file's end notices.
func TestCopyTruncateRegrownToSameSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		l.write("old 1\n")
		f, _ := follow(t, path, nil)
		next(t, f, 10)
		l.truncate()
		l.write("new 1\n")
		lines, _ := next(t, f, 10)
		equal(t, "lines", lines, []string{"new 1"})
		wantEvents(t, f, Stats{Truncations: 1})
	})
}

// Lines read into the buffer before the truncation are genuine and are
// returned; the partial line after them is lost with the old content.
func TestTruncateWithBufferedLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		l.write("a1\na2\na3\npart")
		f, _ := follow(t, path, nil)
		next(t, f, 1)
		l.truncate()
		l.write(strings.Repeat("new line\n", 3))
		lines, _ := next(t, f, 10)
		equal(t, "buffered", lines, []string{"a2", "a3"})
		lines, end := readN(t, f, 3)
		equal(t, "new content", lines, []string{"new line", "new line", "new line"})
		wantAt(t, end, l, 27)
		wantEvents(t, f, Stats{Truncations: 1})
	})
}
