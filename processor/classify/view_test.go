package classify

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ua-parser/uap-go/uaparser"
)

// within must say what counting does, for positions that grow as the
// checks' do, and for any positions (where it starts its counts again).
func TestWithinCounts(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	parts := []string{"a", "b", " ", "é", "€", "𝄞", "\n", "\xff", "\xe2\x82", "\x80"}
	for range 2000 {
		var b strings.Builder
		for range r.IntN(200) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		ua := []byte(b.String())
		// Positions that start characters, as the checks' do.
		var starts []int
		for p := 0; p <= len(ua); {
			starts = append(starts, p)
			if p == len(ua) {
				break
			}
			_, w := utf8.DecodeRune(ua[p:])
			p += w
		}
		v := view{ua: ua}
		var sp span
		a, bb := 0, 0
		for range 50 {
			if r.IntN(4) == 0 { // now and then, anywhere
				a, bb = starts[r.IntN(len(starts))], starts[r.IntN(len(starts))]
			} else { // mostly growing
				a = max(a, starts[r.IntN(len(starts))])
				bb = max(bb, a, starts[r.IntN(len(starts))])
			}
			n := []int{0, 1, 3, 10, 50}[r.IntN(5)]
			want := bb >= a && utf8.RuneCount(ua[a:bb]) <= n && bytes.IndexByte(ua[a:bb], '\n') < 0
			if got := v.within(a, bb, n, &sp); got != want {
				t.Fatalf("%q: within(%d, %d, %d) = %t, want %t", ua, a, bb, n, got, want)
			}
		}
	}
}

// BenchmarkAdversarialChars is BenchmarkAdversarial's kind of User-Agent
// with multi-byte characters and newlines in the windows, which take the
// checks' slower path: counting characters.
func BenchmarkAdversarialChars(b *testing.B) {
	cases := []struct{ name, unit string }{
		{"outlook-chars", "CPU OS 1_1 " + strings.Repeat("é", 60) + "Outlook-iOS-Android"},
		{"outlook-newlines", "CPU OS 1_1\nOutlook-iOS-Android"},
		{"petalbot-chars", "Mozilla" + strings.Repeat("é", 110) + "PetalBot"},
		{"darwin-chars", " Darwin/9é1" + strings.Repeat("é", 60) + "(i386)"},
		{"macosx-chars", "Mac OS X " + strings.Repeat("é", 30) + "\t1x2x3"},
		{"cfnetwork-chars", "CFNetwork/1" + strings.Repeat("é", 60) + " Darwin/16.1" + strings.Repeat("é", 60) + "(x86_64)"},
		{"firefoxos-chars", "(Mobile;" + strings.Repeat("é", 110) + "Firefox/1"},
		{"citrix-chars", "x86_64 1.1.1" + strings.Repeat("é", 60) + "Chrome" + strings.Repeat("€", 40)},
		{"bot-chars", strings.Repeat("é", 100) + "botbot"},
		{"invalid", "CPU OS 1_1 " + strings.Repeat("\xe2\x82", 60) + "Outlook-iOS-Android"},
	}
	for _, tc := range cases {
		for _, n := range []int{256, 1024} {
			ua := []byte(rep(tc.unit, n))
			if tc.name == "citrix-chars" {
				ua = append(ua[:len(ua)-len("CitrixChromeApp")], "CitrixChromeApp"...)
			}
			b.Run(fmt.Sprintf("%s/%d", tc.name, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					builtinTable.bucket(ua)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(ua)), "ns/byte")
			})
		}
	}
}

// Only the first maxUALen bytes are classified, as if the User-Agent ended
// there: a needle past them counts for nothing, one cut by the bound is not
// found, and "$" matches at the bound.
func TestUserAgentBound(t *testing.T) {
	pad := strings.Repeat("x", maxUALen-len("Android 13"))
	for _, tc := range []struct{ ua, want string }{
		{pad + "Android 13", Android},
		{pad + "Android 13 and more", Android},
		{pad + "xxxxxxxxxxAndroid 13", Other},
		{pad + "xxxxxxxAndroid 13", Other}, // "Andr" within, the rest past
		{strings.Repeat("x", maxUALen-len("Mozilla/5.0 (X11; Windows aarch64 10718.88.2) Chrome/68 CitrixChromeApp")) +
			"Mozilla/5.0 (X11; Windows aarch64 10718.88.2) Chrome/68 CitrixChromeApp and more", ChromeOS},
	} {
		if got := New().OSType(nil, []byte(tc.ua)); got != tc.want {
			t.Errorf("%d bytes, %q last: %q, want %q", len(tc.ua), tc.ua[maxUALen-20:], got, tc.want)
		}
		if got := referenceBucket(config{}, tc.ua); got != tc.want {
			t.Errorf("reference: %d bytes: %q, want %q", len(tc.ua), got, tc.want)
		}
	}
}

// Box's check counts the characters from the start of the User-Agent, as
// far as 200: past 200 bytes, with multi-byte characters, it counts them.
func TestBoxDarwinCountsCharacters(t *testing.T) {
	p, err := uaparser.New(uaparser.WithMode(uaparser.EOsLookUpMode | uaparser.EDeviceLookUpMode))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ua, want string }{
		{"Box Sync/4.0" + strings.Repeat("é", 191) + ";Darwin/10.13;i386/64bit", MacOS}, // 200 characters between
		{"Box Sync/4.0" + strings.Repeat("é", 192) + ";Darwin/10.13;i386/64bit", Other}, // 201
		{"Box Sync/4.0\n" + strings.Repeat("é", 9) + ";Darwin/10.13;i386/64bit", Other}, // a newline
	} {
		if got, want := New().OSType(nil, []byte(tc.ua)), referenceBucket(config{}, tc.ua); got != tc.want || want != tc.want {
			t.Errorf("%q: %q, reference %q, want %q", tc.ua, got, want, tc.want)
		}
		if u := uaParserBucket(p, tc.ua); u != tc.want {
			t.Errorf("%q: uap-go says %q, want %q", tc.ua, u, tc.want)
		}
	}
}
