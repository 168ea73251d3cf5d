package classify

import (
	"bytes"
	"unicode/utf8"
)

// The checks of app and SDK agents that state their platform in a way of
// their own, each the part of a ua-parser expression that surrounds its
// needle (uap-core's test suites have an example of each; suites_test.go).

// isSpace is the \s of ua-parser's expressions (Go's: [\t\n\f\r ]).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// versionRun reports whether ua[p:] starts with n runs of digits, each but
// the last followed by any one character but a newline: ua-parser's
// (\d+).(\d+).(\d+), whose unescaped dot matches a digit too. So 2n-1
// digits in a row match whatever follows, and only shorter runs need the
// splits tried, which keeps the work constant.
func versionRun(ua []byte, p, n int) bool {
	end := p
	for end < len(ua) && end-p < 2*n-1 && isDigit(ua[end]) {
		end++
	}
	switch {
	case end == p:
		return false
	case n == 1 || end-p == 2*n-1:
		return true
	}
	for e := p + 1; e <= end && e < len(ua); e++ {
		w := 1 // a digit, but at end
		if ua[e] >= utf8.RuneSelf {
			_, w = utf8.DecodeRune(ua[e:])
		}
		if ua[e] != '\n' && versionRun(ua, e+w, n-1) {
			return true
		}
	}
	return false
}

// outlookIOS: Outlook's iOS app says "Outlook-iOS-Android" after the iOS
// version, (CPU[ +]OS|iPhone[ +]OS|CPU[ +]iPhone)[ +]+\d+[_.]\d+.{0,100}
// Outlook-iOS-Android, which ua-parser tries before Android. The last such
// version before the needle leaves the least between.
func (v *view) outlookIOS(i int) bool {
	e := -1
	if k := v.lastBefore(&v.cpu, i, "CPU", cpuVersion); k >= 0 {
		e = cpuVersionEnd(v.ua, k)
	}
	if k := v.lastBefore(&v.iphone, i, "iPhone", iphoneVersion); k >= 0 {
		e = max(e, iphoneVersionEnd(v.ua, k))
	}
	return e >= 0 && v.within(e, i, 100, &v.outlookSpan)
}

// cpuVersionEnd returns the end of the version after "CPU OS" or "CPU
// iPhone" at k ('+' for either space), or -1.
func cpuVersionEnd(ua []byte, k int) int {
	p := k + len("CPU")
	if p >= len(ua) || ua[p] != ' ' && ua[p] != '+' {
		return -1
	}
	switch {
	case hasPrefixAt(ua, p+1, "OS"):
		return iosVersionEnd(ua, p+1+len("OS"))
	case hasPrefixAt(ua, p+1, "iPhone"):
		return iosVersionEnd(ua, p+1+len("iPhone"))
	}
	return -1
}

// iphoneVersionEnd returns the end of the version after "iPhone OS" at k,
// or -1.
func iphoneVersionEnd(ua []byte, k int) int {
	p := k + len("iPhone")
	if p >= len(ua) || ua[p] != ' ' && ua[p] != '+' || !hasPrefixAt(ua, p+1, "OS") {
		return -1
	}
	return iosVersionEnd(ua, p+1+len("OS"))
}

func cpuVersion(ua []byte, k int) bool    { return cpuVersionEnd(ua, k) >= 0 }
func iphoneVersion(ua []byte, k int) bool { return iphoneVersionEnd(ua, k) >= 0 }

// jucAndroid: UC Browser's older agent, "JUC (Linux; U; 2.3.6; zh-cn; ...)",
// ^JUC.{0,200}; ?U; ?(Android|)\d+\.\d+, is Android though it says Linux.
// It runs once per User-Agent, at its start.
func (v *view) jucAndroid(j int) bool {
	ua := v.ua
	// The .{0,200} ends at most at end.
	end := j
	for n := 0; end < len(ua) && n < 200 && ua[end] != '\n'; n++ {
		if ua[end] < utf8.RuneSelf {
			end++
		} else {
			_, w := utf8.DecodeRune(ua[end:])
			end += w
		}
	}
	for k := j; k <= end && k < len(ua); k++ {
		d := bytes.IndexByte(ua[k:min(end+1, len(ua))], ';')
		if d < 0 {
			break
		}
		k += d
		p := k + 1
		if hasPrefixAt(ua, p, " ") {
			p++
		}
		if !hasPrefixAt(ua, p, "U;") {
			continue
		}
		p += 2
		if hasPrefixAt(ua, p, " ") {
			p++
		}
		if majorMinor(ua, p, ".") || hasPrefixAt(ua, p, "Android") && majorMinor(ua, p+len("Android"), ".") {
			return true
		}
	}
	return false
}

