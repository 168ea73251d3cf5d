package output

import (
	"strings"
	"testing"
	"time"
)

func TestJSONBytes(t *testing.T) {
	w := Window{OSType: "android", Start: 1565743788000, End: 1565743790000, Count: 1522}
	key, value := JSON.Encode(w)
	if got, want := string(key), "android@1565743788000"; got != want {
		t.Errorf("key = %s, want %s", got, want)
	}
	want := `{"os_type":"android","window_start":1565743788000,"window_end":1565743790000,"count":1522}`
	if string(value) != want {
		t.Errorf("value = %s, want %s", value, want)
	}
}

func TestJSONEscapesOSType(t *testing.T) {
	w := Window{OSType: "a\"b\\c\nd", Start: 1, End: 2, Count: 3}
	_, value := JSON.Encode(w)
	want := `{"os_type":"a\"b\\c\nd","window_start":1,"window_end":2,"count":3}`
	if string(value) != want {
		t.Errorf("value = %s, want %s", value, want)
	}
}

func TestJSONDecodeErrors(t *testing.T) {
	const okValue = `{"os_type":"ios","window_start":1000,"window_end":2000,"count":5}`
	tests := []struct {
		name, key, value, wantErr string
	}{
		{"key without @", "ios1000", okValue, "no '@'"},
		{"key start not a number", "ios@x", okValue, "window start"},
		{"key start empty", "ios@", okValue, "window start"},
		{"value not json", "ios@1000", "5", "value"},
		{"value empty", "ios@1000", "", "value"},
		{"value trailing data", "ios@1000", okValue + "{}", "trailing"},
		{"value trailing bracket", "ios@1000", okValue + "]", "trailing"},
		{"value unknown field", "ios@1000", `{"os_type":"ios","window_start":1000,"window_end":2000,"count":5,"x":1}`, "unknown field"},
		{"value missing count", "ios@1000", `{"os_type":"ios","window_start":1000,"window_end":2000}`, "want all of"},
		{"value count not integer", "ios@1000", `{"os_type":"ios","window_start":1000,"window_end":2000,"count":1.5}`, "value"},
		{"os disagrees", "android@1000", okValue, "disagrees"},
		{"start disagrees", "ios@999", okValue, "disagrees"},
		{"end not after start", "ios@1000", `{"os_type":"ios","window_start":1000,"window_end":1000,"count":5}`, "not after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := JSON.Decode([]byte(tt.key), []byte(tt.value), time.Second)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Decode error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// The json value carries its own end, so a mismatched window size must not
// change the decoded window.
func TestJSONIgnoresWindowSize(t *testing.T) {
	w := Window{OSType: "ios", Start: 1000, End: 61000, Count: 5}
	key, value := JSON.Encode(w)
	got, err := JSON.Decode(key, value, 0)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got != w {
		t.Errorf("Decode = %+v, want %+v", got, w)
	}
}
