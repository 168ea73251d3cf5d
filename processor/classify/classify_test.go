package classify

import (
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// userAgents are real User-Agents with the bucket each belongs to; several
// are chosen because a later rule would also match them.
var userAgents = []struct {
	ua   string
	want string
}{
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", IOS},
	{"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/116.0.5845.177 Mobile/15E148 Safari/604.1", IOS},
	{"Mozilla/5.0 (iPod touch; CPU iPhone OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1", IOS},
	{"MyShop/5.2.1 CFNetwork/1410.0.3 Darwin/22.6.0", IOS},
	{"Mozilla/5.0 (Apple TV; like Mac OS X) AppleWebKit/605.1.15", IOS},                                                            // "like Mac OS X" before macOS
	{"Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0 Mobile Safari/537.36", Android}, // Android before Linux
	{"Mozilla/5.0 (Linux; Android 5.1.1; KFFOWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/81.2.16 like Chrome/81.0.4044.138 Safari/537.36", Android},
	{"Mozilla/5.0 (Linux; U; en-us; KFTT Build/IML74K) AppleWebKit/535.19 (KHTML, like Gecko) Silk/3.4 Mobile Safari/535.19 Silk-Accelerated=true", Android},
	{"UCWEB/2.0 (Linux; U; Adr 2.3; zh-CN; MI-ONE Plus) U2/1.0.0 UCBrowser/8.6.0.199 U2/1.0.0 Mobile", Android},
	{"okhttp/4.9.0 (Android 11)", Android},
	{"Dalvik/2.1.0 (Linux; U; Android 12; SM-G991B Build/SP1A.210812.016)", Android},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Safari/537.36 Edg/116.0.1938.69", Windows},
	{"Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; rv:11.0) like Gecko", Windows},
	{"Mozilla/5.0 (Windows NT 5.1; rv:35.0) Gecko/20100101 Firefox/35.0", Windows},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Safari/605.1.15", MacOS},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:49.0) Gecko/20100101 Firefox/49.0", MacOS},
	{"Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/117.0", Linux},
	{"Mozilla/5.0 (X11; CrOS x86_64 6310.68.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/39.0.2171.96 Safari/537.36", Linux},
	{"Mozilla/5.0 (X11; Ubuntu; Linux i686; rv:17.0) Gecko/20100101 Firefox/17.0", Linux},
	{"Wget/1.13.4 (linux-gnu)", Other}, // needles are case-sensitive
	{"Debian APT-HTTP/1.3 (0.8.16~exp12ubuntu10.21)", Other},
	{"curl/8.4.0", Other},
	{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Other},
	{"Amazon CloudFront", Other},
	{"-", Other},
	{"", Other},
}

