package decode

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestUnescapeMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`""`,
		`"plain"`,
		`"\" \\ \/ \b \f \n \r \t"`,
		`"\u0041\u00e9\u4e2d"`,
		`"\ud83d\ude00"`,         // surrogate pair
		`"\ud83d"`,               // lone high surrogate
		`"\ude00\ud83d"`,         // pair in the wrong order
		`"\ud83d\u0041"`,         // high surrogate then a non-surrogate
		`"\ud83dx"`,              // high surrogate then plain text
		`"a\ud83d\ud83d\ude00b"`, // lone high, then a full pair
		`"\uDBFF\uDFFF"`,         // largest code point, upper-case hex
		`"é \\u0041"`,
	} {
		var buf []byte
		end, got, err := scanString([]byte(s), 0, &buf)
		if err != "" || end != len(s) {
			t.Errorf("scanString(%s) = %d, %q; want %d, no error", s, end, err, len(s))
			continue
		}
		var want string
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatal(err)
		}
		if got.escaped != strings.Contains(s, `\`) {
			t.Errorf("scanString(%s) escaped = %v", s, got.escaped)
		}
		if string(got.content) != want {
			t.Errorf("scanString(%s) content = %q, want %q", s, got.content, want)
		}
		if got.text && firstNonText(got.content) >= 0 {
			t.Errorf("scanString(%s) claims text for %q", s, got.content)
		}
	}
}

// The scanner must accept exactly what encoding/json accepts, except for
// nesting beyond maxDepth.
func TestSkipValueMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`{}`, `[]`, `""`, `0`, `-0`, `-0.5e-3`, `1E+9`, `true`, `false`, `null`,
		`{"a":[1,{"b":"}"}],"c":{"d":[]}}`,
		` { "a" : [ 1 , 2 ] } `,
		`{"a":1,}`, `[1,]`, `{"a"}`, `{"a":}`, `{,}`, `[,1]`, `{"a":1 "b":2}`,
		`01`, `1.`, `.5`, `-`, `1e`, `1e+`, `+1`, `0x1`,
		`tru`, `nul`, `True`,
		`"abc`, `"\q"`, `"\u12"`, "\"\t\"", `"\`,
		`{"a":1}}`, `[1]]`, `{"a":[}`, `[{]`,
		`{1:2}`, `{'a':1}`,
	} {
		want := json.Valid([]byte(s))
		data := []byte(strings.TrimSpace(s))
		end, err := skipValue(data, 0, 0)
		got := err == "" && end == len(data)
		if got != want {
			t.Errorf("skipValue(%s): valid = %v (end %d, err %q), encoding/json says %v", s, got, end, err, want)
		}
	}
}

// The masks' lowest flagged byte must be the first byte that really
// matches, whatever the other bytes are (borrows and carries included).
func TestSWARMasks(t *testing.T) {
	masks := []struct {
		name  string
		mask  func(uint64) uint64
		match func(byte) bool
	}{
		{"lessMask(0x20)", func(w uint64) uint64 { return lessMask(w, 0x20) }, func(c byte) bool { return c < 0x20 }},
		{"stringStopMask", stringStopMask, func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 }},
		{"atLeast7FMask", atLeast7FMask, func(c byte) bool { return c >= 0x7F }},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	interesting := []byte{0, 1, 0x1f, 0x20, 0x21, '"', '#', '\\', 0x7e, 0x7f, 0x80, 0xfe, 0xff}
	for _, m := range masks {
		for n := 0; n < 200000; n++ {
			var word [8]byte
			for k := range word {
				if rng.IntN(3) == 0 {
					word[k] = interesting[rng.IntN(len(interesting))]
				} else {
					word[k] = byte(rng.IntN(256))
				}
			}
			want := -1
			for k, c := range word {
				if m.match(c) {
					want = k
					break
				}
			}
			got := -1
			if mask := m.mask(load64(word[:])); mask != 0 {
				got = firstFlagged(mask)
			}
			if got != want {
				t.Fatalf("%s on %q: first flagged byte %d, want %d", m.name, word, got, want)
			}
		}
	}
}

func TestFirstNonText(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"", -1},
		{"plain ASCII line that is longer than eight bytes", -1},
		{"tab\tis text", -1},
		{"UTF-8: é 中 😀 in a longer line", -1},
		{"\x00", 0},
		{"0123456789\x01", 10},
		{"0123456789\x7f", 10},
		{"0123456789\xff", 10},
		{"01234567é\xc3", 10},   // truncated sequence at the end
		{"0123\xed\xa0\x80", 4}, // UTF-8-encoded surrogate
		{"0123456\n89", 7},
	}
	for _, tt := range tests {
		if got := firstNonText([]byte(tt.s)); got != tt.want {
			t.Errorf("firstNonText(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}
