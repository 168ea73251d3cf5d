package truth

import "fmt"

// Record is one os-check record, decoded.
type Record struct {
	Key   Key
	Count int64
}

// Verdict is how an os-check topic compares with the truth.
type Verdict struct {
	Expected             int // windows in the truth
	Missing              int
	WrongCount           int      // the first record of a window (the last, in update mode) has another count
	Unexpected           int      // windows the input does not have
	DuplicatesIdentical  int      // extra copies of a final record, byte for byte the same
	DuplicatesConflicted int      // extra records for a window with another count
	Problems             []string // the first few missing or wrong windows

	// Of an update-mode topic (CompareLast), where a window has a record per
	// change and WrongCount judges its last one:
	Overcounts  int // records above their window's count: a count the window never had
	Regressions int // records below the record before them for the same window
}

// Exact reports whether every window came with its count, nothing else came,
// and duplicates, if any, repeat the same count.
func (v Verdict) Exact() bool {
	return v.Missing == 0 && v.WrongCount == 0 && v.Unexpected == 0 && v.DuplicatesConflicted == 0 && v.Overcounts == 0
}

// OnePerWindow reports whether, on top of Exact, no window came twice.
func (v Verdict) OnePerWindow() bool { return v.Exact() && v.DuplicatesIdentical == 0 }

const maxProblems = 10

// Compare judges records, in the order read, against want.
func Compare(records []Record, want map[Key]int64) Verdict {
	v := Verdict{Expected: len(want)}
	seen := make(map[Key]int64)
	for _, r := range records {
		prev, dup := seen[r.Key]
		switch {
		case !dup:
			seen[r.Key] = r.Count
		case prev == r.Count:
			v.DuplicatesIdentical++
		default:
			v.DuplicatesConflicted++
			v.problem("window %s@%d emitted with %d and %d", r.Key.OS, r.Key.Start, prev, r.Count)
		}
	}
	v.judge(seen, want)
	return v
}

// judge compares the count each window came with, counts, with want.
func (v *Verdict) judge(counts, want map[Key]int64) {
	for k, n := range want {
		got, ok := counts[k]
		switch {
		case !ok:
			v.Missing++
			v.problem("missing window %s@%d (want %d)", k.OS, k.Start, n)
		case got != n:
			v.WrongCount++
			v.problem("window %s@%d: got %d, want %d", k.OS, k.Start, got, n)
		}
	}
	for k := range counts {
		if _, ok := want[k]; !ok {
			v.Unexpected++
			v.problem("unexpected window %s@%d", k.OS, k.Start)
		}
	}
}

// CompareLast judges an update-mode topic, records in the order read (each
// window's in offset order), against want: the last record of every window
// must carry its count. A record that repeats the one before it for its
// window counts as an identical duplicate.
func CompareLast(records []Record, want map[Key]int64) Verdict {
	v := Verdict{Expected: len(want)}
	last := make(map[Key]int64)
	for _, r := range records {
		prev, seen := last[r.Key]
		switch {
		case !seen:
		case r.Count == prev:
			v.DuplicatesIdentical++
		case r.Count < prev:
			v.Regressions++
		}
		if n, ok := want[r.Key]; ok && r.Count > n {
			v.Overcounts++
			v.problem("window %s@%d updated to %d, above its count %d", r.Key.OS, r.Key.Start, r.Count, n)
		}
		last[r.Key] = r.Count
	}
	v.judge(last, want)
	return v
}

func (v *Verdict) problem(format string, args ...any) {
	if len(v.Problems) < maxProblems {
		v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
	}
}
