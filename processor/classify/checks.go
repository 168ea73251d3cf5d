package classify

import "bytes"

// The checks of the built-in rules' needles (see needle): each states the
// part of a ua-parser expression that surrounds the needle.

// hasPrefix is bytes.HasPrefix for a string, which the compiler turns
// into a few loads and compares when p is a constant: the checks run on
// every needle found, some on most User-Agents.
func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

func hasSuffix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[len(b)-len(s):]) == s
}

func hasPrefixAt(ua []byte, k int, p string) bool {
	return k <= len(ua) && hasPrefix(ua[k:], p)
}

// check names the test that a needle's surroundings must pass (see
// needle), 0 for none. The scan calls checks through a switch, not through
// function values, so that the view they share stays on its stack.
type check uint8

const (
	noCheck check = iota
	// checks.go
	likeChrome
	windowsPhoneVersion
	androidVersion
	ucwebVersion
	windowsToken
	slashOrSpaceVersion
	slashVersion
	afterIntelMac
	macOSXVersion
	cfNetworkMac
	cfNetworkIOS
	iosVersion
	iosToken
	symbianTail
	firefoxOSTail
	bsdName
	bsdVersion
	// appchecks.go
	outlookIOS
	jucAndroid
	androidMobile
	citrixChromeOS
	darwinMac
	boxDarwin
	macOSXSpelledOut
	sdkField
	// bot.go
	digitAfterNeedle
	atStart
	inFirst100
	notBoto
	ptstTail
	afterMozilla
)

// passes reports whether the needle found at ua[i:j] passes check c.
func (v *view) passes(c check, i, j int) bool {
	ua := v.ua
	switch c {
	case noCheck:
		return true
	case likeChrome:
		k := j
		for k < len(ua) && (isDigit(ua[k]) || ua[k] == '.') {
			k++
		}
		return k > j && hasPrefixAt(ua, k, " like Chrome/")
	case windowsPhoneVersion:
		return windowsPhoneVersionAt(ua, j)
	case androidVersion:
		return androidVersionAt(ua, j)
	case ucwebVersion:
		return hasPrefix(ua, "UCWEB") && majorMinor(ua, j, ".")
	case windowsToken:
		return windowsTokenAt(ua, j)
	case slashOrSpaceVersion:
		return slashOrSpaceVersionAt(ua, j)
	case slashVersion:
		return hasPrefixAt(ua, j, "/") && majorMinor(ua, j+1, ".")
	case afterIntelMac:
		return v.afterIntelMac(i, j)
	case macOSXVersion:
		return macOSXVersionAt(ua, i, j)
	case cfNetworkMac:
		return v.cfNetworkMac(j)
	case cfNetworkIOS:
		return v.cfNetworkIOS(j)
	case iosVersion:
		return iosVersionEnd(ua, j) >= 0
	case iosToken:
		return iosTokenAt(ua, i, j)
	case symbianTail:
		return symbianTailAt(ua, j)
	case firefoxOSTail:
		return v.firefoxOSTail(j)
	case bsdName:
		return bsdNameAt(ua, i)
	case bsdVersion:
		return bsdNameAt(ua, i) && slashOrSpaceVersionAt(ua, j)
	case outlookIOS:
		return v.outlookIOS(i)
	case jucAndroid:
		return i == 0 && v.jucAndroid(j)
	case androidMobile:
		return j < len(ua) && isSpace(ua[j]) && hasPrefixAt(ua, j+1, "mobile/") && digitAfter(ua, j+1+len("mobile/"))
	case citrixChromeOS:
		return j == len(ua) && v.citrixChromeOS(i)
	case darwinMac:
		return v.darwinMac(j)
	case boxDarwin:
		// ^Box.{0,200};Darwin/10\.1\d: Box's Mac apps, "Box
		// Sync/4.0.7848;Darwin/10.13;i386/64bit", whose Darwin is the
		// macOS version.
		return hasPrefix(ua, "Box") && hasPrefixAt(ua, j, "1") && digitAfter(ua, j+1) && v.within(len("Box"), i, 200, &v.boxSpan)
	case macOSXSpelledOut:
		return v.macOSXSpelledOut(j)
	case sdkField:
		// The AWS SDKs' platform fields, "os/macos#22.4.0" and
		// "md/GOOS/darwin", start a space-separated field.
		return i == 0 || ua[i-1] == ' '
	case digitAfterNeedle:
		return digitAfter(ua, j)
	case atStart:
		return i == 0
	case inFirst100:
		return v.inFirst100(i)
	case notBoto:
		return v.notBoto(i, j)
	case ptstTail:
		return ptstTailAt(ua, j)
	case afterMozilla:
		return v.afterMozilla(i)
	}
	panic("classify: unknown check")
}

