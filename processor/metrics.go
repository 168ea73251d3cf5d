package processor

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the counters both stages keep. Counters count effects as they
// happen: after a crash, replayed records are counted again.
type Metrics struct {
	RecordsConsumed  prometheus.Counter
	RecordsDecoded   prometheus.Counter
	RecordsMalformed *prometheus.CounterVec
	RecordsLate      prometheus.Counter
	ReportsSent      prometheus.Counter
	RecordsCounted   *prometheus.CounterVec
	WindowsEmitted   *prometheus.CounterVec
	LatestWindow     *prometheus.GaugeVec
	EmitLatency      prometheus.Histogram

	latest latestWindows
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		RecordsConsumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oscheck_records_consumed_total",
			Help: "Access-log records read from the input topic.",
		}),
		RecordsDecoded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oscheck_records_decoded_total",
			Help: "Input records decoded into a request with an event time: counted, or late.",
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
		RecordsCounted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oscheck_records_counted_total",
			Help: "Input records counted in the final windows this instance completed, by os_type.",
		}, []string{"os_type"}),
		WindowsEmitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oscheck_windows_emitted_total",
			Help: "Window count records written to the output topic, by os_type.",
		}, []string{"os_type"}),
		LatestWindow: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "oscheck_latest_window_records",
			Help: "Records in the latest final window this instance completed, by os_type.",
		}, []string{"os_type"}),
		EmitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "oscheck_window_emit_latency_seconds",
			Help:    "Wall-clock time from a window's end to the emit of its final count.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
	}
	reg.MustRegister(m.RecordsConsumed, m.RecordsDecoded, m.RecordsMalformed, m.RecordsLate, m.ReportsSent,
		m.RecordsCounted, m.WindowsEmitted, m.LatestWindow, m.EmitLatency)
	return m
}

// final records a window that became final with its counts per os_type.
// Finals of different slots complete out of order, so the latest-window
// gauge moves only to a window at least as new as the one it shows.
func (m *Metrics) final(start int64, counts map[string]int64) {
	m.latest.mu.Lock()
	defer m.latest.mu.Unlock()
	if m.latest.start == nil {
		m.latest.start = make(map[string]int64)
	}
	for os, n := range counts {
		m.RecordsCounted.WithLabelValues(os).Add(float64(n))
		if last, ok := m.latest.start[os]; !ok || start >= last {
			m.latest.start[os] = start
			m.LatestWindow.WithLabelValues(os).Set(float64(n))
		}
	}
}

// latestWindows is the window start each os_type's gauge shows.
type latestWindows struct {
	mu    sync.Mutex
	start map[string]int64
}
