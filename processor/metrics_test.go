package processor

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestOSLabelsBounded: a flood of distinct os_type values makes at most
// MaxOSLabels+1 series, and loses no count.
func TestOSLabelsBounded(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	for i := range 1000 {
		m.final(map[string]int64{fmt.Sprintf("junk%d", i): 2, "android": 1})
	}
	if n := testutil.CollectAndCount(m.RecordsCounted); n != MaxOSLabels+1 {
		t.Errorf("%d series for 1001 os_types, want %d", n, MaxOSLabels+1)
	}
	if got := testutil.ToFloat64(m.RecordsCounted.WithLabelValues("android")); got != 1000 {
		t.Errorf("android counted %v, want 1000", got)
	}
	var total float64
	for _, os := range []string{OverflowOSLabel, "android"} {
		total += testutil.ToFloat64(m.RecordsCounted.WithLabelValues(os))
	}
	for i := range 1000 {
		if l := m.OSLabel(fmt.Sprintf("junk%d", i)); l != OverflowOSLabel {
			total += testutil.ToFloat64(m.RecordsCounted.WithLabelValues(l))
		}
	}
	if total != 3000 {
		t.Errorf("%v records counted over all labels, want 3000", total)
	}
}