// windowsPhoneVersionAt: "Windows Phone 8.1", "Windows Phone OS 7.5".
func windowsPhoneVersionAt(ua []byte, j int) bool {
	if !hasPrefixAt(ua, j, " ") {
		return false
	}
	j++
	if hasPrefixAt(ua, j, "OS ") || hasPrefixAt(ua, j, "OS/") {
		j += 3
	}
	return majorMinor(ua, j, ".")
}

// androidVersionAt: "Android 13", "Android-4.4", "Android/9", "Android: 5",
// or a release name; a bare "Android" is weaker (see the later rule).
func androidVersionAt(ua []byte, j int) bool {
	if j >= len(ua) {
		return false
	}
	switch ua[j] {
	case ' ':
		return digitAfter(ua, j+1) || hasPrefixAt(ua, j, " Donut") || hasPrefixAt(ua, j, " Eclair") ||
			hasPrefixAt(ua, j, " Froyo") || hasPrefixAt(ua, j, " Gingerbread") || hasPrefixAt(ua, j, " Honeycomb")
	case '-', '/':
		return digitAfter(ua, j+1)
	case ':':
		return hasPrefixAt(ua, j, ": ") && digitAfter(ua, j+2)
	}
	return false
}

// windowsTokenAt is ua-parser's Windows expressions after "Win": "Windows
// NT", "Windows 10", "Windows Mobile", "Windows CE", "Win 9x 4.90",
// "Win32", "Win16", "Win98", "WinNT4.0", "Windows XP" and the like.
func windowsTokenAt(ua []byte, j int) bool {
	if j >= len(ua) {
		return false
	}
	rest := ua[j:]
	// Most "Win" that are none of these are followed by a letter that
	// starts none of them: the switch turns them away at once.
	switch rest[0] {
	case '3', '1', ' ', 'd', '9', 'N', 'M', '2', 'X', 'V', '7', 'C':
	default:
		return false
	}
	if hasPrefix(rest, "32") || hasPrefix(rest, "16") || hasPrefix(rest, " 9x 4.90") {
		return true
	}
	if hasPrefix(rest, "dows") {
		rest = rest[4:]
		if hasPrefix(rest, " Mobile") || hasPrefix(rest, "Mobile") || hasPrefix(rest, " 10") || hasPrefix(rest, "CE") {
			return true
		}
	}
	if hasPrefix(rest, " ") {
		rest = rest[1:]
	}
	if len(rest) >= 3 && rest[0] == '3' && rest[2] == '1' {
		return true // "3.1"
	}
	return hasPrefix(rest, "95") || hasPrefix(rest, "98") || hasPrefix(rest, "NT") || hasPrefix(rest, "ME") ||
		hasPrefix(rest, "2000") || hasPrefix(rest, "XP") || hasPrefix(rest, "Vista") || hasPrefix(rest, "7") ||
		hasPrefix(rest, "CE")
}

func slashOrSpaceVersionAt(ua []byte, j int) bool {
	return j < len(ua) && (ua[j] == '/' || ua[j] == ' ') && majorMinor(ua, j+1, ".")
}

// afterIntelMac: iPad Chrome and Edge asking for desktop sites, Intel Mac
// OS X.+(CriOS|EdgiOS)/\d+.
func (v *view) afterIntelMac(i, j int) bool {
	if !digitAfter(v.ua, j) {
		return false
	}
	m := v.lastBefore(&v.intelMac, i, "Intel Mac OS X", nil)
	if m < 0 || m+len("Intel Mac OS X") >= i { // .+ is one character at least
		return false
	}
	return v.newline() >= i || v.lastBefore(&v.intelMacNL, i, "\n", nil) < m
}

