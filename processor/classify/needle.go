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
// where their needle is found, and look at most a few hundred bytes away
// from it, so that a User-Agent made of needles still costs time linear in
// its length.
type needle struct {
	text  string
	fold  bool // ASCII case-insensitive, as ua-parser's 'i' flag
	check func(ua []byte, i, j int) bool
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

func checked(check func(ua []byte, i, j int) bool, ns []needle) []needle {
	for i := range ns {
		ns[i].check = check
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

func digitAfter(ua []byte, _, j int) bool { return j < len(ua) && isDigit(ua[j]) }

func atStart(_ []byte, i, _ int) bool { return i == 0 }

// inFirst100 is where the generic Spider expression looks,
// ^.{0,100}(bot|...): the token must start within the first 100 characters
// of its line. 100 characters are at most 400 bytes of UTF-8.
func inFirst100(ua []byte, i, _ int) bool {
	if i > 400 {
		return false
	}
	head := ua[:i]
	return bytes.IndexByte(head, '\n') < 0 && (i <= 100 || utf8.RuneCount(head) <= 100)
}

// window returns at most n bytes of b from its start.
func window(b []byte, n int) []byte { return b[:min(len(b), n)] }
