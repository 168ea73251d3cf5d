package decode

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

const layout = "02/Jan/2006:15:04:05 -0700"

func TestParseTimestamp(t *testing.T) {
	valid := []string{
		"13/Aug/2019:03:46:54 +0800",
		"01/Jan/1970:00:00:00 +0000",
		"01/Jan/1970:00:00:00 +0100", // before the epoch in UTC
		"31/Dec/9999:23:59:59 -2359",
		"29/Feb/2000:12:00:00 +0000", // divisible by 400: leap
		"29/Feb/2024:12:00:00 -0530",
		"31/Jan/2021:00:00:00 +0000",
		"30/Apr/2021:00:00:00 +0000",
		"31/May/2021:00:00:00 +0000",
		"31/Dec/2016:23:59:59 +1400",
		"01/mAR/2021:00:00:00 +0000",
	}
	for _, s := range valid {
		got, ok := parseTimestamp([]byte(s))
		if !ok || got != ms(s) {
			t.Errorf("parseTimestamp(%q) = %d, %v; want %d, true", s, got, ok, ms(s))
		}
	}
	invalid := []string{
		"",
		"13/Aug/2019:03:46:54",
		"13/Aug/2019:03:46:54 +08000",
		"13/Aug/2019:03:46:54 +080",
		"13/Aug/2019 03:46:54 +0800",
		"13-Aug-2019:03:46:54 +0800",
		"00/Aug/2019:03:46:54 +0800",
		"32/Aug/2019:03:46:54 +0800",
		"31/Apr/2019:03:46:54 +0800",
		"31/Jun/2019:03:46:54 +0800",
		"31/Sep/2019:03:46:54 +0800",
		"31/Nov/2019:03:46:54 +0800",
		"29/Feb/2019:03:46:54 +0800",
		"29/Feb/1900:03:46:54 +0800", // divisible by 100, not 400: no leap
		"29/Feb/2100:03:46:54 +0800",
		"13/Agu/2019:03:46:54 +0800",
		"13/8/2019:03:46:54 +0800..",
		"13/Aug/1969:23:59:59 +0000",
		"13/Aug/2019:24:00:00 +0800",
		"13/Aug/2019:03:60:54 +0800",
		"13/Aug/2019:03:46:60 +0800",
		"13/Aug/2019:03:46:54 +2400",
		"13/Aug/2019:03:46:54 +0860",
		"13/Aug/2019:03:46:54 0800 ",
		"13/Aug/2019:03:46:54 *0800",
		"1a/Aug/2019:03:46:54 +0800",
		"13/Aug/20x9:03:46:54 +0800",
		"13/Aug/2019:-3:46:54 +0800",
		"13/Aug/2019:03:46:54 +08-0",
		"13/\x00ug/2019:03:46:54 +0800",
	}
	for _, s := range invalid {
		if got, ok := parseTimestamp([]byte(s)); ok {
			t.Errorf("parseTimestamp(%q) = %d, true; want false", s, got)
		}
	}
}

// Every day of a long span, at random times and zones, must agree with
// time.Parse: this covers month lengths and leap years without listing them.
func TestParseTimestampAgreesWithTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2400, 12, 31, 0, 0, 0, 0, time.UTC)
	for day := start; !day.After(end); day = day.AddDate(0, 0, 1) {
		zone := time.FixedZone("", (rng.IntN(2*24*60-1)-(24*60-1))*60)
		tm := time.Date(day.Year(), day.Month(), day.Day(), rng.IntN(24), rng.IntN(60), rng.IntN(60), 0, zone)
		s := tm.Format(layout)
		got, ok := parseTimestamp([]byte(s))
		if !ok || got != tm.UnixMilli() {
			t.Fatalf("parseTimestamp(%q) = %d, %v; want %d", s, got, ok, tm.UnixMilli())
		}
	}
}

func FuzzParseTimestamp(f *testing.F) {
	f.Add("13/Aug/2019:03:46:54 +0800")
	f.Add("29/Feb/2000:12:00:00 -0530")
	f.Add("31/Dec/9999:23:59:59 -2359")
	f.Add("01/Jan/1970:00:00:00 +0000")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTimestamp([]byte(s))
		tm, err := time.Parse(layout, s)
		if ok {
			if err != nil || got != tm.UnixMilli() {
				t.Fatalf("parseTimestamp(%q) = %d; time.Parse = %v, %v", s, got, tm, err)
			}
			return
		}
		// time.Parse is more lenient about layout (one-digit hours, runs
		// of spaces), so only its canonical inputs must be accepted.
		if err != nil || !strings.EqualFold(tm.Format(layout), s) || tm.Year() < minYear || tm.Year() > maxYear {
			return
		}
		if zh, zm := digits2(s[22], s[23]), digits2(s[24], s[25]); zh > 23 || zm > 59 {
			return
		}
		t.Fatalf("parseTimestamp(%q) rejected what time.Parse accepts: %v", s, tm)
	})
}
