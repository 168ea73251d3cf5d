package classify

// The attack session's tests (h-uaattack). Each Test here fails on a defect
// it found; BenchmarkAdversarial measures the User-Agents that make one
// classification slow (no timed assertions: compare its ns/op with
// plain-letters, the same length without needles, and with
// BenchmarkOSTypeUnique and BenchmarkDecodeClassify/all-new).

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/ua-parser/uap-go/uaparser"
)

// ---- wrong buckets: checks that do not say what their ua-parser expression says

// attackUAPCase is a User-Agent on which a check departs from the expression
// it ports; want is ua-parser's bucket (uap-go, checked below too).
type attackUAPCase struct {
	why, ua, want string
}

var attackUAPCases = []attackUAPCase{
	// appchecks.go cfNetworkMac (checks.go:140) is in the MacOS rule, which
	// rules.go puts before every iOS CFNetwork needle; ua-parser tries its
	// iOS expressions for the early CFNetwork versions ((CF)(Network)/808\.(\d),
	// 758\.(\d), 711\., 709\.1, (6)(0)9, 672..., 548..., 485...) before
	// 'CFNetwork/.{0,100} Darwin/1[67]\.\d+.{0,100}\(x86_64\)' and
	// 'CFNetwork/8.{0,100} Darwin/15...'. Plain ASCII, plausible agents.
	{"early iOS CFNetwork 808 before the Mac Darwin/16 x86_64 one", "App/1 CFNetwork/808.2 Darwin/16.3.0 (x86_64)", IOS},
	{"CFNetwork/808.3 Darwin/16.3 is iOS 10.2.1 in ua-parser", "App/1 CFNetwork/808.3 Darwin/16.3.0 (x86_64)", IOS},
	{"early iOS CFNetwork 758 before the Mac Darwin/17 x86_64 one", "App/1 CFNetwork/758.5.3 Darwin/17.0.0 (x86_64)", IOS},
	{"early iOS CFNetwork 711 before the Mac Darwin/16 x86_64 one", "App/1 CFNetwork/711.1 Darwin/16.1.0 (x86_64)", IOS},
	{"early iOS CFNetwork 808 before the Mac CFNetwork/8 Darwin/15 one", "App/1 CFNetwork/808.0 Darwin/15.6.0 (x86_64)", IOS},
	{"early iOS CFNetwork 609 before the Mac Darwin/16 x86_64 one", "App/1 CFNetwork/609 Darwin/16.6.0 (x86_64)", IOS},
	// appchecks.go outlookIOS (:43-47) tries only the first occurrence of
	// each token (bytes.Index): a failing "CPU OS" hides a later good one.
	{"Outlook: only the first CPU OS is tried", "Mozilla/5.0 (CPU OS x; CPU OS 16_6 like Mac OS X) Outlook-iOS-Android/1.0 (Linux; Android 12)", IOS},
	// The ported expressions' dots match a character but no newline; the
	// checks count bytes and let a newline through (inFirst100 does both right).
	{"Outlook: .{0,100} matches no newline", "Mozilla/5.0 (CPU OS 16_6\n like Mac OS X) Outlook-iOS-Android/1.0 (Linux; Android 12)", Android},
	{"JUC: .{0,200} matches no newline", "JUC\n(Linux; U; 2.3.6; zh-cn; GT-S7500; 320*480) UCWEB7.9.0.94/139/352", Linux},
	{"Citrix: .{0,100} matches no newline", "Mozilla/5.0 (X11; Windows aarch64 10718.88.2)\nAppleWebKit/537.36 (KHTML, like Gecko) Chrome/68.0.3440.118 Safari/537.36 CitrixChromeApp", Windows},
	{"Darwin/11: .{0,100} matches no newline", "MyApp/1 CFNetwork/1.0 Darwin/11.4.2\n(x86_64)", IOS},
	{"Mac OS X spelled out: the dots of \\d+.\\d+.\\d+ match a character, not a byte", "Mac OS X Version 10é15é7 (Build 19H2)", MacOS},
	{"Mac OS X spelled out: .{1,50} is 50 characters, not bytes", "Mac OS X " + strings.Repeat("é", 30) + " 10.15.7", MacOS},
}

