package classify

import "encoding/binary"

// maxUALen is how much of a User-Agent is classified: its first 512 bytes,
// as if it ended there. Real User-Agents are shorter (the longest of the
// corpus is 341 bytes, of uap-core's suites 261), and every byte costs
// the scan, whose checks, on a User-Agent made of their needles, cost
// several times what plain text does: the bound keeps any line's cost
// within a few microseconds. ua-parser reads all of it (uap-go has no
// bound), so this is a deliberate difference (README's Classification).
const maxUALen = 512

// bucket returns the os_type of a User-Agent: the first user bucket with a
// needle in it; else, with the built-in rules, Bot for a spider, else the
// first platform rule that matches; else Other.
func (t *table) bucket(ua []byte) string {
	best, sigs := t.scan(ua[:min(len(ua), maxUALen)])
	if best < t.users {
		return t.os[best]
	}
	if t.builtins && isBot(sigs) {
		return Bot
	}
	if best < len(t.os) {
		return t.os[best]
	}
	return Other
}

// scan finds, in one pass over ua, the first rule with a needle in it and
// the signals present. Each byte costs a probe of the filter by the
// trigram it starts; only the needles filed in that trigram's slot are
// compared. (User buckets with one-byte needles cost a second pass.)
func (t *table) scan(ua []byte) (best int, sigs signal) {
	best = len(t.os)
	v := view{ua: ua}
	if t.single != nil {
		for _, c := range ua {
			best = min(best, int(t.single[c]))
		}
	}
	// A four-byte load per byte, its last byte dropped, is cheaper than
	// shifting each byte into a running trigram; indexing back from k
	// lets the compiler drop the bounds checks and merge the loads.
	k := 3
	for ; k < len(ua); k++ {
		w := uint32(ua[k-3]) | uint32(ua[k-2])<<8 | uint32(ua[k-1])<<16 | uint32(ua[k])<<24
		if h := spread(w & 0xffffff); t.filed(h) {
			best, sigs = t.at(&v, k-3, h, best, sigs)
		}
	}
	// The last trigrams run past the end, where 0 stands for the missing
	// byte; that of the last byte could only start a one-byte needle,
	// which entries never are.
	for i := k - 3; i+2 <= len(ua); i++ {
		if h := spread(uint32(load8(ua[i:]))); t.filed(h) {
			best, sigs = t.at(&v, i, h, best, sigs)
		}
	}
	return best, sigs
}

// filed reports whether a needle may start with the trigram spread to h.
func (t *table) filed(h uint32) bool {
	bit := h >> (32 - filterBits)
	return t.filter[bit/64]&(1<<(bit%64)) != 0
}

// at compares the needles filed under the trigram spread to h with ua at i.
func (t *table) at(v *view, i int, h uint32, best int, sigs signal) (int, signal) {
	ua := v.ua
	s := h >> (32 - slotBits)
	w := load8(ua[i:])
	for x := t.start[s]; x < t.start[s+1]; x++ {
		if p := t.prefixes[x]; w&p.mask != p.head {
			continue
		}
		e := &t.entries[x]
		if int(e.rule) >= best && e.sig&^sigs == 0 {
			continue // it could change nothing
		}
		j := i + len(e.text)
		if j > len(ua) || !e.matches(ua[i:j]) || e.check != noCheck && !v.passes(e.check, i, j) {
			continue
		}
		sigs |= e.sig
		best = min(best, int(e.rule))
	}
	return best, sigs
}

// load8 returns the first eight bytes of b, little-endian, 0 past its end.
func load8(b []byte) uint64 {
	if len(b) >= 8 {
		return binary.LittleEndian.Uint64(b)
	}
	var w uint64
	for k, c := range b {
		w |= uint64(c) << (8 * k)
	}
	return w
}

// matches compares the needle past the eight bytes its prefix covers.
func (e *entry) matches(b []byte) bool {
	if len(b) <= 8 {
		return true
	}
	if !e.fold {
		return string(b[8:]) == e.text[8:]
	}
	for k := 8; k < len(b); k++ {
		if toLower[b[k]] != e.text[k] {
			return false
		}
	}
	return true
}
