package decode

import (
	"math/big"
	"regexp"
	"testing"
)

func TestParseMsec(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want int64
	}{
		{"1565639214.123", 1565639214123}, // nginx's $msec
		{"1565639214.1", 1565639214100},
		{"1565639214.12", 1565639214120},
		{"1565639214.123999", 1565639214123}, // truncated, not rounded
		{"1565639214", 1565639214000},
		{"0.000", 0},
		{"0", 0},
		{"253402300799.999", 253402300799999}, // the last millisecond of 9999
	} {
		if got, ok := parseMsec([]byte(tt.s)); !ok || got != tt.want {
			t.Errorf("parseMsec(%q) = %d, %v; want %d, true", tt.s, got, ok, tt.want)
		}
	}
	for _, s := range []string{
		"", ".", ".123", "1565639214.", "-1565639214.123", "+1565639214.123", "1.565639214123e9",
		"1565639214.123 ", " 1565639214.123", "1565639214,123", "0x5d51f5ae", "253402300800",
		"99999999999999999999999999.000", "1565639214.12a",
	} {
		if got, ok := parseMsec([]byte(s)); ok {
			t.Errorf("parseMsec(%q) = %d, true; want false", s, got)
		}
	}
}

// msecForm is the syntax parseMsec accepts, as a regular expression.
var msecForm = regexp.MustCompile(`^\d+(\.\d+)?$`)

// math/big reads the same decimal exactly, as an independent oracle.
func FuzzParseMsec(f *testing.F) {
	f.Add("1565639214.123")
	f.Add("253402300799.9999")
	f.Add("0")
	f.Add("1e9")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseMsec([]byte(s))
		if !msecForm.MatchString(s) {
			if ok {
				t.Fatalf("parseMsec(%q) = %d, accepting what is not digits[.digits]", s, got)
			}
			return
		}
		r, _ := new(big.Rat).SetString(s)
		r.Mul(r, big.NewRat(1000, 1))
		want := new(big.Int).Quo(r.Num(), r.Denom()) // floor: r >= 0
		inRange := want.Cmp(big.NewInt(maxUnixSeconds*1000+999)) <= 0
		if ok != inRange || ok && got != want.Int64() {
			t.Fatalf("parseMsec(%q) = %d, %v; want %v, %v", s, got, ok, want, inRange)
		}
	})
}
