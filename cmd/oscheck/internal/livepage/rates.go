package livepage

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The metrics the page reads; their names are oscheck's (processor/metrics.go,
// topology/metrics.go).
const (
	metricConsumed  = "oscheck_records_consumed_total"
	metricLate      = "oscheck_records_late_total"
	metricMalformed = "oscheck_records_malformed_total"
	metricLag       = "oscheck_consumer_lag_offsets"
)

// rateSpan is how far back the rates and the catch-up pace look: long enough
// to smooth commit-interval steps, short enough to follow a change.
const rateSpan = 10 * time.Second

// behindRecords is the input lag under which the service counts as caught
// up: a few commit intervals' worth at any real rate; a tenth of it for one
// partition (a transactional partition's lag is at least 1, its commit
// marker).
const behindRecords = 1000

type sample struct {
	at                        time.Time
	consumed, late, malformed float64
	lag                       int64
}

// rates keeps the samples of the last rateSpan, and the peak lag of each
// partition since it last caught up, for the progress bars.
type rates struct {
	samples   []sample
	peak      map[string]int64 // by stage/topic/partition
	totalPeak int64
}

func newRates() *rates { return &rates{peak: make(map[string]int64)} }

// reset forgets everything: a new instance starts its counters at zero.
func (r *rates) reset() {
	r.samples = r.samples[:0]
	clear(r.peak)
	r.totalPeak = 0
}

// observe gathers the metrics once, adds a sample, and fills lag in.
func (r *rates) observe(now time.Time, g prometheus.Gatherer, lag *Lag) error {
	families, err := g.Gather()
	if err != nil && len(families) == 0 {
		return fmt.Errorf("gathering metrics: %w", err)
	}
	// Samples older than rateSpan (no page was open, no script asked)
	// would stretch the rates and the catch-up pace over the gap, and a
	// peak from then may belong to a backlog long caught up.
	if n := len(r.samples); n > 0 && now.Sub(r.samples[n-1].at) > rateSpan {
		r.reset()
	}
	s := sample{at: now}
	lag.Partitions = []PartitionLag{}
	for _, f := range families {
		switch f.GetName() {
		case metricConsumed:
			for _, m := range f.GetMetric() {
				s.consumed += m.GetCounter().GetValue()
			}
		case metricLate:
			for _, m := range f.GetMetric() {
				s.late += m.GetCounter().GetValue()
			}
		case metricMalformed:
			for _, m := range f.GetMetric() {
				s.malformed += m.GetCounter().GetValue()
			}
		case metricLag:
			for _, m := range f.GetMetric() {
				p := PartitionLag{Lag: int64(m.GetGauge().GetValue())}
				for _, l := range m.GetLabel() {
					switch l.GetName() {
					case "stage":
						p.Stage = l.GetValue()
					case "topic":
						p.Topic = l.GetValue()
					case "partition":
						n, _ := strconv.ParseInt(l.GetValue(), 10, 32)
						p.Partition = int32(n)
					}
				}
				lag.Partitions = append(lag.Partitions, p)
			}
		}
	}
	// The input (parse stage) first, then the repartition topic.
	slices.SortFunc(lag.Partitions, func(a, b PartitionLag) int {
		return cmp.Or(strings.Compare(a.Stage, b.Stage), strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	for i := range lag.Partitions {
		p := &lag.Partitions[i]
		key := p.Stage + "/" + p.Topic + "/" + itoa(p.Partition)
		p.Progress = progress(p.Lag, r.peak, key)
		p.Behind = p.Lag > behindRecords/10
		if p.Stage == "parse" {
			s.lag += p.Lag
		}
	}
	// A counter that went down belongs to a new instance.
	if n := len(r.samples); n > 0 && s.consumed < r.samples[n-1].consumed {
		r.reset()
	}
	r.samples = append(r.samples, s)
	for len(r.samples) > 2 && now.Sub(r.samples[1].at) >= rateSpan {
		r.samples = r.samples[1:]
	}

	lag.Total = s.lag
	lag.Behind = s.lag > behindRecords
	if !lag.Behind {
		r.totalPeak = 0
		lag.Progress, lag.ETASeconds = 1, 0
		return nil
	}
	r.totalPeak = max(r.totalPeak, s.lag)
	lag.Progress = 1 - float64(s.lag)/float64(r.totalPeak)
	lag.ETASeconds = -1
	if first := r.samples[0]; len(r.samples) > 1 && first.lag > s.lag {
		pace := float64(first.lag-s.lag) / now.Sub(first.at).Seconds() // records a second the backlog shrinks by
		lag.ETASeconds = float64(s.lag) / pace
	}
	return nil
}

// progress is 1 - lag/peak, where peak is the partition's largest lag since
// it was last caught up.
func progress(lag int64, peaks map[string]int64, key string) float64 {
	if lag <= 0 {
		delete(peaks, key)
		return 1
	}
	peak := max(peaks[key], lag)
	peaks[key] = peak
	return 1 - float64(lag)/float64(peak)
}

// current is the rates over the samples kept, and the latest totals.
func (r *rates) current() Rates {
	n := len(r.samples)
	if n == 0 {
		return Rates{}
	}
	last := r.samples[n-1]
	out := Rates{ConsumedTotal: last.consumed, LateTotal: last.late, MalformedTotal: last.malformed}
	if n > 1 {
		first := r.samples[0]
		if dt := last.at.Sub(first.at).Seconds(); dt > 0 {
			out.Span = dt
			out.Consumed = (last.consumed - first.consumed) / dt
			out.Late = (last.late - first.late) / dt
			out.Malformed = (last.malformed - first.malformed) / dt
		}
	}
	return out
}
