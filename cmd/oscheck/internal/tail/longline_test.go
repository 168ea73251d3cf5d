package tail

import (
	"strings"
	"testing"
	"testing/synctest"
)

func TestLongLineInOneRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		l.write("short\n0123456789abcdef\nx\n")
		f, rec := follow(t, path, nil, WithMaxLineBytes(8))
		lines, end := next(t, f, 2)
		equal(t, "lines", lines, []string{"short", "01234567"})
		wantAt(t, end, l, 23) // past the long line's '\n'
		wantEvents(t, f, Stats{LongLines: 1})
		if !rec.has("WARN", "longer than the maximum") {
			t.Fatal("long line not logged")
		}
		f2, _ := follow(t, path, &end, WithMaxLineBytes(8))
		lines, _ = next(t, f2, 10)
		equal(t, "resumed after the long line", lines, []string{"x"})
	})
}

// A line written in pieces, longer than the maximum long before its '\n'
// comes: its start is kept, the rest dropped as it is read, and memory stays
// bounded.
func TestLongLineAcrossReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		f, _ := follow(t, path, nil, WithMaxLineBytes(8))
		l.write("0123456789")
		nothing(t, f)
		for range 10 {
			l.write(strings.Repeat("z", 50_000))
			nothing(t, f)
		}
		if len(f.buf) > 8+readSize {
			t.Fatalf("buffer grew to %d bytes, more than 8 + %d", len(f.buf), readSize)
		}
		l.write("end\nnext\n")
		lines, end := next(t, f, 1)
		equal(t, "long line", lines, []string{"01234567"})
		const long = 10 + 500_000 + 4
		wantAt(t, end, l, long)
		if s := f.Stats(); s.Bytes != long || s.LongLines != 1 {
			t.Fatalf("stats = %+v, want %d bytes in 1 long line", s, long)
		}
		lines, _ = next(t, f, 1)
		equal(t, "after it", lines, []string{"next"})

		f2, _ := follow(t, path, &end, WithMaxLineBytes(8))
		lines, _ = next(t, f2, 10)
		equal(t, "resumed after the long line", lines, []string{"next"})
	})
}

// With the default maximum of 1 MiB, longer than the buffer's first size:
// the buffer grows up to the maximum, then skips.
func TestLongLineDefaultMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		fits := strings.Repeat("f", 1<<20)
		long := strings.Repeat("L", 3<<20)
		l.write(fits + "\n" + long + "\nafter\n")
		f, _ := follow(t, path, nil)
		lines, _ := readN(t, f, 3)
		equal(t, "lines", lines, []string{fits, long[:1<<20], "after"})
		if len(f.buf) > 1<<20+readSize {
			t.Fatalf("buffer grew to %d bytes", len(f.buf))
		}
		wantEvents(t, f, Stats{LongLines: 1})
	})
}

// The maximum counts the bytes before "\n" or "\r\n".
func TestLongLineCRLF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		f, _ := follow(t, path, nil, WithMaxLineBytes(4))
		l.write("abcd\r")
		nothing(t, f) // 5 bytes, no '\n': not yet known to be long
		l.write("\nabcde\r\nabcd\n")
		lines, _ := readN(t, f, 3)
		equal(t, "lines", lines, []string{"abcd", "abcd", "abcd"})
		wantEvents(t, f, Stats{LongLines: 1})
	})
}

// A rotated file's unterminated last line is cut too.
func TestLongUnterminatedLastLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		old := createLog(t, path)
		f, _ := follow(t, path, nil, WithMaxLineBytes(4))
		old.write("a\n")
		next(t, f, 1)
		old.write("0123456789")
		old.rename(path + ".1")
		createLog(t, path).write("b\n")
		lines, end := next(t, f, 10)
		equal(t, "last line", lines, []string{"0123"})
		wantAt(t, end, old, 12)
		lines, _ = next(t, f, 10)
		equal(t, "new file", lines, []string{"b"})
		wantEvents(t, f, Stats{Rotations: 1, LongLines: 1})
	})
}
