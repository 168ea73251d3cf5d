package tail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Most tests run in a testing/synctest bubble: its clock advances only when
// every goroutine in it is blocked, so polls and rotate drains take no real
// time, and "no line came in an hour" is a fact about the Follower, not
// about how busy the machine was.

// logFile is a log as nginx writes it: through a descriptor opened for
// appending, which keeps writing to the file after it is renamed or deleted.
type logFile struct {
	t    *testing.T
	path string
	f    *os.File
}

func createLog(t *testing.T, path string) *logFile {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &logFile{t: t, path: path, f: f}
}

func (l *logFile) write(s string) {
	l.t.Helper()
	if _, err := l.f.WriteString(s); err != nil {
		l.t.Fatal(err)
	}
}

func (l *logFile) inode() uint64 {
	l.t.Helper()
	info, err := l.f.Stat()
	if err != nil {
		l.t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t).Ino
}

// rename moves the log, as logrotate does; l keeps writing to it.
func (l *logFile) rename(to string) {
	l.t.Helper()
	if err := os.Rename(l.path, to); err != nil {
		l.t.Fatal(err)
	}
	l.path = to
}

// truncate empties the log in place, as copytruncate does.
func (l *logFile) truncate() {
	l.t.Helper()
	if err := l.f.Truncate(0); err != nil {
		l.t.Fatal(err)
	}
}

// logRecorder is a slog.Handler that keeps the records, and logs them to
// the test.
type logRecorder struct {
	t       *testing.T
	mu      sync.Mutex
	records []string // "LEVEL msg k=v ..."
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", rec.Level, rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	r.mu.Lock()
	r.records = append(r.records, b.String())
	r.mu.Unlock()
	r.t.Log(b.String())
	return nil
}

// has reports whether a record holds every one of parts.
func (r *logRecorder) has(parts ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
outer:
	for _, rec := range r.records {
		for _, p := range parts {
			if !strings.Contains(rec, p) {
				continue outer
			}
		}
		return true
	}
	return false
}

// follow starts a Follower that logs to the test, and closes it at the
// test's end. The recorder is returned for tests about what is logged.
func follow(t *testing.T, path string, from *Position, opts ...Option) (*Follower, *logRecorder) {
	t.Helper()
	rec := &logRecorder{t: t}
	f, err := Follow(path, from, append([]Option{WithLogger(slog.New(rec))}, opts...)...)
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f, rec
}

// patience bounds every wait for a line that should come. In a bubble it
// is fake time: a Follower that never returns the line fails the test
// after an hour of polls, which take a fraction of a real second.
const patience = time.Hour

// next calls Next and returns copies of the lines.
func next(t *testing.T, f *Follower, maxLines int) ([]string, Position) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	lines, end, err := f.Next(ctx, maxLines)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	if len(lines) == 0 || len(lines) > maxLines {
		t.Fatalf("Next returned %d lines, want 1 to %d", len(lines), maxLines)
	}
	return strs(lines), end
}

// readN calls Next until it has returned n lines, and fails on more.
func readN(t *testing.T, f *Follower, n int) ([]string, Position) {
	t.Helper()
	var all []string
	var end Position
	for len(all) < n {
		lines, e := next(t, f, n-len(all))
		all, end = append(all, lines...), e
	}
	return all, end
}

// nothing asserts that Next returns no line within a minute (of the
// bubble's fake time: long past every drain and poll).
func nothing(t *testing.T, f *Follower) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	lines, _, err := f.Next(ctx, 100)
	if !errors.Is(err, context.DeadlineExceeded) || len(lines) > 0 {
		t.Fatalf("Next = %q, %v; want no line and a deadline error", lines, err)
	}
}

func strs(lines [][]byte) []string {
	s := make([]string, len(lines))
	for i, l := range lines {
		s[i] = string(l)
	}
	return s
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

// wantEvents compares f's Stats with want, but for Lines and Bytes, which
// the tests about them check.
func wantEvents(t *testing.T, f *Follower, want Stats) {
	t.Helper()
	got := f.Stats()
	got.Lines, got.Bytes = 0, 0
	if got != want {
		t.Fatalf("stats = %+v, want %+v (Lines and Bytes not compared)", f.Stats(), want)
	}
}

// wantAt asserts that end is just past the first off bytes of l's file.
func wantAt(t *testing.T, end Position, l *logFile, off int64) {
	t.Helper()
	if end.Inode != l.inode() || end.Offset != off {
		t.Fatalf("position = inode %d offset %d, want inode %d offset %d", end.Inode, end.Offset, l.inode(), off)
	}
}

func logPath(t *testing.T) string { return filepath.Join(t.TempDir(), "access.log") }