func TestAttackChecksAgreeWithTheirExpressions(t *testing.T) {
	p, err := uaparser.New(uaparser.WithMode(uaparser.EOsLookUpMode | uaparser.EDeviceLookUpMode))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range attackUAPCases {
		if u := uaParserBucket(p, tc.ua); u != tc.want {
			t.Errorf("%s: uap-go says %q, the case says %q (fix the case): %q", tc.why, u, tc.want, tc.ua)
			continue
		}
		if got := New().OSType(nil, []byte(tc.ua)); got != tc.want {
			t.Errorf("%s: OSType(%q) = %q, ua-parser %q", tc.why, tc.ua, got, tc.want)
		}
	}
}

// ---- determinism, panics, buckets (these held)

// attackUA builds a User-Agent from needle texts, their prefixes, digits,
// separators and bytes that checks look at, so that checks run at the end
// of the User-Agent and windows are cut short.
func attackUA(r *rand.Rand, texts []string) []byte {
	parts := []string{" ", "/", ".", "_", ";", "\n", "\t", "+", "(", ")", "é", "\xff", "1", "10", "16.3.0", "(x86_64)", "(i386)", "Mozilla", "Chrome", "U;", "mobile/8"}
	var b []byte
	for range r.IntN(12) {
		switch r.IntN(4) {
		case 0:
			b = append(b, parts[r.IntN(len(parts))]...)
		case 1:
			s := texts[r.IntN(len(texts))]
			b = append(b, s[:1+r.IntN(len(s))]...)
		default:
			b = append(b, texts[r.IntN(len(texts))]...)
		}
	}
	return b
}

func allNeedleTexts() []string {
	var texts []string
	for _, r := range osRules {
		for _, n := range r.needles {
			texts = append(texts, n.text)
		}
	}
	for _, s := range botSignals {
		for _, n := range s.needles {
			texts = append(texts, n.text)
		}
	}
	return texts
}

// A warm Classifier (its cache full of other User-Agents, and of this one)
// answers as a fresh one and as the reference, for User-Agents made of
// needles, every prefix of each too: a needle cut by the end of the
// User-Agent must not read past it.
func TestAttackDeterministicAndInBounds(t *testing.T) {
	texts := allNeedleTexts()
	r := rand.New(rand.NewPCG(7, 11))
	warm := New()
	names := BucketNames()
	n := 5000
	if testing.Short() {
		n = 2000
	}
	for k := range n {
		ua := attackUA(r, texts)
		for end := 0; end <= len(ua); end += 1 + end/8 {
			u := ua[:end]
			want := referenceBucket(config{}, string(u))
			fresh := New().OSType(nil, u)
			w1 := warm.OSType(nil, u)
			w2 := warm.OSType(nil, u) // from the cache
			if fresh != want || w1 != want || w2 != want {
				t.Fatalf("case %d: %q: fresh %q, warm %q then %q, reference %q", k, u, fresh, w1, w2, want)
			}
			if !contains(names, want) {
				t.Fatalf("%q: %q is no bucket", u, want)
			}
		}
	}
}

