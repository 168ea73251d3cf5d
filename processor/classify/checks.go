package classify

import "bytes"

// The checks of the built-in rules' needles (see needle): each states the
// part of a ua-parser expression that surrounds the needle.

// hasPrefix is bytes.HasPrefix for a string, which the compiler turns
// into a few loads and compares when p is a constant: the checks run on
// every needle found, some on most User-Agents.
func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

func hasPrefixAt(ua []byte, k int, p string) bool {
	return k <= len(ua) && hasPrefix(ua[k:], p)
}

// likeChrome: "Silk/81.2.16 like Chrome/".
func likeChrome(ua []byte, _, j int) bool {
	k := j
	for k < len(ua) && (isDigit(ua[k]) || ua[k] == '.') {
		k++
	}
	return k > j && hasPrefixAt(ua, k, " like Chrome/")
}

// windowsPhoneVersion: "Windows Phone 8.1", "Windows Phone OS 7.5".
func windowsPhoneVersion(ua []byte, _, j int) bool {
	if !hasPrefixAt(ua, j, " ") {
		return false
	}
	j++
	if hasPrefixAt(ua, j, "OS ") || hasPrefixAt(ua, j, "OS/") {
		j += 3
	}
	return majorMinor(ua, j, ".")
}

// androidVersion: "Android 13", "Android-4.4", "Android/9", "Android: 5",
// or a release name; a bare "Android" is weaker (see the later rule).
func androidVersion(ua []byte, _, j int) bool {
	if j < len(ua) && (ua[j] == ' ' || ua[j] == '-' || ua[j] == '/') && digitAfter(ua, 0, j+1) {
		return true
	}
	if hasPrefixAt(ua, j, ": ") && digitAfter(ua, 0, j+2) {
		return true
	}
	for _, name := range []string{" Donut", " Eclair", " Froyo", " Gingerbread", " Honeycomb"} {
		if hasPrefixAt(ua, j, name) {
			return true
		}
	}
	return false
}

// ucwebVersion: UC Browser's "UCWEB/2.0 (...; Adr 2.3; ...)".
func ucwebVersion(ua []byte, _, j int) bool {
	return bytes.HasPrefix(ua, []byte("UCWEB")) && majorMinor(ua, j, ".")
}

// windowsToken is ua-parser's Windows expressions after "Win": "Windows NT",
// "Windows 10", "Windows Mobile", "Windows CE", "Win 9x 4.90", "Win32",
// "Win16", "Win98", "WinNT4.0", "Windows XP" and the like.
func windowsToken(ua []byte, _, j int) bool {
	rest := ua[j:]
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

func slashOrSpaceVersion(ua []byte, _, j int) bool {
	return j < len(ua) && (ua[j] == '/' || ua[j] == ' ') && majorMinor(ua, j+1, ".")
}

func slashVersion(ua []byte, _, j int) bool {
	return hasPrefixAt(ua, j, "/") && majorMinor(ua, j+1, ".")
}

// afterIntelMac: the Mac platform token comes first in a User-Agent, so it
// is looked for in the first 200 bytes only.
func afterIntelMac(ua []byte, i, j int) bool {
	return digitAfter(ua, i, j) && bytes.Contains(window(ua[:i], 200), []byte("Intel Mac OS X"))
}

// macOSXVersion: "Mac OS X 10_15_7", "Mac OS X 10.6", "MacOS X/10.4",
// "; OS X 10.9", "Mac OS X Mach-O"; "like Mac OS X)" on iOS is not.
func macOSXVersion(ua []byte, i, j int) bool {
	head := ua[:i]
	if !bytes.HasSuffix(head, []byte("Mac ")) && !bytes.HasSuffix(head, []byte("Mac+")) &&
		!bytes.HasSuffix(head, []byte("Mac")) && !bytes.HasSuffix(head, []byte("; ")) {
		return false
	}
	if j >= len(ua) || (ua[j] != ' ' && ua[j] != '+' && ua[j] != '/' && ua[j] != '\t') {
		return false
	}
	return majorMinor(ua, j+1, "_.") || hasPrefixAt(ua, j+1, "Mach-O")
}

// cfNetworkMac is the CFNetwork of a Mac app, where ua-parser can tell:
// versions 720 and 760, and Darwin 15 to 17 on x86_64.
func cfNetworkMac(ua []byte, _, j int) bool {
	if hasPrefixAt(ua, j, "720.") || hasPrefixAt(ua, j, "760.") {
		return true
	}
	rest := window(ua[j:], 250) // ua-parser: .{0,100} Darwin/17.x.{0,100}\(x86_64\)
	return bytes.Contains(rest, []byte("(x86_64)")) &&
		(bytes.Contains(rest, []byte(" Darwin/16.")) || bytes.Contains(rest, []byte(" Darwin/17.")) ||
			hasPrefixAt(ua, j, "8") && bytes.Contains(rest, []byte(" Darwin/15.")))
}

// cfNetworkIOS is an app's own HTTP client: "MyApp/5.2 CFNetwork/1410.0.3
// Darwin/22.6.0", or one of the early versions that ua-parser knows
// without a Darwin token.
func cfNetworkIOS(ua []byte, _, j int) bool {
	rest := ua[j:]
	// ua-parser: CFNetwork/.{0,100} Darwin/
	if bytes.Contains(window(rest, 100+len(" Darwin/")), []byte(" Darwin/")) {
		return true
	}
	for _, v := range []string{"548.1.4", "485.13.9", "609", "672.1.13", "672.1.14", "672.1.15", "672.0.2", "672.0.8", "709.1", "711.", "758.", "808."} {
		if bytes.HasPrefix(rest, []byte(v)) {
			return true
		}
	}
	return false
}

// iosVersion: "CPU iPhone OS 17_1", "CPU OS 16_6".
func iosVersion(ua []byte, _, j int) bool {
	k := j
	for k < len(ua) && (ua[k] == ' ' || ua[k] == '+') {
		k++
	}
	return k > j && majorMinor(ua, k, "_.")
}

func isWordByte(c byte) bool {
	return c == '_' || isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// iosToken: an app's "(iOS 17.1; ...)", "iOS/16.0", "iOS; 15.2", but not
// "CriOS/".
func iosToken(ua []byte, i, j int) bool {
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

func symbianTail(ua []byte, _, j int) bool {
	rest := ua[j:]
	if bytes.HasPrefix(rest, []byte("/3")) {
		return true
	}
	rest = bytes.TrimPrefix(rest, []byte(" "))
	return len(rest) >= 2 && rest[0] == 'O' && (rest[1] == 'S' || rest[1] == 's')
}

// firefoxOSTail: Firefox OS says only "(Mobile; rv:...) ... Firefox/x.y".
func firefoxOSTail(ua []byte, _, j int) bool {
	k := bytes.Index(window(ua[j:], 200+len("Firefox/")), []byte("Firefox/")) // ua-parser: .{1,200}Firefox/
	return k >= 1 && majorMinor(ua, j+k+len("Firefox/"), ".")
}

// bsdName: "FreeBSD", "OpenBSD", "NetBSD" or a "BSD" that starts a word.
func bsdName(ua []byte, i, _ int) bool {
	head := ua[:i]
	return i == 0 || !isWordByte(ua[i-1]) || bytes.HasSuffix(head, []byte("Free")) ||
		bytes.HasSuffix(head, []byte("Open")) || bytes.HasSuffix(head, []byte("Net"))
}

func bsdVersion(ua []byte, i, j int) bool {
	return bsdName(ua, i, j) && slashOrSpaceVersion(ua, i, j)
}
