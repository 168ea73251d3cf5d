package classify

import "testing"

// The remembered bucket is the scan's, also once entries are evicted: the
// corpus holds far more User-Agents than recent does, and is classified
// twice in a row by one Classifier.
func TestRecentIsExact(t *testing.T) {
	c := New()
	for range 2 {
		for _, r := range loadCorpus(t) {
			if got, want := c.OSType(nil, []byte(r.ua)), c.rules.bucket([]byte(r.ua)); got != want {
				t.Fatalf("OSType(%q) = %q, the scan says %q", r.ua, got, want)
			}
		}
	}
	// Same length, other bytes.
	a, b := []byte("Mozilla/5.0 (Linux; Android 13)"), []byte("Mozilla/5.0 (Linux; Andr0id 13)")
	if c.OSType(nil, a) != Android || c.OSType(nil, b) != Linux {
		t.Errorf("OSType(%q), OSType(%q) = %q, %q", a, b, c.OSType(nil, a), c.OSType(nil, b))
	}
}
