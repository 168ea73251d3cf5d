package classify

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// userAgents are real User-Agents that are hard to bucket, with the bucket
// each belongs to; TestHandTableAgreesWithUAParser checks that ua-parser
// agrees unless departs says why it is wrong.
var userAgents = []struct {
	ua, want string
	departs  string // why the bucket is not ua-parser's; "" when it agrees
}{
	// iOS, including in-app HTTP clients that name only CFNetwork and
	// Darwin, Apple TV, and iPad Chrome asking for the desktop site.
	{ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", want: IOS},
	{ua: "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/116.0.5845.177 Mobile/15E148 Safari/604.1", want: IOS},
	{ua: "Mozilla/5.0 (iPod touch; CPU iPhone OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1", want: IOS},
	{ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1", want: IOS},
	{ua: "MyShop/5.2.1 CFNetwork/1410.0.3 Darwin/22.6.0", want: IOS},
	{ua: "Instagram/302.0 CFNetwork/1474 Darwin/23.0.0", want: IOS},
	{ua: "com.apple.Safari.SearchHelper/19617.1.17.11.12 CFNetwork/1474 Darwin/23.0.0", want: IOS},
	{ua: "Mozilla/5.0 (Apple TV; like Mac OS X) AppleWebKit/605.1.15", want: IOS},
	{ua: "AppleCoreMedia/1.0.0.21A351 (Apple TV; U; CPU OS 17_0 like Mac OS X; en_us)", want: IOS},
	// macOS, including iPadOS Safari, which asks for desktop sites as a Mac
	// and cannot be told from one, and a Mac app's CFNetwork.
	{ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15", want: MacOS},
	{ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:49.0) Gecko/20100101 Firefox/49.0", want: MacOS},
	{ua: "Papers/2.2.19 CFNetwork/902.3.1 Darwin/17.7.0 (x86_64)", want: MacOS},
	{ua: "Safari/9537.71 CFNetwork/673.0.2 Darwin/13.0.1 (x86_64) (MacBookPro11,1)", want: MacOS}, // Darwin 9 to 13 with a Mac's architecture
	{ua: "MyShop/5.2.1 CFNetwork/1410.0.3 Darwin/22.6.0 (x86_64)", want: IOS},                     // not from Darwin 18 on
	{ua: "Box Sync/4.0.7848;Darwin/10.13;i386/64bit", want: MacOS},
	{ua: "MacOutlook/16.12.0.180401 (Intelx64 Mac OS X Version 10.12.6 (build 16G29))", want: MacOS},
	{ua: "Boto3/1.28.62 md/Botocore#1.31.62 ua/2.0 os/macos#22.4.0 md/arch#arm64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.62", want: MacOS,
		departs: "ua-parser's generic spider expression matches the name of the AWS SDK for Python, which is no crawler"},
	{ua: "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.10.0 md/arch#x86_64 lang/python#3.11.6 Botocore/1.34.0", want: Linux,
		departs: "ua-parser's generic spider expression matches the name of the AWS SDK for Python, which is no crawler"},
	// Android, including Kindle Fire's Silk, UC Browser's "Adr", app HTTP
	// clients, Huawei's HarmonyOS (which says Android) and Oculus Quest.
	{ua: "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0 Mobile Safari/537.36", want: Android},
	{ua: "Mozilla/5.0 (Linux; Android 5.1.1; KFFOWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/81.2.16 like Chrome/81.0.4044.138 Safari/537.36", want: Android},
	{ua: "Mozilla/5.0 (Linux; U; en-us; KFTT Build/IML74K) AppleWebKit/535.19 (KHTML, like Gecko) Silk/3.4 Mobile Safari/535.19 Silk-Accelerated=true", want: Android},
	{ua: "Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_3; en-us; Silk/1.1.0-80) AppleWebKit/533.16 (KHTML, like Gecko) Version/5.0 Safari/533.16 Silk-Accelerated=true", want: Android},
	{ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Silk/81.2.16 like Chrome/81.0.4044.138 Safari/537.36", want: Android,
		departs: "Silk in desktop mode runs on a Fire tablet; ua-parser believes its Linux"},
	{ua: "UCWEB/2.0 (Linux; U; Adr 2.3; zh-CN; MI-ONE Plus) U2/1.0.0 UCBrowser/8.6.0.199 U2/1.0.0 Mobile", want: Android},
	{ua: "JUC (Linux; U; 2.3.6; zh-cn; GT-S7500; 320*480) UCWEB7.9.0.94/139/352", want: Android},
	{ua: "JUC (Linux; U; zh-cn; GT-S7500)", want: Linux}, // no Android version
	{ua: "SalesforceMobileSDK/5.3.0 android mobile/8.0.0 (SM-G955F) Salesforce1/15.2 Native", want: Android},
	{ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 9_3_4 like Mac OS X) AppleWebKit/601.1 (KHTML, like Gecko) Outlook-iOS-Android/1.0 Mobile/13G35 Safari/601.1.46", want: IOS},
	{ua: "okhttp/4.9.0 (Android 11)", want: Android},
	{ua: "Dalvik/2.1.0 (Linux; U; Android 12; SM-G991B Build/SP1A.210812.016)", want: Android},
	{ua: "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00; HMSCore 6.11.0.302) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.0.312 Mobile Safari/537.36", want: Android},
	{ua: "Mozilla/5.0 (X11; Linux x86_64; Quest 2) AppleWebKit/537.36 (KHTML, like Gecko) OculusBrowser/30.0.0.3.0 SamsungBrowser/4.0 Chrome/118.0.5993.111 VR Safari/537.36", want: Android},
	{ua: "Mozilla/5.0 (Linux; Android 9; Chromebook) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", want: Android}, // an Android app on Chrome OS
	// Windows, including Windows Phone, which claims Android and iPhone.
	{ua: "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063", want: Windows},
	{ua: "Mozilla/5.0 (Mobile; Windows Phone 8.1; Android 4.0; ARM; Trident/7.0; Touch; rv:11.0; IEMobile/11.0; NOKIA; Lumia 635) like iPhone OS 7_0_3 Mac OS X AppleWebKit/537 (KHTML, like Gecko) Mobile Safari/537", want: Windows},
	{ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Safari/537.36 Edg/116.0.1938.69", want: Windows},
	{ua: "Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; rv:11.0) like Gecko", want: Windows},
	{ua: "Mozilla/4.0 (compatible; MSIE 6.0; Windows 98)", want: Windows},
	{ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Safari/537.36 Edg/116.0.1938.69 SomeRobot", want: Windows}, // a spider's token past the 100th character does not count
	// Chrome OS, which is not Linux.
	{ua: "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", want: ChromeOS},
	{ua: "Mozilla/5.0 (X11; Windows aarch64 10718.88.2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/68.0.3440.118 Safari/537.36 CitrixChromeApp", want: ChromeOS},
	{ua: "Mozilla/5.0 (X11; Windows x86_64 10718.88.2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/68.0.3440.118 Safari/537.36 CitrixChromeApp x", want: Windows}, // not last
	{ua: "Mozilla/5.0 (X11; CrOS armv7l 13597.84.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.114 Safari/537.36", want: ChromeOS},
	{ua: "Mozilla/5.0 (X11; CrOS x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/39.0.2171.96 Safari/537.36", want: ChromeOS,
		departs: "ua-parser wants a Chrome OS version and says Other without one"},
	// Linux and its distributions, down to a tool's "(linux-gnu)".
	{ua: "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/117.0", want: Linux},
	{ua: "Mozilla/5.0 (X11; Ubuntu; Linux i686; rv:17.0) Gecko/20100101 Firefox/17.0", want: Linux},
	{ua: "Debian APT-HTTP/1.3 (0.8.16~exp12ubuntu10.21)", want: Linux},
	{ua: "Wget/1.13.4 (linux-gnu)", want: Linux},
	// Bots: a smartphone crawler says Android or iPhone, then names itself;
	// a generic spider token counts on a desktop or unknown device only.
	{ua: "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", want: Bot},
	{ua: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", want: Bot},
	{ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 7_0 like Mac OS X) AppleWebKit/537.51.1 (KHTML, like Gecko) Version/7.0 Mobile/11A465 Safari/9537.53 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", want: Bot},
	{ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", want: Bot},
	{ua: "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)", want: Bot},
	{ua: "Mozilla/5.0 (compatible; RidderBot/1.0; bot@ridder.co) (iPhone; CPU iPhone OS 8_4_1 like Mac OS X) Mobile/12H321", want: Bot,
		departs: "ua-parser counts a smartphone crawler only if it names the phone before itself"},
	{ua: "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", want: Bot},
	{ua: "WhatsApp/2.23.20.0 A", want: Bot},
	{ua: "Python-urllib/3.11", want: Bot},
	{ua: "Java/17.0.2", want: Bot},
	{ua: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 CUBOT", want: Android}, // a phone brand, not a bot
	// Other: tools, e-readers, TVs, feature-phone platforms, the unknown.
	{ua: "curl/8.4.0", want: Other},
	{ua: "python-requests/2.31.0", want: Other},
	{ua: "Go-http-client/1.1", want: Other},
	{ua: "okhttp/4.12.0", want: Other},
	{ua: "Mozilla/5.0 (Phone; OpenHarmony 4.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1 Mobile HuaweiBrowser/5.0.4.300", want: Other},
	{ua: "Mozilla/5.0 (Linux; U; en-US) AppleWebKit/528.5+ (KHTML, like Gecko, Safari/528.5+) Version/4.0 Kindle/3.0 (screen 600x800; rotate)", want: Other},
	{ua: "Mozilla/5.0 (X11; FreeBSD amd64; rv:109.0) Gecko/20100101 Firefox/115.0", want: Other},
	{ua: "Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i; Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5", want: Other},
	{ua: "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36", want: Other},
	{ua: "Mozilla/5.0 (PlayStation Vita 1.81) AppleWebKit/531.22.8 (KHTML, like Gecko) Silk/3.2", want: Other},
	{ua: "Roku/DVP-9.10 (519.10E04111A)", want: Other, departs: "ua-parser names Roku OS Mac OS X"},
	{ua: "Amazon CloudFront", want: Other},
	{ua: "-", want: Other},
	{ua: "", want: Other},
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
	// The param wins over user buckets too.
	u := New(WithBuckets(Bucket{Name: "phone", Contains: []string{"Android"}}))
	if got := u.OSType([]byte("ios"), []byte(androidUA)); got != "ios" {
		t.Errorf("param with a user bucket matching the UA = %q, want ios", got)
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
	for _, b := range builtinNames {
		if got := c.OSType([]byte(b), nil); unsafe.StringData(got) != unsafe.StringData(b) {
			t.Errorf("%s param did not return the bucket constant", b)
		}
	}
}

// TestInternTableIsBounded: a flood of distinct values never grows the
// table past its bound, and every value, however many came before it, is
// returned as itself (what it counts as is decided per window, downstream).
func TestInternTableIsBounded(t *testing.T) {
	c := New()
	for i := range 3 * maxInterned {
		v := "v" + strconv.Itoa(i)
		if got := c.OSType([]byte(v), []byte("Mozilla/5.0 (Windows NT 10.0)")); got != v {
			t.Fatalf("value %d: got %q", i, got)
		}
		if len(c.interned) > maxInterned {
			t.Fatalf("table grew to %d entries, bound is %d", len(c.interned), maxInterned)
		}
	}
	for _, b := range builtinNames {
		if got := c.OSType([]byte(b), nil); unsafe.StringData(got) != unsafe.StringData(b) {
			t.Errorf("%s param did not return the bucket constant after the table filled", b)
		}
	}
}

func TestBucketNames(t *testing.T) {
	got := BucketNames(WithBuckets(harmonyOS, Bucket{Name: Linux, Contains: []string{"CrOS"}}))
	want := append(builtinNames[:], harmonyOS.Name)
	if !slices.Equal(got, want) {
		t.Errorf("BucketNames = %v, want %v", got, want)
	}
}

func TestOSTypeDoesNotAllocate(t *testing.T) {
	param := []byte("harmony")
	for _, c := range []*Classifier{New(), New(WithBuckets(harmonyOS))} {
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
}
