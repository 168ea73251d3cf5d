package classify

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// needle is a substring of a User-Agent that fires the rule or signal it
// belongs to, where its check, if any, accepts what surrounds it. Checks
// are what a substring cannot say and ua-parser's regular expressions do
// (a version must follow, the token must start the string). They run only
// where their needle is found, and those that look at a window around it
// remember their searches in the User-Agent's view (view.go), so that a
// User-Agent made of needles still costs time linear in its length.
type needle struct {
	text  string
	fold  bool // ASCII case-insensitive, as ua-parser's 'i' flag
	check check
}

func exact(texts ...string) []needle {
	ns := make([]needle, len(texts))
	for i, t := range texts {
		ns[i] = needle{text: t}
	}
	return ns
}

func folded(texts ...string) []needle {
	ns := exact(texts...)
	for i := range ns {
		ns[i].fold = true
	}
	return ns
}

func checked(c check, ns []needle) []needle {
	for i := range ns {
		ns[i].check = c
	}
	return ns
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digits returns the end of the run of digits at k.
func digits(ua []byte, k int) int {
	for k < len(ua) && isDigit(ua[k]) {
		k++
	}
	return k
}

// majorMinor reports whether ua[k:] starts with digits, one of seps, digits:
// the "10_15" or "4.4" that ua-parser's version groups require.
func majorMinor(ua []byte, k int, seps string) bool {
	e := digits(ua, k)
	if e == k || e >= len(ua) || strings.IndexByte(seps, ua[e]) < 0 {
		return false
	}
	return digits(ua, e+1) > e+1
}

func digitAfter(ua []byte, j int) bool { return j < len(ua) && isDigit(ua[j]) }

// inFirst100 is where the generic Spider expression looks,
// ^.{0,100}(bot|...): the token must start within the first 100 characters
// of the User-Agent's first line. Most tokens a User-Agent has stand in its
// first 100 bytes, where only a newline can stop them; past them, where
// the 100th character ends is found once.
func (v *view) inFirst100(i int) bool {
	if i <= 100 {
		return bytes.IndexByte(v.ua[:i], '\n') < 0
	}
	if v.known&knowFirst == 0 {
		v.known |= knowFirst
		end := v.newline()
		p, n := 0, 0
		for p < end && n < 100 {
			if p+8 <= end && n+8 <= 100 && load8(v.ua[p:])&0x8080808080808080 == 0 {
				p, n = p+8, n+8
				continue
			}
			if v.ua[p] < utf8.RuneSelf {
				p++
			} else {
				_, w := utf8.DecodeRune(v.ua[p:])
				p += w
			}
			n++
		}
		v.first = uint16(p)
	}
	return i <= int(v.first)
}
