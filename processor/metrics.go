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
	// RecordsLateJoined counts the records of an input partition added
	// while the service ran whose windows were final before the window
	// stage learned of the partition (state.Output.Late).
	RecordsLateJoined prometheus.Counter
	RecordsFolded     prometheus.Counter
	ReportsSent       prometheus.Counter
	RecordsCounted    *prometheus.CounterVec
	WindowsEmitted    *prometheus.CounterVec
	EmitLatency       prometheus.Histogram
	Transactions      *prometheus.CounterVec
	StateValueBytes   *prometheus.HistogramVec

	labels osLabels
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
		RecordsLateJoined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oscheck_records_late_joined_total",
			Help: "Records of an input partition added while oscheck ran, in windows final before the window stage learned of the partition; they are not counted.",
		}),
		RecordsFolded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oscheck_records_folded_total",
			Help: "Input records counted as other because their window already had max-os-types other os_type values from their partition.",
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
		EmitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "oscheck_window_emit_latency_seconds",
			Help: "Wall-clock time from a window's end to the emit of its final count.",
			// Each bucket 25% wider than the one before, from 50 ms to
			// 60 s: a latency sits near the grace (1 s by default) plus a
			// little, and buckets that doubled put every observation of a
			// run into one (1.6-3.2 s), where a quantile is only a guess.
			Buckets: prometheus.ExponentialBucketsRange(0.05, 60, 33),
		}),
		Transactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oscheck_transactions_total",
			Help: "Kafka transactions a stage ended under exactly_once_v2, by result: committed or aborted.",
		}, []string{"stage", "result"}),
	}
	m.StateValueBytes = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "oscheck_state_value_bytes",
		Help: "Size of each state value written: a window-table slot, or a parse-stage partition's checkpoint.",
		// Up to the producer's 1 MB limit, a value over which cannot be written.
		Buckets: prometheus.ExponentialBuckets(256, 4, 8),
	}, []string{"store"})
	reg.MustRegister(m.StateValueBytes)
	reg.MustRegister(m.RecordsConsumed, m.RecordsDecoded, m.RecordsMalformed, m.RecordsLate, m.RecordsLateJoined, m.RecordsFolded, m.ReportsSent,
		m.RecordsCounted, m.WindowsEmitted, m.EmitLatency, m.Transactions)
	return m
}

// Transaction returns what counts stage's transactions as they end.
func (m *Metrics) Transaction(stage string) func(committed bool) {
	committed, aborted := m.Transactions.WithLabelValues(stage, "committed"), m.Transactions.WithLabelValues(stage, "aborted")
	return func(ok bool) {
		if ok {
			committed.Inc()
		} else {
			aborted.Inc()
		}
	}
}

// final records a window that became final with its counts per os_type.
func (m *Metrics) final(counts map[string]int64) {
	for os, n := range counts {
		m.RecordsCounted.WithLabelValues(m.OSLabel(os)).Add(float64(n))
	}
}

// MaxOSLabels bounds the os_type label values of the metrics: an os_type may
// come from a request parameter, so a scanner can send any number of them,
// and every value would be a series of its own, kept for ever. The first
// MaxOSLabels values seen are labels; the rest count under OverflowOSLabel.
// The output topic and the query API keep every value.
const MaxOSLabels = 64

// OverflowOSLabel is the os_type label of values past MaxOSLabels. No
// os_type can be it: parentheses are not in any (classify.IsOSType).
const OverflowOSLabel = "(overflow)"

// OSLabel returns the os_type label to count os under.
func (m *Metrics) OSLabel(os string) string {
	return m.labels.label(os)
}

type osLabels struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (l *osLabels) label(os string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[os] {
		return os
	}
	if len(l.seen) >= MaxOSLabels {
		return OverflowOSLabel
	}
	if l.seen == nil {
		l.seen = make(map[string]bool)
	}
	l.seen[os] = true
	return os
}
