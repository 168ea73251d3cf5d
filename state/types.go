package state

// TypeBound bounds the distinct os types one source partition counts in one
// window, so that a client that sends a new os_type with every request (a
// scanner) cannot grow state and output without limit. A window counts every
// os type in Kept under its own name; of the others, the first Max to appear
// in offset order, and every record of a further one under Fold. The records
// alone decide, in offset order, so every replay, on any number of
// instances, folds the same records.
//
// A source's counts of one window (a report's partial, a slot's Part) are
// one record or table value: MaxTypeBound and MaxKept keep it under about
// (4,096 + 256) × (a 32-byte name and its count) ≈ 240 KiB encoded, below
// the 256 KiB oscheck holds every value it writes to.
type TypeBound struct {
	Max  int             // 0: no bound; a service takes 1 to MaxTypeBound
	Kept map[string]bool // the classifier's buckets; must hold Fold
	Fold string
}

// count counts one record of osType in w and returns whether it was folded.
// One map write per record: only a name new to the window (the map grew)
// is looked at again.
func (b TypeBound) count(w *openWindow, osType string) (folded bool) {
	before := len(w.counts)
	w.counts[osType]++
	if b.Max == 0 || len(w.counts) == before || b.Kept[osType] {
		return false
	}
	if w.extra < b.Max {
		w.extra++
		return false
	}
	delete(w.counts, osType)
	w.counts[b.Fold]++
	return true
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

// MaxTypeBound is the largest TypeBound.Max a service takes, and MaxKept
// the most buckets (TypeBound.Kept) it takes.
const (
	MaxTypeBound = 4096
	MaxKept      = 256
)
