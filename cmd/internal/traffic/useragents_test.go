package traffic

import (
	"strings"
	"testing"
)

// classifyUA is the test's own statement of the table's rules,
// independent of the table's labels.
func classifyUA(ua string) string {
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(ua, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("Googlebot", "bingbot", "Baiduspider"):
		return "bot"
	case has("iPhone", "iPad", "iPod", "CFNetwork", "like Mac OS X"):
		return "ios"
	case has("Android"):
		return "android"
	case has("Windows"):
		return "windows"
	case has("Macintosh", "Mac OS X"):
		return "macos"
	case has("CrOS"):
		return "chromeos"
	case has("Linux", "X11"):
		return "linux"
	}
	return "other"
}

func TestUATableMatchesRules(t *testing.T) {
	seen := map[string]int{}
	for _, ua := range uaTable.items {
		if got := classifyUA(ua.ua); got != ua.osType {
			t.Errorf("UA %q is labelled %q but the rules say %q", ua.ua, ua.osType, got)
		}
		// A quote would end the combined format's UA field early.
		if strings.ContainsAny(ua.ua, "\"\\\n") {
			t.Errorf("UA %q contains a character nginx would escape", ua.ua)
		}
		seen[ua.osType]++
	}
	for _, bucket := range []string{"android", "ios", "windows", "macos", "linux", "chromeos", "bot", "other"} {
		if seen[bucket] == 0 {
			t.Errorf("no UA in bucket %q", bucket)
		}
	}
	if len(seen) != 8 {
		t.Errorf("buckets = %v, want exactly the eight rule buckets", seen)
	}
}

// The rules are order-sensitive; these pin the cases the table relies on.
func TestClassifyUARules(t *testing.T) {
	tests := []struct{ ua, want string }{
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)", "macos"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)", "ios"},
		{"Mozilla/5.0 (Linux; Android 10; K)", "android"},
		{"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) (compatible; Googlebot/2.1)", "bot"},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0)", "chromeos"},
		{"Mozilla/5.0 (X11; Linux x86_64)", "linux"},
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"},
		{"curl/8.5.0", "other"},
	}
	for _, tt := range tests {
		if got := classifyUA(tt.ua); got != tt.want {
			t.Errorf("classifyUA(%q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
}
