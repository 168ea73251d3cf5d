package tail

import (
	"os"
	"testing"
	"testing/synctest"
	"time"
)

// logrotate's default with nginx: mv access.log access.log.1, then USR1;
// workers write to the old file until they reopen.
func TestRenameRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		old := createLog(t, path)
		old.write("a1\na2\n")
		f, rec := follow(t, path, nil)
		lines, _ := next(t, f, 10)
		equal(t, "before", lines, []string{"a1", "a2"})

		old.rename(path + ".1")
		cur := createLog(t, path)
		cur.write("b1\n")
		old.write("a3\n") // a worker that has not reopened yet
		old.write("a4")   // and its last line, never ended

		lines, end := next(t, f, 10)
		equal(t, "old file first", lines, []string{"a3"})
		wantAt(t, end, old, 9)
		lines, end = next(t, f, 10)
		equal(t, "unterminated last line, after the drain", lines, []string{"a4"})
		wantAt(t, end, old, 11)
		if end.Path != path {
			t.Fatalf("position path %q, want %q, the name the file was opened under", end.Path, path)
		}
		lines, end = next(t, f, 10)
		equal(t, "then the new file", lines, []string{"b1"})
		wantAt(t, end, cur, 3)
		wantEvents(t, f, Stats{Rotations: 1})
		if !rec.has("INFO", "finished rotated file") {
			t.Fatal("rotation not logged")
		}
	})
}

// The old file is read for as long as it keeps growing, and until it has
// been quiet for RotateDrain; what is written to it later is not read.
func TestRotateDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		old := createLog(t, path)
		old.write("a1\n")
		f, _ := follow(t, path, nil) // default drain: 1s
		next(t, f, 10)

		old.rename(path + ".1")
		cur := createLog(t, path)
		cur.write("b1\n")
		done := make(chan struct{})
		go func() { // each write within a second of the last
			defer close(done)
			time.Sleep(900 * time.Millisecond)
			old.write("late 1\n")
			time.Sleep(900 * time.Millisecond)
			old.write("late 2\n")
		}()
		lines, _ := readN(t, f, 3)
		equal(t, "lines", lines, []string{"late 1", "late 2", "b1"})
		<-done

		old.write("too late\n")
		cur.write("b2\n")
		lines, _ = next(t, f, 10)
		equal(t, "after the switch", lines, []string{"b2"})
		nothing(t, f)

		// With a drain of 0, the switch comes at the first poll at the end.
		f0, _ := follow(t, path, nil, WithRotateDrain(0))
		readN(t, f0, 2)
		cur.rename(path + ".2")
		next2 := createLog(t, path)
		next2.write("c1\n")
		lines, _ = next(t, f0, 10)
		equal(t, "drain 0", lines, []string{"c1"})
	})
}

// A deleted path: the open file is finished, then the Follower waits for
// path to name a file again.
func TestPathDeleted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		old := createLog(t, path)
		old.write("a1\n")
		f, _ := follow(t, path, nil)
		next(t, f, 10)

		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		old.write("a2\n") // still open in the writer
		lines, _ := next(t, f, 10)
		equal(t, "deleted file", lines, []string{"a2"})
		nothing(t, f)
		wantEvents(t, f, Stats{Rotations: 1})

		cur := createLog(t, path)
		cur.write("b1\n")
		lines, end := next(t, f, 10)
		equal(t, "new file", lines, []string{"b1"})
		wantAt(t, end, cur, 3)
	})
}

// A path renamed away and back is not a rotation: nothing is read twice.
func TestRenamedBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := logPath(t)
		l := createLog(t, path)
		l.write("a1\n")
		f, _ := follow(t, path, nil, WithRotateDrain(time.Hour))
		next(t, f, 10)
		l.rename(path + ".tmp")
		nothing(t, f)
		l.rename(path)
		l.write("a2\n")
		lines, end := next(t, f, 10)
		equal(t, "lines", lines, []string{"a2"})
		wantAt(t, end, l, 6)
		wantEvents(t, f, Stats{})
	})
}
