package traffic

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The standard library's formatter is the oracle for the hand-written one.
func TestAppendTimestampMatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(tm time.Time) {
		t.Helper()
		got := string(appendTimestamp(nil, tm))
		want := tm.In(logZone).Format("[02/Jan/2006:15:04:05 -0700]")
		if got != want {
			t.Fatalf("appendTimestamp(%v) = %s, want %s", tm, got, want)
		}
	}
	check(time.Date(5, 1, 2, 3, 4, 5, 0, logZone)) // year needs zero padding
	check(time.Date(999, 12, 31, 23, 59, 59, 0, logZone))
	check(time.Date(9999, 12, 31, 23, 59, 59, 0, logZone))
	for i := 0; i < 10000; i++ {
		// Years 1970 to about 2100, at nanosecond resolution.
		check(time.Unix(0, r.Int64N(4_100_000_000*int64(time.Second))))
	}
}
