package classify

import "hash/maphash"

// recent remembers the buckets of the User-Agents a Classifier saw last.
// Real traffic repeats a few browsers, and a User-Agent is classified by a
// scan for hundreds of needles, several times dearer than hashing it and
// comparing it with the one remembered. The memory is fixed when the
// Classifier is made, so a flood of distinct User-Agents evicts entries
// rather than growing it, and costs a hash and a copy more than the scan.
// An entry is found by its full bytes, never by its hash alone, so the
// answer is the scan's.
type recent struct {
	seed maphash.Seed
	sets [recentSets]struct {
		ways [recentWays]recentEntry
		next uint8 // the way to replace next: round robin, which a flood cannot steer
	}
}

const (
	recentSets = 32
	recentWays = 4
	// recentMaxLen leaves out the rare longer User-Agents, so that an
	// entry stays small: 128 entries take about 36 KiB.
	recentMaxLen = 256
)

type recentEntry struct {
	hash uint64
	n    int // len(ua) + 1, 0 while unused
	os   string
	ua   [recentMaxLen]byte
}

func newRecent() *recent { return &recent{seed: maphash.MakeSeed()} }

// bucket returns t.bucket(ua), remembering it.
func (r *recent) bucket(t *table, ua []byte) string {
	if len(ua) > recentMaxLen {
		return t.bucket(ua)
	}
	h := maphash.Bytes(r.seed, ua)
	set := &r.sets[h%recentSets]
	for k := range set.ways {
		if e := &set.ways[k]; e.hash == h && e.n == len(ua)+1 && string(e.ua[:len(ua)]) == string(ua) {
			return e.os
		}
	}
	os := t.bucket(ua)
	e := &set.ways[set.next%recentWays]
	set.next++
	e.hash, e.n, e.os = h, len(ua)+1, os
	copy(e.ua[:], ua)
	return os
}