// macOSXVersionAt: "Mac OS X 10_15_7", "Mac OS X 10.6", "MacOS X/10.4",
// "; OS X 10.9", "Mac OS X Mach-O"; "like Mac OS X)" on iOS is not.
func macOSXVersionAt(ua []byte, i, j int) bool {
	head := ua[:i]
	if !hasSuffix(head, "Mac ") && !hasSuffix(head, "Mac+") && !hasSuffix(head, "Mac") && !hasSuffix(head, "; ") {
		return false
	}
	if j >= len(ua) || (ua[j] != ' ' && ua[j] != '+' && ua[j] != '/' && ua[j] != '\t') {
		return false
	}
	return majorMinor(ua, j+1, "_.") || hasPrefixAt(ua, j+1, "Mach-O")
}

// The early iOS CFNetwork versions that ua-parser names without a Darwin
// token, in its order: cfEarly720 are those it tries before the Mac's
// CFNetwork/720 and 760, cfEarly all of them, which it tries before the
// Mac's "Darwin/16 (x86_64)" ones.
const (
	cfEarly720 uint8 = 1 << iota
	cfEarly
)

// cfEarlyAt returns the early iOS versions of the CFNetwork version at j.
// It runs at every CFNetwork, so it compares constants, which the
// compiler turns into loads.
func cfEarlyAt(ua []byte, j int) uint8 {
	if j >= len(ua) {
		return 0
	}
	rest := ua[j:]
	switch rest[0] {
	case '4':
		if hasPrefix(rest, "485.13.9") {
			return cfEarly720 | cfEarly
		}
	case '5':
		if hasPrefix(rest, "548.1.4") {
			return cfEarly720 | cfEarly
		}
	case '6':
		if hasPrefix(rest, "609") || hasPrefix(rest, "672.1.13") || hasPrefix(rest, "672.1.14") ||
			hasPrefix(rest, "672.1.15") || hasPrefix(rest, "672.0.2") || hasPrefix(rest, "672.0.8") {
			return cfEarly720 | cfEarly
		}
	case '7':
		if hasPrefix(rest, "709.1") || hasPrefix(rest, "711.") && digitAfter(rest, 4) {
			return cfEarly720 | cfEarly
		}
		if hasPrefix(rest, "758.") && digitAfter(rest, 4) {
			return cfEarly
		}
	case '8':
		if hasPrefix(rest, "808.") && digitAfter(rest, 4) {
			return cfEarly
		}
	}
	return 0
}

// cfNetworkEarly returns the early iOS versions of every CFNetwork in the
// User-Agent: ua-parser tries each expression on the whole User-Agent, so
// an early iOS one anywhere comes before a Mac one.
func (v *view) cfNetworkEarly() uint8 {
	if v.known&knowCFEarly == 0 {
		v.known |= knowCFEarly
		for p := 0; ; {
			k := bytes.Index(v.ua[p:], []byte("CFNetwork/"))
			if k < 0 {
				break
			}
			p += k + len("CFNetwork/")
			v.cfEarly |= cfEarlyAt(v.ua, p)
		}
	}
	return v.cfEarly
}

// cfNetworkMac is the CFNetwork of a Mac app, where ua-parser can tell:
// versions 720 and 760, and Darwin 15 to 17 on x86_64, unless an early iOS
// version comes first.
func (v *view) cfNetworkMac(j int) bool {
	ua := v.ua
	if (hasPrefixAt(ua, j, "720.") || hasPrefixAt(ua, j, "760.")) && digitAfter(ua, j+4) {
		return v.cfNetworkEarly()&cfEarly720 == 0
	}
	// CFNetwork/.{0,100} Darwin/1[67]\.\d+.{0,100}\(x86_64\), and
	// CFNetwork/8.{0,100} Darwin/15...: the first Darwin that has its
	// (x86_64) leaves the least between.
	var d int
	if hasPrefixAt(ua, j, "8") {
		d = v.nextMacDarwin(&v.cf8, j, true)
		if d >= len(ua) || !v.within(j, d, 100, &v.cf8Span) {
			return false
		}
	} else {
		d = v.nextMacDarwin(&v.cf, j, false)
		if d >= len(ua) || !v.within(j, d, 100, &v.cfSpan) {
			return false
		}
	}
	return v.cfNetworkEarly() == 0
}

