package output

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// The expected bytes are computed by hand, not by the code under test:
//
//	"android" in UTF-8 = 61 6e 64 72 6f 69 64
//	1565743788000 = 364*2^32 + 2375692256
//	             364 = 0x0000016c (high 32 bits)
//	      2375692256 = 0x8d9a2fe0 (low 32 bits)
//	  so the start   = 00 00 01 6c 8d 9a 2f e0
//	1522 = 5*256 + 242 = 0x05f2
//	  so the count   = 00 00 00 00 00 00 05 f2
func TestKStreamsBytes(t *testing.T) {
	w := Window{OSType: "android", Start: 1565743788000, End: 1565743790000, Count: 1522}
	wantKey := mustHex(t, "616e64726f6964"+"0000016c8d9a2fe0")
	wantValue := mustHex(t, "00000000000005f2")

	key, value := KStreams.Encode(w)
	if !bytes.Equal(key, wantKey) {
		t.Errorf("key = % x, want % x", key, wantKey)
	}
	if !bytes.Equal(value, wantValue) {
		t.Errorf("value = % x, want % x", value, wantValue)
	}

	got, err := KStreams.Decode(wantKey, wantValue, 2*time.Second)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got != w {
		t.Errorf("Decode = %+v, want %+v", got, w)
	}
}

// Java longs are signed; negative values must survive as two's complement.
func TestKStreamsNegative(t *testing.T) {
	w := Window{OSType: "ios", Start: -2000, End: -1000, Count: -1}
	key, value := KStreams.Encode(w)
	if want := mustHex(t, "696f73"+"fffffffffffff830"); !bytes.Equal(key, want) {
		t.Errorf("key = % x, want % x", key, want)
	}
	if want := mustHex(t, "ffffffffffffffff"); !bytes.Equal(value, want) {
		t.Errorf("value = % x, want % x", value, want)
	}
}

func TestKStreamsDecodeErrors(t *testing.T) {
	okKey := mustHex(t, "616e64726f6964"+"0000016c8d9a2fe0")
	okValue := mustHex(t, "00000000000005f2")
	tests := []struct {
		name       string
		key, value []byte
		window     time.Duration
		wantErr    string
	}{
		{"empty key", nil, okValue, time.Second, "key is 0 bytes"},
		{"short key", okKey[:7], okValue, time.Second, "key is 7 bytes"},
		{"short value", okKey, okValue[:7], time.Second, "value is 7 bytes"},
		{"long value", okKey, append(okValue, 0), time.Second, "value is 9 bytes"},
		{"zero window", okKey, okValue, 0, "window size"},
		{"negative window", okKey, okValue, -time.Second, "window size"},
		{"sub-millisecond window", okKey, okValue, time.Microsecond, "window size"},
		{"fractional-millisecond window", okKey, okValue, 1500 * time.Microsecond, "window size"},
		{"end overflows", mustHex(t, "7fffffffffffffff"), okValue, time.Millisecond, "overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := KStreams.Decode(tt.key, tt.value, tt.window)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Decode error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
