package classify

import (
	"bytes"
	"unicode/utf8"
)

// view is one User-Agent as the checks of its scan see it. A check runs at
// every occurrence of its needle until its rule matches, so a check that
// searched a window around each occurrence would cost, on a User-Agent made
// of its needle, its window's length for every byte: 5-34 µs for 256 bytes
// (BenchmarkAdversarial). Instead the facts that do not depend on the
// occurrence (where the 100th character or first newline is) are found once,
// and every search a check makes remembers where it got to (next, last,
// runes), so that its work over the whole scan is linear in the User-Agent.
//
// A fresh view gives each check's answer from scratch: the memos change the
// cost, never an answer, and referenceBucket, which makes a view for every
// call, holds the scan to that.
//
// The checks' windows are ua-parser's: ".{0,100}" is up to 100 characters
// (runes as Go's regexp decodes them, an invalid byte one), none a newline.
type view struct {
	ua []byte

	known   fact   // the facts below that are computed
	nl      uint16 // the first newline, len(ua) if none
	high    uint16 // the first byte of a multi-byte character, len(ua) if none
	first   uint16 // where the 100th character or the first newline ends
	cfEarly uint8  // the early iOS CFNetwork versions present (cfEarly*)

	// The memos of the checks, named after them.
	intelMac, intelMacNL, cpu, iphone, mozilla last
	cf, cf8                                    macDarwin
	cfDarwin, firefox, i386, x8664, powerMac   next
	spelledOut                                 spelled
	cfSpan, cf8Span, cfDarwinSpan, firefoxSpan span
	boxSpan, outlookSpan, darwinSpan           span
	spelledSpan, mozillaSpan                   span
}

type fact uint8

const (
	knowNL fact = 1 << iota
	knowHigh
	knowFirst
	knowCFEarly
)

// newline returns the first newline.
func (v *view) newline() int {
	if v.known&knowNL == 0 {
		v.known |= knowNL
		v.nl = uint16(len(v.ua))
		if k := bytes.IndexByte(v.ua, '\n'); k >= 0 {
			v.nl = uint16(k)
		}
	}
	return int(v.nl)
}

// multiByte returns the first byte that starts no one-byte character.
func (v *view) multiByte() int {
	if v.known&knowHigh == 0 {
		v.known |= knowHigh
		k := 0
		for ; k+8 <= len(v.ua); k += 8 {
			if load8(v.ua[k:])&0x8080808080808080 != 0 {
				break
			}
		}
		for k < len(v.ua) && v.ua[k] < utf8.RuneSelf {
			k++
		}
		v.high = uint16(k)
	}
	return int(v.high)
}

// within reports whether ua[a:b] is at most n characters, none a newline:
// ua-parser's .{0,n} between a and b, which start characters. sp remembers
// the counting for a caller whose a and b only grow.
func (v *view) within(a, b, n int, sp *span) bool {
	if b < a || b-a > utf8.UTFMax*n {
		return false
	}
	if v.newline() < b && v.lastBefore(&sp.nl, b, "\n", nil) >= a {
		return false
	}
	if b-a <= n {
		return true
	}
	if v.multiByte() >= b {
		return false // b-a characters
	}
	return sp.b.at(v.ua, b)-sp.a.at(v.ua, a) <= n
}

// span is the memo of within: the characters before a and before b, and
// the last newline before b.
type span struct {
	a, b runes
	nl   last
}

// runes counts the characters before a position, walking forward from
// where it last stopped, so that a caller whose positions grow pays for
// each byte once. Positions must start characters (an ASCII byte always
// does: a multi-byte sequence holds none).
type runes struct{ pos, n uint16 }

func (r *runes) at(ua []byte, k int) int {
	if k < int(r.pos) {
		r.pos, r.n = 0, 0
	}
	p, n := int(r.pos), int(r.n)
	for p < k {
		if p+8 <= k && load8(ua[p:])&0x8080808080808080 == 0 {
			p, n = p+8, n+8
			continue
		}
		switch c := ua[p]; {
		case c < utf8.RuneSelf, c < 0xc2, c > 0xf4:
			p++ // ASCII, or a byte that starts no sequence: one character
		default:
			_, w := utf8.DecodeRune(ua[p:])
			p += w
		}
		n++
	}
	r.pos, r.n = uint16(p), uint16(n)
	return n
}

// next remembers the first match of a search at or after from: at, or
// len(ua) if there is none. A search that starts anywhere in [from, at]
// has the same answer. at1 is at+1, so that the zero next is unset.
type next struct{ from, at1 uint16 }

func (m *next) hit(p int) (int, bool) {
	at := int(m.at1) - 1
	return at, int(m.from) <= p && p <= at
}

func (m *next) store(p, at int) int {
	m.from, m.at1 = uint16(p), uint16(at+1)
	return at
}

// Positions are kept as uint16, to keep the view small (the scan zeroes
// it for every User-Agent): the scan sees at most maxUALen bytes.
const _ = uint16(maxUALen + 1)

// nextToken returns the first occurrence of tok at or after p, or len(ua).
func (v *view) nextToken(m *next, p int, tok string) int {
	return v.nextMatch(m, p, tok, nil)
}

// nextMatch returns the first k >= p where ua holds tok and ok(ua, k), or
// len(ua); ok may be nil.
func (v *view) nextMatch(m *next, p int, tok string, ok func([]byte, int) bool) int {
	if at, hit := m.hit(p); hit {
		return at
	}
	return m.store(p, v.find(p, tok, ok))
}

// find returns the first k >= p where ua holds tok and ok(ua, k), or len(ua).
func (v *view) find(p int, tok string, ok func([]byte, int) bool) int {
	for p < len(v.ua) {
		k := bytes.Index(v.ua[p:], []byte(tok))
		if k < 0 {
			break
		}
		if ok == nil || ok(v.ua, p+k) {
			return p + k
		}
		p += k + 1
	}
	return len(v.ua)
}

// last finds the last match of a search that starts before a position,
// for positions that grow: it walks the matches forward, each once. prev1
// is the last match before the position asked, plus 1 (0 if none); nx1 the
// first match after it (len(ua) if none), plus 1 (0 while unset).
type last struct{ prev1, nx1 uint16 }

// lastBefore returns the last k < p where ua holds tok and ok(ua, k), or
// -1; ok may be nil.
func (v *view) lastBefore(l *last, p int, tok string, ok func([]byte, int) bool) int {
	if l.nx1 == 0 || p < int(l.prev1) {
		l.prev1, l.nx1 = 0, uint16(v.find(0, tok, ok)+1)
	}
	for int(l.nx1)-1 < p {
		l.prev1, l.nx1 = l.nx1, uint16(v.find(int(l.nx1), tok, ok)+1)
	}
	return int(l.prev1) - 1
}
