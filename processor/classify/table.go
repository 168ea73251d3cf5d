package classify

import (
	"cmp"
	"math"
	"slices"
)

// The index by a needle's first three bytes (a trigram): a bitset tells
// whether any needle starts with a trigram, and a table of slots lists
// those that may. Both are small enough (8 KiB, 16 KiB) to stay in L1
// cache while the scan probes them for every byte of a User-Agent, and
// sparse enough that the bitset turns most bytes away: a trigram, unlike a
// byte or a bigram, rarely starts a needle by chance ("Kit" of AppleWebKit
// is not "Kin" of Kindle).
const (
	filterBits = 16
	slotBits   = 12
	slots      = 1 << slotBits
)

// trigram is three bytes as a little-endian load of them gives them.
func trigram(a, b, c byte) uint32 { return uint32(a) | uint32(b)<<8 | uint32(c)<<16 }

// spread hashes a trigram by Fibonacci hashing: trigrams of text differ in
// few bits, which the multiplication spreads over the high bits, where the
// bit of the filter and the slot are taken from.
func spread(k uint32) uint32 { return k * 0x9E3779B1 }

// entry is a needle as the scan compares it.
type entry struct {
	text  string // lower case when fold
	check check
	prefix
	rule int32  // index into table.os; noRule for a signal
	sig  signal // 0 for a rule
	fold bool
}

// prefix is a needle's first eight bytes (fewer if shorter; the rest masked
// off, and a letter's case bit too when fold), as a little-endian load of
// the User-Agent gives them: one compare rejects most needles that merely
// share a slot, or share a word with the User-Agent ("AppleTV" and
// "AppleWebKit", "MobileSafari" and "Mobile Safari").
type prefix struct{ head, mask uint64 }

const noRule = math.MaxInt32

// table is a compiled rule set: the user's buckets, then, unless left out,
// the built-in rules. It is immutable once built, so every Classifier built
// from the same options shares one, from any goroutine.
type table struct {
	filter [1 << filterBits / 64]uint64
	// entries[start[s]:start[s+1]] are the entries filed in slot s;
	// prefixes[k] is entries[k].prefix, kept apart so that a slot's run
	// through a few cache lines.
	start    [slots + 1]uint32
	prefixes []prefix
	entries  []entry
	// single[c] is the first rule with the one-byte needle c (user
	// buckets only: built-in needles are longer), or noRule.
	single   *[256]int32
	os       []string // the os_type of each rule: user buckets first
	users    int      // len(user buckets)
	builtins bool
}

func compile(cfg config) *table {
	t := &table{users: len(cfg.buckets), builtins: !cfg.noBuiltins}
	var all []entry
	add := func(n needle, rule int32, sig signal) {
		if len(n.text) == 1 {
			if t.single == nil {
				t.single = new([256]int32)
				for c := range t.single {
					t.single[c] = noRule
				}
			}
			t.single[n.text[0]] = min(t.single[n.text[0]], rule)
			return
		}
		e := entry{text: n.text, fold: n.fold, rule: rule, sig: sig, check: n.check}
		if n.fold {
			e.text = lower(n.text)
		}
		for k := range min(8, len(e.text)) {
			c, m := e.text[k], byte(0xff)
			if n.fold && 'a' <= c && c <= 'z' {
				c, m = c&^0x20, 0xdf
			}
			e.head |= uint64(c) << (8 * k)
			e.mask |= uint64(m) << (8 * k)
		}
		all = append(all, e)
	}
	for _, b := range cfg.buckets {
		for _, n := range b.Contains {
			add(needle{text: n}, int32(len(t.os)), 0)
		}
		t.os = append(t.os, b.Name)
	}
	if t.builtins {
		for _, r := range osRules {
			for _, n := range r.needles {
				add(n, int32(len(t.os)), 0)
			}
			t.os = append(t.os, r.os)
		}
		for _, s := range botSignals {
			for _, n := range s.needles {
				add(n, noRule, s.sig)
			}
		}
	}
	t.file(all)
	return t
}

// file indexes the entries under every spelling of their first three
// bytes; a two-byte needle is followed by any byte, or by none, which the
// scan spells 0.
func (t *table) file(all []entry) {
	type filing struct {
		slot uint32
		idx  int // into all
	}
	var fs []filing
	for idx, e := range all {
		thirds := anyByte[:] // a two-byte needle's
		if len(e.text) >= 3 {
			thirds = spellings(e.text[2], e.fold)
		}
		for _, a := range spellings(e.text[0], e.fold) {
			for _, b := range spellings(e.text[1], e.fold) {
				for _, c := range thirds {
					h := spread(trigram(a, b, c))
					bit := h >> (32 - filterBits)
					t.filter[bit/64] |= 1 << (bit % 64)
					fs = append(fs, filing{h >> (32 - slotBits), idx})
				}
			}
		}
	}
	// Order by slot, stably, so that a slot keeps the rules' order, and
	// file an entry once in a slot that several of its spellings share.
	slices.SortStableFunc(fs, func(x, y filing) int { return cmp.Compare(x.slot, y.slot) })
	fs = slices.Compact(fs)
	t.entries = make([]entry, len(fs))
	t.prefixes = make([]prefix, len(fs))
	for k, f := range fs {
		t.entries[k], t.prefixes[k] = all[f.idx], all[f.idx].prefix
		t.start[f.slot+1]++
	}
	for s := range slots {
		t.start[s+1] += t.start[s]
	}
}

var anyByte = func() (b [256]byte) {
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

func spellings(c byte, fold bool) []byte {
	if fold && 'a' <= c && c <= 'z' {
		return []byte{c, c - 'a' + 'A'}
	}
	return []byte{c}
}

var toLower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i - 'A' + 'a')
		}
	}
	return t
}()

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = toLower[c]
	}
	return string(b)
}
