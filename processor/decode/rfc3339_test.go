package decode

import (
	"math/rand/v2"
	"regexp"
	"testing"
	"time"
)

func TestParseRFC3339(t *testing.T) {
	valid := []string{
		"2019-08-13T03:46:54+08:00", // nginx's $time_iso8601
		"2019-08-12T19:46:54+00:00", // nginx's UTC
		"2019-08-12T19:46:54Z",
		"2019-08-12T19:46:54-00:00",
		"2019-08-12T19:46:54.1Z",
		"2019-08-12T19:46:54.12+05:30",
		"2019-08-12T19:46:54.123-03:00",
		"2019-08-12T19:46:54.123999999999Z", // truncated, not rounded
		"1970-01-01T00:00:00+01:00",         // before the epoch in UTC
		"9999-12-31T23:59:59.999-23:59",
		"2000-02-29T00:00:00Z",
		"2024-02-29T23:59:59+14:00",
	}
	for _, s := range valid {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := parseRFC3339([]byte(s)); !ok || got != tm.UnixMilli() {
			t.Errorf("parseRFC3339(%q) = %d, %v; want %d, true", s, got, ok, tm.UnixMilli())
		}
	}
	invalid := []string{
		"",
		"2019-08-13T03:46:54",        // no zone
		"2019-08-13T03:46:54+0800",   // zone without colon
		"2019-08-13T03:46:54+08",     // zone without minutes
		"2019-08-13 03:46:54+08:00",  // space for T
		"2019-08-13t03:46:54z",       // lower case, which Go rejects too
		"2019-08-13T03:46:54.Z",      // '.' without digits
		"2019-08-13T03:46:54,5Z",     // comma fraction
		"2019-08-13T03:46:54ZZ",      // trailing byte
		"2019-08-13T03:46:54+08:00 ", // trailing space
		"2019-8-13T03:46:54Z",
		"1969-12-31T23:59:59Z",
		"2019-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z",
		"2019-04-31T00:00:00Z",
		"2019-13-01T00:00:00Z",
		"2019-00-01T00:00:00Z",
		"2019-01-00T00:00:00Z",
		"2019-08-13T24:00:00Z",
		"2019-08-13T03:60:54Z",
		"2019-08-13T03:46:60Z", // leap second
		"2019-08-13T03:46:54+24:00",
		"2019-08-13T03:46:54+08:60",
		"2019-08-13T03:46:54*08:00",
		"2019-08-13T03:46:54+0a:00",
		"2x19-08-13T03:46:54Z",
		"20-19-08-13T03:46:54Z",
		"13/Aug/2019:03:46:54 +0800",
	}
	for _, s := range invalid {
		if got, ok := parseRFC3339([]byte(s)); ok {
			t.Errorf("parseRFC3339(%q) = %d, true; want false", s, got)
		}
	}
}

// Every day of a long span, at random times, fractions and zones, must
// agree with time.Parse.
func TestParseRFC3339AgreesWithTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	layouts := []string{time.RFC3339, time.RFC3339Nano, "2006-01-02T15:04:05.000-07:00", "2006-01-02T15:04:05.0Z07:00"}
	start := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2400, 12, 31, 0, 0, 0, 0, time.UTC)
	for day := start; !day.After(end); day = day.AddDate(0, 0, 1) {
		zone := time.FixedZone("", (rng.IntN(2*24*60-1)-(24*60-1))*60)
		if rng.IntN(4) == 0 {
			zone = time.UTC // formatted as "Z"
		}
		tm := time.Date(day.Year(), day.Month(), day.Day(), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1e9), zone)
		s := tm.Format(layouts[rng.IntN(len(layouts))])
		want, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := parseRFC3339([]byte(s)); !ok || got != want.UnixMilli() {
			t.Fatalf("parseRFC3339(%q) = %d, %v; want %d", s, got, ok, want.UnixMilli())
		}
	}
}

// rfc3339Form is the syntax parseRFC3339 accepts, as a regular expression.
var rfc3339Form = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)

func FuzzParseRFC3339(f *testing.F) {
	f.Add("2019-08-13T03:46:54+08:00")
	f.Add("2019-08-12T19:46:54.123456Z")
	f.Add("9999-12-31T23:59:59.999-23:59")
	f.Add("1970-01-01T00:00:00+01:00")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseRFC3339([]byte(s))
		tm, err := time.Parse(time.RFC3339, s)
		if ok {
			if err != nil || got != tm.UnixMilli() || !rfc3339Form.MatchString(s) {
				t.Fatalf("parseRFC3339(%q) = %d; time.Parse = %v (%d), %v", s, got, tm, tm.UnixMilli(), err)
			}
			return
		}
		// time.Parse is more lenient (',' fractions, zone hour 24), so only
		// the syntax parseRFC3339 implements must be accepted.
		if err != nil || !rfc3339Form.MatchString(s) || tm.Year() < minYear || tm.Year() > maxYear {
			return
		}
		if z := s[len(s)-6:]; s[len(s)-1] != 'Z' && (digits2(z[1], z[2]) > 23 || digits2(z[4], z[5]) > 59) {
			return
		}
		t.Fatalf("parseRFC3339(%q) rejected what time.Parse accepts: %v", s, tm)
	})
}
