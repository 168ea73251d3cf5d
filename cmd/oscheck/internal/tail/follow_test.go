package tail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestCompleteLinesOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		l.write("a\nb\r\n\nc")
		f, _ := follow(t, path, nil)

		lines, end := next(t, f, 10)
		equal(t, "lines", lines, []string{"a", "b", ""})
		wantAt(t, end, l, int64(len("a\nb\r\n\n")))
		nothing(t, f) // "c" has no '\n' yet

		l.write("d\r")
		nothing(t, f)
		l.write("\n")
		lines, end = next(t, f, 10)
		equal(t, "completed line", lines, []string{"cd"})
		wantAt(t, end, l, int64(len("a\nb\r\n\ncd\r\n")))
		if s := f.Stats(); s.Lines != 4 || s.Bytes != uint64(end.Offset) {
			t.Fatalf("stats = %+v, want 4 lines of %d bytes", s, end.Offset)
		}
	})
}

func TestMaxLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		var want []string
		for i := range 10 {
			want = append(want, strings.Repeat(string(rune('a'+i)), i+1))
			l.write(want[i] + "\n")
		}
		f, _ := follow(t, path, nil)
		var off int64
		for i := 0; i < 10; i += 3 {
			lines, end := next(t, f, 3)
			equal(t, "batch", lines, want[i:min(i+3, 10)])
			for _, line := range lines {
				off += int64(len(line) + 1)
			}
			wantAt(t, end, l, off)
		}
		if _, _, err := f.Next(t.Context(), 0); err == nil {
			t.Fatal("Next with maxLines 0 succeeded")
		}
	})
}

// Next fills its batch with what the file holds past the lines it found
// buffered, as far as the buffer has room, rather than returning only those.
func TestBatchesTopUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		for i := range 10 {
			l.write(strings.Repeat("a", i) + "\n")
		}
		f, _ := follow(t, path, nil)
		next(t, f, 1) // reads all ten lines, returns one
		for i := range 10 {
			l.write(strings.Repeat("b", i) + "\n")
		}
		lines, end := next(t, f, 100)
		if len(lines) != 19 {
			t.Fatalf("Next returned %d lines, want the 9 buffered and the 10 written since", len(lines))
		}
		wantAt(t, end, l, 2*(10+45))
	})
}

// The fingerprint covers the first min(Offset, FingerprintSize) bytes, so it
// exists from the first line and stops changing once the file is long.
func TestPositionFingerprint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		content := "first\nsecond line\nthird line, longer\n"
		l.write(content)
		f, _ := follow(t, path, nil, WithFingerprintSize(16))
		for _, wantLen := range []int64{6, 16, 16} {
			_, end := next(t, f, 1)
			sum := sha256.Sum256([]byte(content[:wantLen]))
			if end.FingerprintLen != wantLen || end.Fingerprint != hex.EncodeToString(sum[:]) {
				t.Fatalf("at offset %d: fingerprint %d:%s, want SHA-256 of the first %d bytes",
					end.Offset, end.FingerprintLen, end.Fingerprint, wantLen)
			}
			if end.Path != path || end.Inode != l.inode() || end.Dev == 0 {
				t.Fatalf("position %+v does not name %s (inode %d)", end, path, l.inode())
			}
		}
	})
}

func TestStartAtEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		l.write("old 1\nold 2\nnew 1, being writ")
		f, _ := follow(t, path, nil, WithStartAtEnd())
		nothing(t, f)
		l.write("ten\nnew 2\n")
		lines, end := readN(t, f, 2)
		equal(t, "lines", lines, []string{"new 1, being written", "new 2"})

		// A file with no '\n' at all is one line being written: from 0.
		path2 := filepath.Join(filepath.Dir(path), "other.log")
		l2 := createLog(t, path2)
		l2.write("partial")
		f2, _ := follow(t, path2, nil, WithStartAtEnd())
		l2.write("\n")
		lines, _ = next(t, f2, 10)
		equal(t, "lines", lines, []string{"partial"})

		// Resuming ignores WithStartAtEnd.
		l.write("new 3\n")
		f.Close()
		f, _ = follow(t, path, &end, WithStartAtEnd())
		lines, _ = next(t, f, 10)
		equal(t, "resumed", lines, []string{"new 3"})
	})
}

