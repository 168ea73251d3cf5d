package main

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/processor"
)

// TestEmitLatencyBuckets checks that the emit-latency histogram can tell
// latencies apart where they fall (around the grace, 1 s by default, up to
// a rebalance's tens of seconds): each bucket at most 25% wider than the
// one before, so a quantile is off by no more than that.
func TestEmitLatencyBuckets(t *testing.T) {
	m := processor.NewMetrics(prometheus.NewRegistry())
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.EmitLatency)
	got, err := reg.Gather()
	if err != nil || len(got) != 1 {
		t.Fatalf("gather: %v", err)
	}
	var bounds []float64
	for _, b := range got[0].GetMetric()[0].GetHistogram().GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	if len(bounds) == 0 || bounds[0] > 0.1 || bounds[len(bounds)-1] < 30 {
		t.Fatalf("buckets %v: want bounds from 0.1 s or less to 30 s or more", bounds)
	}
	for i := 1; i < len(bounds); i++ {
		if bounds[i] > 0.1 && bounds[i-1] < 30 && bounds[i] > 1.25*bounds[i-1]+1e-9 {
			t.Errorf("bucket %v follows %v: more than 25%% wider, latencies between them are not told apart", bounds[i], bounds[i-1])
		}
	}
}