// citrixChromeOS: Citrix Workspace on a Chromebook says X11 and Windows,
// then the Chrome OS platform version and "CitrixChromeApp" last:
// (x86_64|aarch64) \d+\.\d+\.\d+.{0,100}Chrome.{0,100}CitrixChromeApp$.
// It runs once per User-Agent, on the needle that ends it, at i. Each
// Chrome near enough the end is tried with the last version before it.
func (v *view) citrixChromeOS(i int) bool {
	ua := v.ua
	var x86, arm last
	var tail, head span
	for c := 0; c+len("Chrome") <= i; c++ {
		d := bytes.Index(ua[c:i], []byte("Chrome"))
		if d < 0 {
			return false
		}
		c += d
		if !v.within(c+len("Chrome"), i, 100, &tail) {
			continue
		}
		e := -1
		if k := v.lastBefore(&x86, c, "x86_64 ", citrixX86); k >= 0 {
			e = dotted3End(ua, k+len("x86_64 "))
		}
		if k := v.lastBefore(&arm, c, "aarch64 ", citrixARM); k >= 0 {
			e = max(e, dotted3End(ua, k+len("aarch64 ")))
		}
		if e >= 0 && v.within(e, c, 100, &head) {
			return true
		}
	}
	return false
}

// dotted3End returns the end of "10718.88.2" at p, or -1.
func dotted3End(b []byte, p int) int {
	for n := range 3 {
		e := digits(b, p)
		if e == p {
			return -1
		}
		if n == 2 {
			return e
		}
		if e >= len(b) || b[e] != '.' {
			return -1
		}
		p = e + 1
	}
	return -1
}

func citrixX86(ua []byte, k int) bool { return dotted3End(ua, k+len("x86_64 ")) >= 0 }
func citrixARM(ua []byte, k int) bool { return dotted3End(ua, k+len("aarch64 ")) >= 0 }

// darwinMac: a Mac app's CFNetwork names the Mac's architecture after
// Darwin 9 to 13 (Mac OS X 10.5 to 10.9), " Darwin/11.4.2 (i386)
// (MacBook3,1)": Darwin/(9|10|11|12|13).\d+.{0,100}\((i386|x86_64)\), and
// Darwin 9 also "(Power Macintosh)". An iOS device names none of them.
// The first architecture after the version leaves the least between.
func (v *view) darwinMac(j int) bool {
	ua := v.ua
	k, ppc := j, false
	switch {
	case hasPrefixAt(ua, k, "9"):
		k, ppc = k+1, true
	case hasPrefixAt(ua, k, "10") || hasPrefixAt(ua, k, "11") || hasPrefixAt(ua, k, "12") || hasPrefixAt(ua, k, "13"):
		k += 2
	default:
		return false
	}
	if k >= len(ua) || ua[k] == '\n' {
		return false
	}
	_, w := utf8.DecodeRune(ua[k:]) // the unescaped dot: any character
	e := digits(ua, k+w)
	if e == k+w {
		return false
	}
	p := min(v.nextToken(&v.i386, e, "(i386)"), v.nextToken(&v.x8664, e, "(x86_64)"))
	if ppc {
		p = min(p, v.nextToken(&v.powerMac, e, "(Power Macintosh)"))
	}
	return p < len(ua) && v.within(e, p, 100, &v.darwinSpan)
}

// macOSXSpelledOut: "Mac OS X Version 10.12.6", as MacOutlook writes it:
// Mac OS X\s.{1,50}\s\d+.\d+.\d+. The first \s and version after the
// needle leave the least between; none further than 50 characters, 200
// bytes, can do, so the search stops there (every Mac browser says "Mac OS
// X", and its User-Agent goes on well past that).
func (v *view) macOSXSpelledOut(j int) bool {
	ua := v.ua
	if j >= len(ua) || !isSpace(ua[j]) {
		return false
	}
	// A Mac browser's "Mac OS X 10_15_7" is macOSXVersion's (the "OS X"
	// of this needle, after "Mac "), a needle of this check's rule:
	// answering for it spares the search below on every Mac User-Agent,
	// and changes no bucket.
	if (ua[j] == ' ' || ua[j] == '\t') && (majorMinor(ua, j+1, "_.") || hasPrefixAt(ua, j+1, "Mach-O")) {
		return true
	}
	p := j + 2 // .{1,50} is one character at least
	end := min(len(ua), j+1+utf8.UTFMax*50+1)
	m := &v.spelledOut
	if m.to == 0 || p < int(m.from) || p > int(m.to) {
		m.from, m.to, m.found = uint16(p), uint16(p), false
	}
	if !m.found {
		k := int(m.to)
		for k < end && !(ua[k] <= ' ' && isSpace(ua[k]) && versionRun(ua, k+1, 3)) {
			k++
		}
		m.to, m.found = uint16(k), k < end
	}
	return m.found && v.within(j+1, int(m.to), 50, &v.spelledSpan)
}

// spelled is the memo of macOSXSpelledOut: there is no \s and version in
// [from, to), and one at to if found.
type spelled struct {
	from, to uint16
	found    bool
}