func TestWaitsForPathToAppear(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		f, _ := follow(t, path, nil)
		nothing(t, f)
		l := createLog(t, path)
		nothing(t, f)
		l.write("hello\n")
		lines, end := next(t, f, 10)
		equal(t, "lines", lines, []string{"hello"})
		wantAt(t, end, l, 6)
		wantEvents(t, f, Stats{})
	})
}

func TestFollowErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	if err := os.WriteFile(path, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	valid := Position{Inode: 1, Offset: 10, FingerprintLen: 4, Fingerprint: strings.Repeat("ab", 32)}
	for _, tc := range []struct {
		name string
		path string
		from *Position
		opts []Option
	}{
		{"no directory", filepath.Join(dir, "missing", "access.log"), nil, nil},
		{"directory is a file", filepath.Join(path, "access.log"), nil, nil},
		{"path is a directory", dir, nil, nil},
		{"zero poll", path, nil, []Option{WithPollInterval(0)}},
		{"negative drain", path, nil, []Option{WithRotateDrain(-time.Second)}},
		{"zero max line", path, nil, []Option{WithMaxLineBytes(0)}},
		{"zero fingerprint size", path, nil, []Option{WithFingerprintSize(0)}},
		{"huge fingerprint size", path, nil, []Option{WithFingerprintSize(maxFingerprintSize + 1)}},
		{"nil logger", path, nil, []Option{WithLogger(nil)}},
		{"zero position", path, &Position{}, nil},
		{"fingerprint past offset", path, &Position{Inode: 1, Offset: 2, FingerprintLen: 4, Fingerprint: valid.Fingerprint}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Follow(tc.path, tc.from, tc.opts...)
			if err == nil {
				f.Close()
				t.Fatal("Follow succeeded")
			}
			t.Log(err)
		})
	}
	f, _ := follow(t, path, &valid) // inode 1 is nowhere: lost, not an error
	wantEvents(t, f, Stats{FilesLost: 1})
}

func TestCloseAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		f, _ := follow(t, path, nil)

		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			time.Sleep(time.Second)
			cancel()
		}()
		if _, _, err := f.Next(ctx, 1); !errors.Is(err, context.Canceled) {
			t.Fatalf("Next with canceled ctx: %v, want context.Canceled", err)
		}
		l.write("after\n") // a canceled Next consumed nothing
		lines, _ := next(t, f, 1)
		equal(t, "lines", lines, []string{"after"})

		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.Next(t.Context(), 1); !errors.Is(err, ErrClosed) {
			t.Fatalf("Next after Close: %v, want ErrClosed", err)
		}
		if err := f.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

// Next looks at the file once per poll interval, not more often.
func TestPollInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		f, _ := follow(t, path, nil, WithPollInterval(time.Hour))
		go func() {
			time.Sleep(time.Second)
			l.write("line\n")
		}()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute)
		defer cancel()
		if lines, _, err := f.Next(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Next = %q, %v; want no look at the file before the hour is up", lines, err)
		}
		lines, _ := next(t, f, 1) // a new call looks at once
		equal(t, "lines", lines, []string{"line"})
	})
}

// Stats may be read from another goroutine while Next runs (run with -race).
func TestStatsConcurrently(t *testing.T) {
	path := logPath(t)
	l := createLog(t, path)
	f, _ := follow(t, path, nil)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				f.Stats()
			}
		}
	}()
	for range 100 {
		l.write("line\n")
		next(t, f, 10)
	}
	close(stop)
	<-done
	if s := f.Stats(); s.Lines != 100 || s.Bytes != 500 {
		t.Fatalf("stats = %+v, want 100 lines of 500 bytes", s)
	}
}