// nextMacDarwin returns the first " Darwin/16.x" or " Darwin/17.x" (or
// 15.x too) at or after p that has "(x86_64)" within 100 characters, or
// len(ua).
func (v *view) nextMacDarwin(m *macDarwin, p int, with15 bool) int {
	if at, ok := m.next.hit(p); ok {
		return at
	}
	ua, k := v.ua, p
	for k < len(ua) {
		d := bytes.Index(ua[k:], []byte(" Darwin/1"))
		if d < 0 {
			k = len(ua)
			break
		}
		k += d
		e := k + len(" Darwin/1")
		if e+1 < len(ua) && (ua[e] == '6' || ua[e] == '7' || with15 && ua[e] == '5') && ua[e+1] == '.' {
			if ve := digits(ua, e+2); ve > e+2 {
				x := v.nextToken(&m.x86, ve, "(x86_64)")
				if x < len(ua) && v.within(ve, x, 100, &m.span) {
					break
				}
			}
		}
		k++
	}
	return m.next.store(p, k)
}

// macDarwin is the memo of nextMacDarwin.
type macDarwin struct {
	next next
	x86  next
	span span
}

// cfNetworkIOS is an app's own HTTP client: "MyApp/5.2 CFNetwork/1410.0.3
// Darwin/22.6.0" (CFNetwork/.{0,100} Darwin/), or one of the early
// versions that ua-parser knows without a Darwin token.
func (v *view) cfNetworkIOS(j int) bool {
	if cfEarlyAt(v.ua, j) != 0 {
		return true
	}
	d := v.nextToken(&v.cfDarwin, j, " Darwin/")
	return d < len(v.ua) && v.within(j, d, 100, &v.cfDarwinSpan)
}

// iosVersionEnd returns the end of "[ +]+\d+[_.]\d+([_.]\d+)?" at j, as
// long as it goes, or -1: "CPU iPhone OS 17_1", "CPU OS 16_6".
func iosVersionEnd(ua []byte, j int) int {
	k := j
	for k < len(ua) && (ua[k] == ' ' || ua[k] == '+') {
		k++
	}
	if k == j || !majorMinor(ua, k, "_.") {
		return -1
	}
	e := digits(ua, digits(ua, k)+1)
	if e < len(ua) && (ua[e] == '_' || ua[e] == '.') && digitAfter(ua, e+1) {
		e = digits(ua, e+1)
	}
	return e
}

func isWordByte(c byte) bool {
	return c == '_' || isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// iosTokenAt: an app's "(iOS 17.1; ...)", "iOS/16.0", "iOS; 15.2", but not
// "CriOS/".
func iosTokenAt(ua []byte, i, j int) bool {
	if i > 0 && isWordByte(ua[i-1]) || j >= len(ua) {
		return false
	}
	switch {
	case ua[j] == ' ' || ua[j] == '/':
		return majorMinor(ua, j+1, "_.")
	case hasPrefixAt(ua, j, "; "):
		return majorMinor(ua, j+2, "_.")
	}
	return false
}

func symbianTailAt(ua []byte, j int) bool {
	rest := ua[j:]
	if bytes.HasPrefix(rest, []byte("/3")) {
		return true
	}
	rest = bytes.TrimPrefix(rest, []byte(" "))
	return len(rest) >= 2 && rest[0] == 'O' && (rest[1] == 'S' || rest[1] == 's')
}

// firefoxOSTail: Firefox OS says only "(Mobile; rv:...) ... Firefox/x.y",
// \((?:Mobile|Tablet);.{1,200}Firefox/\d+\.\d+.
func (v *view) firefoxOSTail(j int) bool {
	f := v.nextMatch(&v.firefox, j+1, "Firefox/", firefoxVersion)
	return f < len(v.ua) && v.within(j, f, 200, &v.firefoxSpan)
}

func firefoxVersion(ua []byte, k int) bool { return majorMinor(ua, k+len("Firefox/"), ".") }

// bsdNameAt: "FreeBSD", "OpenBSD", "NetBSD" or a "BSD" that starts a word.
func bsdNameAt(ua []byte, i int) bool {
	head := ua[:i]
	return i == 0 || !isWordByte(ua[i-1]) || bytes.HasSuffix(head, []byte("Free")) ||
		bytes.HasSuffix(head, []byte("Open")) || bytes.HasSuffix(head, []byte("Net"))
}
