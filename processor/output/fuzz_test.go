package output

import (
	"testing"
	"time"
)

// FuzzDecode checks that Decode never panics, and that whatever it accepts
// is a window it can write back and read again unchanged.
func FuzzDecode(f *testing.F) {
	for _, format := range []Format{KStreams, JSON, Text} {
		for _, w := range []Window{
			{"android", 1565743788000, 1565743790000, 1522},
			{"a@b", -2000, 0, 0},
			{"", 0, 2000, 7},
		} {
			key, value := format.Encode(w)
			f.Add(string(format), key, value, int64(2*time.Second))
		}
	}
	f.Add("json", []byte("x@1"), []byte(`{"os_type":"x","window_start":1,"window_end":0,"count":1}`), int64(0))
	f.Add("text", []byte("@"), []byte("-"), int64(-1))
	f.Add("kstreams", []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, make([]byte, 8), int64(time.Millisecond))

	f.Fuzz(func(t *testing.T, format string, key, value []byte, window int64) {
		fm := Format(format)
		w, err := fm.Decode(key, value, time.Duration(window))
		if err != nil {
			return
		}
		if w.End <= w.Start {
			t.Fatalf("Decode accepted %+v with End <= Start", w)
		}
		// An os_type that is not valid UTF-8 could not survive the json
		// value, but Decode rejects it there because the raw key then
		// disagrees with the value, so every accepted window must round-trip.
		key2, value2 := fm.Encode(w)
		w2, err := fm.Decode(key2, value2, time.Duration(w.End-w.Start)*time.Millisecond)
		if err != nil {
			t.Fatalf("re-Decode of %+v: %v", w, err)
		}
		if w2 != w {
			t.Fatalf("re-Decode = %+v, want %+v", w2, w)
		}
	})
}
