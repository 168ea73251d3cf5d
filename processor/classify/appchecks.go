package classify

import "bytes"

// The checks of app and SDK agents that state their platform in a way of
// their own, each the part of a ua-parser expression that surrounds its
// needle (uap-core's test suites have an example of each; suites_test.go).
// Each looks at most a few hundred bytes from its needle.

// isSpace is the \s of ua-parser's expressions (Go's: [\t\n\f\r ]).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// versionRun reports whether ua[p:] starts with n runs of digits, each but
// the last followed by any one byte: ua-parser's (\d+).(\d+).(\d+), whose
// unescaped dot matches any character, a digit too. So 2n-1 digits in a row
// match whatever follows, and only shorter runs need the splits tried,
// which keeps the work constant.
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
		if ua[e] != '\n' && versionRun(ua, e+1, n-1) {
			return true
		}
	}
	return false
}

// outlookIOS: Outlook's iOS app says "Outlook-iOS-Android" after the iOS
// version, (CPU[ +]OS|iPhone[ +]OS|CPU[ +]iPhone)[ +]+\d+[_.]\d+.{0,100}
// Outlook-iOS-Android, which ua-parser tries before Android.
func outlookIOS(ua []byte, i, _ int) bool {
	head := ua[max(0, i-150):i]
	for _, tok := range []string{"CPU OS", "CPU+OS", "iPhone OS", "iPhone+OS", "CPU iPhone", "CPU+iPhone"} {
		if k := bytes.Index(head, []byte(tok)); k >= 0 && iosVersion(head, k, k+len(tok)) {
			return true
		}
	}
	return false
}

// jucAndroid: UC Browser's older agent, "JUC (Linux; U; 2.3.6; zh-cn; ...)",
// ^JUC.{0,200}; ?U; ?(Android|)\d+\.\d+, is Android though it says Linux.
func jucAndroid(ua []byte, i, j int) bool {
	if i != 0 {
		return false
	}
	w := window(ua[j:], 201)
	for k := bytes.IndexByte(w, ';'); k >= 0; {
		p := j + k + 1
		if hasPrefixAt(ua, p, " ") {
			p++
		}
		if hasPrefixAt(ua, p, "U;") {
			p += 2
			if hasPrefixAt(ua, p, " ") {
				p++
			}
			if majorMinor(ua, p, ".") || hasPrefixAt(ua, p, "Android") && majorMinor(ua, p+len("Android"), ".") {
				return true
			}
		}
		next := bytes.IndexByte(w[k+1:], ';')
		if next < 0 {
			break
		}
		k += 1 + next
	}
	return false
}

// androidMobile: Salesforce's SDK, "... android mobile/8.0.0 (SM-G955F) ...":
// android\smobile/\d+.
func androidMobile(ua []byte, _, j int) bool {
	return j < len(ua) && isSpace(ua[j]) && hasPrefixAt(ua, j+1, "mobile/") && digitAfter(ua, 0, j+1+len("mobile/"))
}

// citrixChromeOS: Citrix Workspace on a Chromebook says X11 and Windows,
// then the Chrome OS platform version and "CitrixChromeApp" last:
// (x86_64|aarch64) \d+\.\d+\.\d+.{0,100}Chrome.{0,100}CitrixChromeApp$.
func citrixChromeOS(ua []byte, i, j int) bool {
	if j != len(ua) {
		return false
	}
	head := ua[max(0, i-300):i]
	for _, arch := range []string{"x86_64 ", "aarch64 "} {
		k := bytes.Index(head, []byte(arch))
		if k < 0 {
			continue
		}
		e := dotted3(head, k+len(arch))
		if e < 0 {
			continue
		}
		// The Chrome nearest the end within 100 bytes of the version
		// leaves the most room before CitrixChromeApp.
		c := bytes.LastIndex(window(head[e:], 100+len("Chrome")), []byte("Chrome"))
		if c >= 0 && len(head)-(e+c+len("Chrome")) <= 100 {
			return true
		}
	}
	return false
}

// dotted3 returns the end of the first digit of the third number of
// "10718.88.2" at p, where .{0,100} may start, or -1.
func dotted3(b []byte, p int) int {
	for n := range 3 {
		e := digits(b, p)
		if e == p {
			return -1
		}
		if n == 2 {
			return p + 1
		}
		if e >= len(b) || b[e] != '.' {
			return -1
		}
		p = e + 1
	}
	return -1
}

// darwinMac: a Mac app's CFNetwork names the Mac's architecture after
// Darwin 9 to 13 (Mac OS X 10.5 to 10.9), " Darwin/11.4.2 (i386)
// (MacBook3,1)": Darwin/(9|10|11|12|13).\d+.{0,100}\((i386|x86_64)\), and
// Darwin 9 also "(Power Macintosh)". An iOS device names none of them.
func darwinMac(ua []byte, _, j int) bool {
	k, ppc := j, false
	switch {
	case hasPrefixAt(ua, k, "9"):
		k, ppc = k+1, true
	case hasPrefixAt(ua, k, "10") || hasPrefixAt(ua, k, "11") || hasPrefixAt(ua, k, "12") || hasPrefixAt(ua, k, "13"):
		k += 2
	default:
		return false
	}
	if k+1 >= len(ua) || ua[k] == '\n' || !isDigit(ua[k+1]) {
		return false
	}
	rest := window(ua[k+2:], 100+len("(Power Macintosh)"))
	return bytes.Contains(window(rest, 100+len("(i386)")), []byte("(i386)")) ||
		bytes.Contains(window(rest, 100+len("(x86_64)")), []byte("(x86_64)")) ||
		ppc && bytes.Contains(rest, []byte("(Power Macintosh)"))
}

// boxDarwin: Box's Mac apps, "Box Sync/4.0.7848;Darwin/10.13;i386/64bit",
// whose Darwin is the macOS version: ^Box.{0,200};Darwin/10\.1\d.
func boxDarwin(ua []byte, i, j int) bool {
	return hasPrefix(ua, "Box") && i-len("Box") <= 200 && hasPrefixAt(ua, j, "1") && digitAfter(ua, 0, j+1)
}

// macOSXSpelledOut: "Mac OS X Version 10.12.6", as MacOutlook writes it:
// Mac OS X\s.{1,50}\s\d+.\d+.\d+.
func macOSXSpelledOut(ua []byte, _, j int) bool {
	if j >= len(ua) || !isSpace(ua[j]) {
		return false
	}
	for k := j + 2; k < len(ua) && k <= j+51; k++ {
		if ua[k-1] == '\n' && k-1 > j {
			return false // the dots of .{1,50} match no newline
		}
		if isSpace(ua[k]) && versionRun(ua, k+1, 3) {
			return true
		}
	}
	return false
}

// sdkField: the AWS SDKs' platform fields, "os/macos#22.4.0" and
// "md/GOOS/darwin", start a space-separated field.
func sdkField(ua []byte, i, _ int) bool { return i == 0 || ua[i-1] == ' ' }
