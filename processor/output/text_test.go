package output

import (
	"strings"
	"testing"
	"time"
)

func TestTextBytes(t *testing.T) {
	w := Window{OSType: "android", Start: 1565743788000, End: 1565743790000, Count: 1522}
	key, value := Text.Encode(w)
	if got, want := string(key), "android@1565743788000"; got != want {
		t.Errorf("key = %s, want %s", got, want)
	}
	if got, want := string(value), "1522"; got != want {
		t.Errorf("value = %s, want %s", got, want)
	}
}

func TestTextDecodeErrors(t *testing.T) {
	tests := []struct {
		name, key, value string
		window           time.Duration
		wantErr          string
	}{
		{"key without @", "ios", "5", time.Second, "no '@'"},
		{"key start overflows", "ios@9223372036854775808", "5", time.Second, "window start"},
		{"value empty", "ios@1000", "", time.Second, "value count"},
		{"value padded", "ios@1000", " 5", time.Second, "value count"},
		{"value trailing newline", "ios@1000", "5\n", time.Second, "value count"},
		{"value not integer", "ios@1000", "5.0", time.Second, "value count"},
		{"zero window", "ios@1000", "5", 0, "window size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Text.Decode([]byte(tt.key), []byte(tt.value), tt.window)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Decode error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