func TestUserAgentBuckets(t *testing.T) {
	c := New()
	for _, tt := range userAgents {
		if got := c.OSType(nil, []byte(tt.ua)); got != tt.want {
			t.Errorf("OSType(nil, %q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
	if got := c.OSType(nil, nil); got != Other {
		t.Errorf("OSType(nil, nil) = %q, want %q", got, Other)
	}
}

func TestOSParam(t *testing.T) {
	const androidUA = "Mozilla/5.0 (Linux; Android 13; Pixel 7)"
	tests := []struct {
		param string
		want  string
	}{
		{"ios", "ios"},
		{"iOS", "iOS"}, // kept as sent: grouping is by the raw value
		{"android", "android"},
		{"HarmonyOS_4.0-beta", "HarmonyOS_4.0-beta"},
		{"0", "0"},
		{strings.Repeat("a", 32), strings.Repeat("a", 32)},
		{strings.Repeat("a", 33), Android}, // too long: the User-Agent decides
		{"", Android},
		{"windows phone", Android},
		{"ios\x00", Android},
		{"ios;", Android},
		{"é", Android},
		{"%69os", Android},
	}
	c := New()
	for _, tt := range tests {
		if got := c.OSType([]byte(tt.param), []byte(androidUA)); got != tt.want {
			t.Errorf("OSType(%q, android UA) = %q, want %q", tt.param, got, tt.want)
		}
	}
	if got := c.OSType([]byte("x"), nil); got != "x" {
		t.Errorf("param without User-Agent: got %q, want x", got)
	}
}

// A result must not alias the caller's buffer, which the decoder reuses.
func TestOSParamIsCopied(t *testing.T) {
	c := New()
	buf := []byte("harmony")
	got := c.OSType(buf, nil)
	copy(buf, "XXXXXXX")
	if got != "harmony" {
		t.Fatalf("result changed with the caller's buffer: %q", got)
	}
	if again := c.OSType([]byte("harmony"), nil); unsafe.StringData(again) != unsafe.StringData(got) {
		t.Errorf("second lookup returned a new string, want the interned one")
	}
	if got := c.OSType([]byte("ios"), nil); unsafe.StringData(got) != unsafe.StringData(IOS) {
		t.Errorf("ios param did not return the IOS constant")
	}
}

func TestInternTableIsBounded(t *testing.T) {
	c := New()
	for i := 0; len(c.interned) < maxInterned; i++ {
		v := "v" + strconv.Itoa(i)
		if got := c.OSType([]byte(v), nil); got != v {
			t.Fatalf("value %d while the table has room: got %q", i, got)
		}
	}
	if got := c.OSType([]byte("one-too-many"), []byte("Mozilla/5.0 (Windows NT 10.0)")); got != Other {
		t.Errorf("new value with a full table = %q, want %q", got, Other)
	}
	if got := c.OSType([]byte("v0"), nil); got != "v0" {
		t.Errorf("already interned value with a full table = %q, want v0", got)
	}
	if len(c.interned) != maxInterned {
		t.Errorf("table grew to %d entries, bound is %d", len(c.interned), maxInterned)
	}
}

func TestOSTypeDoesNotAllocate(t *testing.T) {
	c := New()
	param := []byte("harmony")
	c.OSType(param, nil) // the first sight of a value may allocate
	var sink string
	for _, tt := range userAgents {
		ua := []byte(tt.ua)
		if n := testing.AllocsPerRun(100, func() { sink = c.OSType(nil, ua) }); n != 0 {
			t.Errorf("OSType(nil, %q): %.1f allocations, want 0", tt.ua, n)
		}
		if n := testing.AllocsPerRun(100, func() { sink = c.OSType(param, ua) }); n != 0 {
			t.Errorf("OSType(interned param, %q): %.1f allocations, want 0", tt.ua, n)
		}
	}
	_ = sink
}

func BenchmarkOSTypeUserAgent(b *testing.B) {
	uas := make([][]byte, len(userAgents))
	for i, tt := range userAgents {
		uas[i] = []byte(tt.ua)
	}
	c := New()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.OSType(nil, uas[i%len(uas)])
	}
}

func BenchmarkOSTypeParam(b *testing.B) {
	params := [][]byte{[]byte("ios"), []byte("android"), []byte("iOS"), []byte("harmony")}
	ua := []byte(userAgents[0].ua)
	c := New()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.OSType(params[i%len(params)], ua)
	}
}

// referenceBucket is the rule list as specified, written the slow and
// obvious way, for uaBucket's single-pass search to be checked against.
func referenceBucket(ua string) string {
	has := func(needles ...string) bool {
		for _, n := range needles {
			if strings.Contains(ua, n) {
				return true
			}
		}
		return false
	}
	switch {
	case has("iPhone", "iPad", "iPod", "CFNetwork", "like Mac OS X"):
		return IOS
	case has("Android", "Adr ", "Silk/"):
		return Android
	case has("Windows"):
		return Windows
	case has("Macintosh", "Mac OS X"):
		return MacOS
	case has("Linux", "X11"):
		return Linux
	}
	return Other
}

func FuzzOSType(f *testing.F) {
	for _, tt := range userAgents {
		f.Add([]byte(nil), []byte(tt.ua))
		f.Add([]byte("ios"), []byte(tt.ua))
	}
	f.Add([]byte(strings.Repeat("a", 33)), []byte{})
	f.Add([]byte("a\x00"), []byte("\xff\xfe"))
	f.Add([]byte(nil), []byte("X11 Windows Adr Silk/ like Mac OS X"))
	f.Add([]byte(nil), []byte("Mac OS"))
	c := New()
	f.Fuzz(func(t *testing.T, param, ua []byte) {
		got := c.OSType(param, ua)
		if got == "" {
			t.Fatalf("OSType(%q, %q) is empty", param, ua)
		}
		if isSaneParam(param) {
			if got != string(param) && got != Other {
				t.Errorf("OSType(%q, %q) = %q, want the param or %q", param, ua, got, Other)
			}
		} else if want := referenceBucket(string(ua)); got != want {
			t.Errorf("OSType(%q, %q) = %q, want the UA bucket %q", param, ua, got, want)
		}
		if len(c.interned) > maxInterned {
			t.Fatalf("intern table grew to %d", len(c.interned))
		}
	})
}
