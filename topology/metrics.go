package topology

import (
	"strconv"

	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus"
)

// stage is one processor group of the service, for the metrics and the
// readiness check that look at both.
type stage struct {
	name string // "parse" or "window"
	proc *goka.Processor
	gate *gate
	open func() int
}

func (s *Service) stages() []stage {
	return []stage{
		{"parse", s.parse, s.gate, s.parser.OpenWindows},
		{"window", s.window, s.windowGate, s.windower.OpenWindows},
	}
}

// processorStates names goka's processor states.
var processorStates = map[goka.State]string{
	goka.ProcStateIdle:     "idle",
	goka.ProcStateStarting: "starting",
	goka.ProcStateSetup:    "setup",
	goka.ProcStateRunning:  "running",
	goka.ProcStateStopping: "stopping",
	goka.ProcStateStopped:  "stopped",
}

// collector reports, at scrape time, what the stages know: nothing on the
// record path pays for these metrics.
type collector struct {
	s                                                 *Service
	lag, rebalances, owned, open, procState, brokerUp *prometheus.Desc
	latestRecords, latestStart, stateBytes            *prometheus.Desc
}

func newCollector(s *Service) *collector {
	stageLabel := []string{"stage"}
	return &collector{
		s: s,
		lag: prometheus.NewDesc("oscheck_consumer_lag_offsets",
			"Offsets between a stage's position and the partition's high-water mark, per owned partition.",
			[]string{"stage", "topic", "partition"}, nil),
		rebalances: prometheus.NewDesc("oscheck_rebalances_total",
			"Consumer-group sessions a stage has begun: one per rebalance it took part in.", stageLabel, nil),
		owned: prometheus.NewDesc("oscheck_owned_partitions",
			"Partitions assigned to a stage in its current consumer-group session.", stageLabel, nil),
		open: prometheus.NewDesc("oscheck_open_windows",
			"Windows not final yet: in memory per owned input partition (parse), or in the slots the window stage has written since its last rebalance (window).",
			stageLabel, nil),
		procState: prometheus.NewDesc("oscheck_processor_state",
			"1 for the goka processor state a stage is in, 0 for the others.", []string{"stage", "state"}, nil),
		brokerUp: prometheus.NewDesc("oscheck_broker_up",
			"Whether a bootstrap broker answered the last probe (every 5 s).", nil, nil),
		latestRecords: prometheus.NewDesc("oscheck_latest_window_records",
			"Records per os_type in the newest final window of the window table (the same on every instance).",
			[]string{"os_type"}, nil),
		latestStart: prometheus.NewDesc("oscheck_latest_window_start_timestamp_seconds",
			"Start of the newest final window of the window table.", nil, nil),
		stateBytes: prometheus.NewDesc("oscheck_state_bytes",
			"Bytes of state values held for the partitions a stage owns: the window table's slots and parts (window-table).",
			[]string{"store"}, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.lag, c.rebalances, c.owned, c.open, c.procState, c.brokerUp, c.latestRecords, c.latestStart, c.stateBytes} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.s.stages() {
		lags := st.gate.lags()
		for _, l := range lags {
			ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(l.lag),
				st.name, l.topic, strconv.Itoa(int(l.partition)))
		}
		ch <- prometheus.MustNewConstMetric(c.owned, prometheus.GaugeValue, float64(st.gate.owned.Load()), st.name)
		ch <- prometheus.MustNewConstMetric(c.rebalances, prometheus.CounterValue, float64(st.gate.sessions.Load()), st.name)
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(st.open()), st.name)
		current := st.proc.StateReader().State()
		for state, name := range processorStates {
			v := 0.0
			if state == current {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.procState, prometheus.GaugeValue, v, st.name, name)
		}
	}
	up := 0.0
	if c.s.probe.Last() == nil {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.brokerUp, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(c.stateBytes, prometheus.GaugeValue, float64(c.s.tables.bytes()), "window-table")

	if f, ok := c.s.latestFinal(); ok {
		byLabel := make(map[string]int64, len(f.Counts))
		for os, n := range f.Counts {
			byLabel[c.s.metrics.OSLabel(os)] += n
		}
		for label, n := range byLabel {
			ch <- prometheus.MustNewConstMetric(c.latestRecords, prometheus.GaugeValue, float64(n), label)
		}
		ch <- prometheus.MustNewConstMetric(c.latestStart, prometheus.GaugeValue, float64(f.Start)/1000)
	}
}
