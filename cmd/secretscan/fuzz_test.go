package main

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
)

// FuzzScanLine checks that a line holding a secret is a hit, and that a
// hit's text holds no secret, whatever else the line holds.
func FuzzScanLine(f *testing.F) {
	pw := secrettest.Marker + "0123456789abcdef"
	f.Add("password=" + pw)
	f.Add(fmt.Sprintf("%x", "\x00u\x00"+pw))
	f.Add(base64.StdEncoding.EncodeToString([]byte("xy" + pw + pw)))
	f.Add("key=\"-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEE\\n\" " + pw)
	f.Add("-----BEGIN CERTIFICATE-----")
	f.Fuzz(func(t *testing.T, line string) {
		var s scanner
		s.scanLine("f", "", 1, line)
		if holdsSecret(strings.TrimSpace(line)) != (len(s.hits) == 1) || len(s.hits) > 1 {
			t.Fatalf("%d hits for a line that holds a secret: %v", len(s.hits), holdsSecret(line))
		}
		if len(s.hits) == 1 && (holdsSecret(s.hits[0].text) || strings.Contains(s.hits[0].text, secrettest.Marker)) {
			t.Fatal("a hit's text holds a secret")
		}
	})
}

// FuzzLines checks that a stream cut into chunks anywhere comes out as the
// lines it was made of.
func FuzzLines(f *testing.F) {
	f.Add("a\nbb\n\nccc", uint64(0x0102030405))
	f.Add("no newline", uint64(7))
	f.Fuzz(func(t *testing.T, text string, cuts uint64) {
		var l lines
		var got []string
		collect := func(_, s string) { got = append(got, s) }
		for rest := text; rest != ""; cuts >>= 3 {
			n := min(len(rest), int(cuts&7))
			if cuts == 0 {
				n = len(rest)
			}
			l.add("k", "T", rest[:n], collect)
			rest = rest[n:]
		}
		l.flush(func(_, test, s string) { collect(test, s) })
		if strings.Join(got, "") != text {
			t.Fatalf("lines %q, want them to make %q", got, text)
		}
		for i, s := range got { // each ends at its newline; only the last may have none
			n := strings.Count(s, "\n")
			if n > 1 || n == 1 && !strings.HasSuffix(s, "\n") || n == 0 && i < len(got)-1 {
				t.Fatalf("line %q is not one line", s)
			}
		}
	})
}
