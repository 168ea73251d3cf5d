package output

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseFormat(t *testing.T) {
	for _, f := range []Format{KStreams, JSON, Text} {
		got, err := ParseFormat(string(f))
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q, nil", f, got, err, f)
		}
	}
	for _, s := range []string{"", "JSON", " json", "avro"} {
		_, err := ParseFormat(s)
		if err == nil {
			t.Errorf("ParseFormat(%q) succeeded, want error", s)
			continue
		}
		for _, name := range []string{"kstreams", "json", "text", strconv.Quote(s)} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("ParseFormat(%q) error %q does not mention %s", s, err, name)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	const window = 2 * time.Second
	osTypes := []string{
		"android", "ios", "harmonyos", "other",
		"",        // empty: legal in every format
		"a@b",     // '@' inside the os must not split the key
		"@",       // only the separator
		"a@1@2",   // looks like a start itself
		"鸿蒙",      // multi-byte UTF-8
		"🤖 os",    // 4-byte rune and a space
		"q\"\\\n", // JSON specials
		"<&>",     // HTML specials that encoding/json escapes
	}
	starts := []int64{0, 1565743788000, -4000, maxInt64 - int64(window/time.Millisecond)}
	counts := []int64{0, 1, 1522, -1, maxInt64}
	for _, f := range []Format{KStreams, JSON, Text} {
		for _, osType := range osTypes {
			for _, start := range starts {
				for _, count := range counts {
					w := Window{OSType: osType, Start: start, End: start + window.Milliseconds(), Count: count}
					key, value := f.Encode(w)
					got, err := f.Decode(key, value, window)
					if err != nil {
						t.Fatalf("%s: Decode(Encode(%+v)): %v (key %q, value %q)", f, w, err, key, value)
					}
					if got != w {
						t.Fatalf("%s: Decode(Encode(%+v)) = %+v", f, w, got)
					}
				}
			}
		}
	}
}

func TestDecodeUnknownFormat(t *testing.T) {
	_, err := Format("avro").Decode([]byte("k"), []byte("v"), time.Second)
	if err == nil || !strings.Contains(err.Error(), "avro") {
		t.Fatalf("Decode with unknown format: err = %v, want one naming it", err)
	}
}

func TestEncodeUnknownFormatPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Encode with unknown format did not panic")
		}
	}()
	Format("avro").Encode(Window{})
}

// Callers need to tell a bad record from a bad configuration, so the cause
// must stay reachable through the wrapping.
func TestDecodeWrapsCause(t *testing.T) {
	_, err := Text.Decode([]byte("ios@1000"), []byte("x"), time.Second)
	if !errors.Is(err, strconv.ErrSyntax) {
		t.Fatalf("err = %v, want it to wrap strconv.ErrSyntax", err)
	}
	if !strings.HasPrefix(err.Error(), "decode text record: ") {
		t.Errorf("err = %q, want it to name the format", err)
	}
}
