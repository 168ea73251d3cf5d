package processor

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the counters both stages keep. Counters count effects as they
// happen: after a crash, replayed records are counted again.
type Metrics struct {
	RecordsConsumed  prometheus.Counter
	RecordsMalformed *prometheus.CounterVec
	RecordsLate      prometheus.Counter
	ReportsSent      prometheus.Counter
	WindowsEmitted   *prometheus.CounterVec
	EmitLatency      prometheus.Histogram
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		RecordsConsumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oscheck_records_consumed_total",
			Help: "Access-log records read from the input topic.",
		}),
		RecordsMalformed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oscheck_records_malformed_total",
			Help: "Input records that could not be decoded and went to the dead-letter topic, by reason.",
		}, []string{"reason"}),
		RecordsLate: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oscheck_records_late_total",
			Help: "Input records whose window had already closed; they are not counted.",
		}),
		ReportsSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oscheck_reports_sent_total",
			Help: "Per-partition window reports sent from the parse stage to the window stage.",
		}),
		WindowsEmitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oscheck_windows_emitted_total",
			Help: "Window count records written to the output topic, by os_type.",
		}, []string{"os_type"}),
		EmitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "oscheck_window_emit_latency_seconds",
			Help:    "Wall-clock time from a window's end to the emit of its final count.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
	}
	reg.MustRegister(m.RecordsConsumed, m.RecordsMalformed, m.RecordsLate, m.ReportsSent, m.WindowsEmitted, m.EmitLatency)
	return m
}
