package classify

import (
	"strings"
	"testing"
)

var harmonyOS = Bucket{Name: "harmonyos", Contains: []string{"HarmonyOS", "OpenHarmony"}}

const (
	huaweiUA    = "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00; HMSCore 6.11.0.302) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.0.312 Mobile Safari/537.36"
	arkWebUA    = "Mozilla/5.0 (Phone; OpenHarmony 4.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1 Mobile HuaweiBrowser/5.0.4.300"
	pixelUA     = "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0 Mobile Safari/537.36"
	chromeOSUA  = "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	googlebotUA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)

func TestUserBuckets(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		ua   string
		want string
	}{
		{"harmonyos before android", []Option{WithBuckets(harmonyOS)}, huaweiUA, "harmonyos"},
		{"second needle", []Option{WithBuckets(harmonyOS)}, arkWebUA, "harmonyos"},
		{"built-ins still apply", []Option{WithBuckets(harmonyOS)}, pixelUA, Android},
		{"built-in name reused", []Option{WithBuckets(Bucket{Name: Linux, Contains: []string{"CrOS"}})}, chromeOSUA, Linux},
		{"before the bot rule", []Option{WithBuckets(Bucket{Name: "google", Contains: []string{"Google"}})}, googlebotUA, "google"},
		{"first bucket wins, not first needle", []Option{WithBuckets(
			Bucket{Name: "late", Contains: []string{"Safari"}},
			Bucket{Name: "early", Contains: []string{"Mozilla"}})}, pixelUA, "late"},
		{"options append in order", []Option{
			WithBuckets(Bucket{Name: "a", Contains: []string{"Chrome"}}),
			WithBuckets(Bucket{Name: "b", Contains: []string{"Mozilla"}})}, pixelUA, "a"},
		{"case-sensitive", []Option{WithBuckets(Bucket{Name: "x", Contains: []string{"harmonyos"}})}, huaweiUA, Android},
		{"one-byte needle at the end", []Option{WithBuckets(Bucket{Name: "x", Contains: []string{"6"}}), WithoutBuiltins()}, "Pixel 6", "x"},
		{"without built-ins", []Option{WithBuckets(harmonyOS), WithoutBuiltins()}, pixelUA, Other},
		{"without built-ins, a bot is other", []Option{WithoutBuiltins()}, googlebotUA, Other},
		{"without built-ins, own bucket", []Option{WithBuckets(harmonyOS), WithoutBuiltins()}, huaweiUA, "harmonyos"},
		{"no buckets", []Option{WithBuckets()}, huaweiUA, Android},
	}
	for _, tt := range tests {
		if got := New(tt.opts...).OSType(nil, []byte(tt.ua)); got != tt.want {
			t.Errorf("%s: OSType(%q) = %q, want %q", tt.name, tt.ua, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Bucket{Name: "ok", Contains: []string{"x"}}
	tests := []struct {
		buckets []Bucket
		want    string // in the error; "" for none
	}{
		{nil, ""},
		{[]Bucket{ok, harmonyOS, {Name: Linux, Contains: []string{"CrOS"}}}, ""},
		{[]Bucket{ok, {Name: "", Contains: []string{"x"}}}, `bucket 1: empty name`},
		{[]Bucket{{Name: "harmony os", Contains: []string{"x"}}}, `bucket 0 "harmony os": name must be`},
		{[]Bucket{{Name: strings.Repeat("a", 33), Contains: []string{"x"}}}, `bucket 0 "aaaa`},
		{[]Bucket{{Name: "a", Contains: nil}}, `bucket 0 "a": no needles`},
		{[]Bucket{{Name: "a", Contains: []string{"x", ""}}}, `bucket 0 "a": needle 1 is empty`},
		{[]Bucket{ok, {Name: "b", Contains: []string{"y"}}, ok}, `bucket 2 "ok": duplicate name (also bucket 0)`},
	}
	for _, tt := range tests {
		err := Validate(tt.buckets)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Validate(%v) = %v, want nil", tt.buckets, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("Validate(%v) = %v, want an error containing %q", tt.buckets, err, tt.want)
		}
	}
}

func TestNewPanicsOnInvalidBuckets(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "needle 0 is empty") {
			t.Errorf("recovered %v, want a panic naming the empty needle", r)
		}
	}()
	New(WithBuckets(Bucket{Name: "a", Contains: []string{""}}))
}

func TestTablesAreShared(t *testing.T) {
	tables.Lock()
	clear(tables.m) // other tests may have filled it
	tables.Unlock()
	if New().rules != builtinTable || New(WithBuckets()).rules != builtinTable {
		t.Error("Classifiers without buckets do not share the built-in table")
	}
	a := New(WithBuckets(harmonyOS)).rules
	if b := New(WithBuckets(harmonyOS)).rules; a != b {
		t.Error("Classifiers from equal options do not share a table")
	}
	if b := New(WithBuckets(harmonyOS), WithoutBuiltins()).rules; a == b {
		t.Error("WithoutBuiltins shares the table of the built-ins")
	}
}

// The buckets are copied: a caller that reuses its slices changes nothing.
func TestWithBucketsCopies(t *testing.T) {
	b := []Bucket{{Name: "harmonyos", Contains: []string{"HarmonyOS"}}}
	opt := WithBuckets(b...)
	b[0].Contains[0] = "Pixel"
	if got := New(opt).OSType(nil, []byte(pixelUA)); got != Android {
		t.Errorf("after the caller changed its needle: %q, want %q", got, Android)
	}
}
