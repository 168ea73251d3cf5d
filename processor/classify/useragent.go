package classify

import "bytes"

// uaRules are tried in order and the first rule with a matching needle
// wins, so order encodes precedence: iOS says "like Mac OS X" and must be
// caught before macOS; Android says "Linux" and must be caught before Linux.
// Needles are case-sensitive, as User-Agent platform tokens are, and at
// least two bytes long (uaBucket compares the second byte first).
var uaRules = [...]struct {
	os      string
	needles []string
}{
	{IOS, []string{"iPhone", "iPad", "iPod", "CFNetwork", "like Mac OS X"}},
	// "Adr " is UC Browser's short form; "Silk/" is Amazon Fire's browser,
	// whose older versions do not mention Android.
	{Android, []string{"Android", "Adr ", "Silk/"}},
	{Windows, []string{"Windows"}},
	{MacOS, []string{"Macintosh", "Mac OS X"}},
	{Linux, []string{"Linux", "X11"}},
}

type needle struct {
	text []byte
	rule int // index into uaRules
}

// byFirstByte indexes the needles by their first byte. Searching needle by
// needle would scan a User-Agent a dozen times; instead it is scanned once
// and only bytes that can start a needle are looked at further.
var byFirstByte = func() (t [256][]needle) {
	for r, rule := range uaRules {
		for _, n := range rule.needles {
			if len(n) < 2 {
				panic("classify: User-Agent needle shorter than two bytes: " + n)
			}
			t[n[0]] = append(t[n[0]], needle{[]byte(n), r})
		}
	}
	return t
}()

// startsNeedle lets the scan skip, with one load and a well-predicted
// branch, the bytes that start no needle: most of them.
var startsNeedle = func() (t [256]bool) {
	for c, ns := range byFirstByte {
		t[c] = len(ns) > 0
	}
	return t
}()

// uaBucket returns the os_type bucket of a User-Agent; Other when it is
// empty or matches no rule (bots, tools, unknown platforms).
func uaBucket(ua []byte) string {
	best := len(uaRules)
	for i, c := range ua {
		if !startsNeedle[c] {
			continue
		}
		for _, n := range byFirstByte[c] {
			// Checking the second byte first rejects most candidates
			// without a call to compare the rest.
			if n.rule < best && i+len(n.text) <= len(ua) && ua[i+1] == n.text[1] &&
				bytes.Equal(ua[i:i+len(n.text)], n.text) {
				if n.rule == 0 {
					return uaRules[0].os // nothing can take precedence
				}
				best = n.rule
			}
		}
	}
	if best == len(uaRules) {
		return Other
	}
	return uaRules[best].os
}
