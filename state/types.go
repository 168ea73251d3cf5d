package state

// TypeBound bounds the distinct os types one source partition counts in one
// window, so that a client that sends a new os_type with every request (a
// scanner) cannot grow state and output without limit. A window counts every
// os type in Kept under its own name; of the others, the first Max to appear
// in offset order, and every record of a further one under Fold. The records
// alone decide, in offset order, so every replay, on any number of
// instances, folds the same records.
type TypeBound struct {
	Max  int             // 0: no bound
	Kept map[string]bool // the classifier's buckets; must hold Fold
	Fold string
}

// count counts one record of osType in w and returns whether it was folded.
func (b TypeBound) count(w *openWindow, osType string) (folded bool) {
	if b.Max > 0 {
		if _, seen := w.counts[osType]; !seen && !b.Kept[osType] {
			if w.extra >= b.Max {
				w.counts[b.Fold]++
				return true
			}
			w.extra++
		}
	}
	w.counts[osType]++
	return false
}

// extra returns how many of counts' os types are not in Kept, as count
// keeps it: only under a bound.
func (b TypeBound) extra(counts map[string]int64) int {
	if b.Max == 0 {
		return 0
	}
	n := 0
	for os := range counts {
		if !b.Kept[os] {
			n++
		}
	}
	return n
}
