package classify

import (
	"slices"
	"strings"
	"testing"
)

// referenceBucket is what table.bucket must return, written the slow and
// obvious way from the same rules, on the User-Agent's first maxUALen
// bytes: every needle searched for at every
// position, its check run with a view of its own (so nothing it remembers
// is used again), the user's buckets, then the bot decision, then the
// platform rules, each in order.
func referenceBucket(cfg config, ua string) string {
	ua = ua[:min(len(ua), maxUALen)]
	found := func(n needle) bool {
		for i := 0; i+len(n.text) <= len(ua); i++ {
			s := ua[i : i+len(n.text)]
			// Folded needles are ASCII, so EqualFold folds ASCII only.
			if (s == n.text || n.fold && strings.EqualFold(s, n.text)) &&
				(&view{ua: []byte(ua)}).passes(n.check, i, i+len(n.text)) {
				return true
			}
		}
		return false
	}
	for _, b := range cfg.buckets {
		for _, n := range b.Contains {
			if found(needle{text: n}) {
				return b.Name
			}
		}
	}
	if cfg.noBuiltins {
		return Other
	}
	var sigs signal
	for _, s := range botSignals {
		for _, n := range s.needles {
			if found(n) {
				sigs |= s.sig
			}
		}
	}
	if isBot(sigs) {
		return Bot
	}
	for _, r := range osRules {
		for _, n := range r.needles {
			if found(n) {
				return r.os
			}
		}
	}
	return Other
}

func TestReferenceOnHandTable(t *testing.T) {
	for _, tt := range userAgents {
		if got := referenceBucket(config{}, tt.ua); got != tt.want {
			t.Errorf("referenceBucket(%q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
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
	f.Add([]byte(nil), []byte(strings.Repeat("é", 99)+"bot")) // the 100th character, 198 bytes in
	f.Add([]byte(nil), []byte(strings.Repeat("é", 101)+"bot"))
	f.Add([]byte(nil), []byte("x\nbot"))
	f.Add([]byte(nil), []byte("Win")) // a three-byte needle is the whole User-Agent
	// The app agents' checks: a version's dots match any byte, a window
	// ends, a needle must end the User-Agent.
	f.Add([]byte(nil), []byte("Mac OS X \n 1x2x3"))
	f.Add([]byte(nil), []byte("Mac OS X Version 12345"))
	f.Add([]byte(nil), []byte("x Darwin/9\n1 (Power Macintosh)"))
	f.Add([]byte(nil), []byte("JUC;U;Android1.1;U; 2.3"))
	f.Add([]byte(nil), []byte("aarch64 1.1.1 Chrome CitrixChromeApp"))
	f.Add([]byte(nil), []byte("iPhone OS 9_3 Outlook-iOS-Android/1.0"))
	f.Add([]byte(nil), []byte("Box;Darwin/10.13 Boto3/ android\tmobile/8"))
	c := New()
	buckets := BucketNames()
	f.Fuzz(func(t *testing.T, param, ua []byte) {
		got := c.OSType(param, ua)
		if got == "" {
			t.Fatalf("OSType(%q, %q) is empty", param, ua)
		}
		if isSaneParam(param) {
			if got != string(param) && got != Other {
				t.Errorf("OSType(%q, %q) = %q, want the param or %q", param, ua, got, Other)
			}
		} else if !slices.Contains(buckets, got) {
			t.Errorf("OSType(%q, %q) = %q, not a bucket", param, ua, got)
		} else if want := referenceBucket(config{}, string(ua)); got != want {
			t.Errorf("OSType(%q, %q) = %q, want the UA bucket %q", param, ua, got, want)
		}
		if len(c.interned) > maxInterned {
			t.Fatalf("intern table grew to %d", len(c.interned))
		}
	})
}

// FuzzUserBuckets checks random buckets against the reference. spec holds
// one bucket a line, "name|needle|needle..."; buckets that Validate rejects
// must make New panic.
func FuzzUserBuckets(f *testing.F) {
	f.Add("harmonyos|HarmonyOS|OpenHarmony", false, []byte(huaweiUA))
	f.Add("linux|CrOS", false, []byte(chromeOSUA))
	f.Add("a|x\nb|Mozilla\nc|6", true, []byte(pixelUA))
	f.Add("x|\xff|é", false, []byte("\xff"))
	f.Add("dup|a\ndup|b", false, []byte("ab"))
	f.Add("e|", false, []byte("ab"))
	f.Add("0|00", false, []byte("00")) // a two-byte needle ending the User-Agent
	f.Fuzz(func(t *testing.T, spec string, noBuiltins bool, ua []byte) {
		var buckets []Bucket
		for _, line := range strings.Split(spec, "\n") {
			fields := strings.Split(line, "|")
			buckets = append(buckets, Bucket{Name: fields[0], Contains: fields[1:]})
		}
		opts := []Option{WithBuckets(buckets...)}
		if noBuiltins {
			opts = append(opts, WithoutBuiltins())
		}
		if err := Validate(buckets); err != nil {
			defer func() {
				if recover() == nil {
					t.Errorf("New accepted buckets that Validate rejects: %v", err)
				}
			}()
			New(opts...)
			return
		}
		got := New(opts...).OSType(nil, ua)
		if !slices.Contains(BucketNames(opts...), got) {
			t.Errorf("buckets %q: OSType(%q) = %q, not a bucket", buckets, ua, got)
		}
		if want := referenceBucket(config{buckets: buckets, noBuiltins: noBuiltins}, string(ua)); got != want {
			t.Errorf("buckets %q, builtins %t: OSType(%q) = %q, want %q", buckets, !noBuiltins, ua, got, want)
		}
	})
}