// Every needle alone, with one byte more, and every prefix of it: the
// shortest User-Agents that reach each check's end-of-input paths.
func TestAttackNeedleEdges(t *testing.T) {
	c := New()
	for _, s := range allNeedleTexts() {
		for k := 1; k <= len(s); k++ {
			for _, ua := range []string{s[:k], "x" + s[:k], s[:k] + "1", s[:k] + " ", s[:k] + "\n", s[:k] + "1.", s[:k] + " 1_"} {
				if got, want := c.OSType(nil, []byte(ua)), referenceBucket(config{}, ua); got != want {
					t.Errorf("%q: %q, reference %q", ua, got, want)
				}
			}
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// ---- slowness

// advCases are User-Agents that repeat a needle whose check fails, so that
// the check runs at every occurrence (a check that succeeds makes the later
// ones of its rule skipped). Each is built about n bytes long.
var advCases = []struct {
	name string
	ua   func(n int) string
}{
	// controls
	{"plain-letters", func(n int) string { return rep("abcdefgh", n) }},
	{"chrome-padded", func(n int) string {
		return "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 " + rep("abcdefgh", n-110)
	}},
	{"digits", func(n int) string { return "Android " + strings.Repeat("1", n) }},
	// needle.go inFirst100: a spider token 100 to 400 bytes in counts the
	// runes of all before it, at every occurrence: quadratic up to 400 bytes.
	{"bot-after-100", func(n int) string { return strings.Repeat("x", 101) + rep("bot", n-101) }},
	{"zao-after-100", func(n int) string { return strings.Repeat("x", 101) + rep("zao", n-101) }},
	{"iphone-after-100", func(n int) string { return strings.Repeat("x", 101) + rep("iphone", n-101) }},
	// appchecks.go outlookIOS: six bytes.Index over the 150 bytes before
	// every "Outlook-iOS-Android".
	{"outlook", func(n int) string { return rep("Outlook-iOS-Android", n) }},
	// appchecks.go darwinMac: three bytes.Contains over 117 bytes after every
	// " Darwin/9.1", made slow by a '(' (their first byte) everywhere.
	{"darwin9-parens", func(n int) string { return rep(" Darwin/9.1(", n) }},
	{"darwin10", func(n int) string { return rep(" Darwin/10.1", n) }},
	// appchecks.go macOSXSpelledOut: 50 bytes tried after every "Mac OS X\t".
	{"macosx-tabs", func(n int) string { return rep("Mac OS X\t", n) }},
	{"macosx-spelled", func(n int) string { return rep("Mac OS X 1 1 x ", n) }},
	// checks.go cfNetworkMac, cfNetworkIOS: 250 and 108 bytes after every "CFNetwork/".
	{"cfnetwork", func(n int) string { return rep("CFNetwork/", n) }},
	// bot.go afterMozilla: 207 bytes before every "PetalBot".
	{"petalbot", func(n int) string { return rep("PetalBot", n) }},
	// checks.go afterIntelMac, firefoxOSTail: 200 bytes either side.
	{"crios", func(n int) string { return rep("CriOS/1", n) }},
	{"firefoxos", func(n int) string { return rep("(Mobile;", n) }},
	{"win", func(n int) string { return rep("Win", n) }},
	{"android", func(n int) string { return rep("Android", n) }},
	{"mixed", func(n int) string {
		return rep("PetalBot(Mobile;CFNetwork/ Darwin/9.1(Outlook-iOS-AndroidCriOS/1Mac OS X\t", n)
	}},
	// the worst of 256 bytes, the longest the cache keeps: spider tokens from
	// byte 101 on, after Outlook's.
	{"worst", func(n int) string {
		return rep("Outlook-iOS-Android", 101) + strings.Repeat("x", 101-len(rep("Outlook-iOS-Android", 101))) + rep("bot", n-101)
	}},
}

func rep(unit string, n int) string { return strings.Repeat(unit, max(1, n/len(unit))) }

// BenchmarkAdversarial classifies each pathological User-Agent at 256 bytes
// (the longest the cache keeps), 400 (where inFirst100 stops looking) and
// 800 and 1600 (to see the cost scale with the length). It calls the table
// directly: a User-Agent longer than 256 bytes is never cached, so a client
// need not even vary it; one up to 256 bytes needs one byte changed.
func BenchmarkAdversarial(b *testing.B) {
	for _, tc := range advCases {
		for _, n := range []int{256, 400, 800, 1600, 3200} {
			ua := []byte(tc.ua(n))
			b.Run(fmt.Sprintf("%s/%d", tc.name, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					builtinTable.bucket(ua)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(ua)), "ns/byte")
			})
		}
	}
}

// BenchmarkAdversarialOSType is the same through a Classifier, the
// User-Agent made new each time (a counter in its last bytes), as a hostile
// client sends them.
func BenchmarkAdversarialOSType(b *testing.B) {
	for _, tc := range advCases {
		for _, n := range []int{256, 400} {
			ua := []byte(tc.ua(n) + "00000000")
			b.Run(fmt.Sprintf("%s/%d", tc.name, n), func(b *testing.B) {
				c := New()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					strconv.AppendUint(ua[:len(ua)-8], uint64(10000000+i%90000000), 10)
					c.OSType(nil, ua)
					i++
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
			})
		}
	}
}
