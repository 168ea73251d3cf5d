package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/oscheck/oscheck/cmd/oscheck/internal/ship"
	"github.com/oscheck/oscheck/cmd/oscheck/internal/tail"
	"github.com/oscheck/oscheck/topology"
)

func shipFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("oscheck ship", pflag.ContinueOnError)
	fs.String("file", "", "access log to follow (required), e.g. /var/log/nginx/access.log")
	fs.String("brokers", "localhost:9092", "Kafka bootstrap brokers, comma-separated")
	fs.String("topic", topology.DefaultConfig().Input, "topic to ship lines to")
	fs.String("id", "", "shipper ID: Kafka transactional ID and position group (default: from host name and file path)")
	fs.Int("batch-lines", 5000, "most lines per transaction")
	fs.String("compression", "lz4", "batch compression: none, gzip, snappy, lz4 or zstd")
	fs.Bool("from-end", false, "with no stored position, start at the end of the file instead of its beginning")
	fs.String("poll-interval", "100ms", "how often the file is checked for new lines and rotation")
	fs.String("report-every", "10s", "how often progress is logged (0: never)")
	fs.String("http-addr", "", "address of /metrics and /healthz (empty: off)")
	fs.String("log-level", "info", "debug, info, warn or error")
	securityFlags(fs)
	return fs
}

// runShip follows an access log into Kafka; see package ship for its
// guarantees.
func runShip(ctx context.Context, args []string, stderr io.Writer) error {
	fs := shipFlags()
	fs.SetOutput(stderr)
	v, err := flagsAndEnv(fs, args)
	if err != nil {
		return err
	}
	log, err := newLogger(v, stderr)
	if err != nil {
		return err
	}
	cfg, report, err := shipConfig(v)
	if err != nil {
		return err
	}
	sec, err := validSecurity(v, log)
	if err != nil {
		return err
	}
	if err := sec.Apply(cfg.Sarama); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	progress := newShipProgress(reg)
	cfg.Committed = progress.add
	cfg.Log = log
	if addr := v.GetString("http-addr"); addr != "" {
		stop, err := serveHTTP(addr, reg, func(context.Context) string { return "" }, log, nil)
		if err != nil {
			return err
		}
		defer stop()
	}
	if report > 0 {
		go progress.log(ctx, log, report)
	}
	log.Info("shipping", "file", cfg.File, "brokers", cfg.Brokers, "topic", cfg.Topic, "id", cfg.ID,
		"batch_lines", cfg.BatchLines, "compression", cfg.Compression, "security", sec)
	err = ship.Run(ctx, cfg)
	log.Info("stopped", "lines_shipped", progress.lines.Load(), "error", err)
	return err
}

// shipConfig turns settings into a ship.Config; every error names its key.
func shipConfig(v *viper.Viper) (ship.Config, time.Duration, error) {
	var cfg ship.Config
	cfg.File = v.GetString("file")
	if cfg.File == "" {
		return cfg, 0, &topology.KeyError{Key: "file", Reason: "required: the access log to follow"}
	}
	abs, err := filepath.Abs(cfg.File)
	if err != nil {
		return cfg, 0, &topology.KeyError{Key: "file", Reason: err.Error()}
	}
	cfg.File = abs
	if cfg.Brokers = brokerList(v.GetString("brokers")); len(cfg.Brokers) == 0 {
		return cfg, 0, &topology.KeyError{Key: "brokers", Reason: "no broker given"}
	}
	if cfg.Topic = v.GetString("topic"); cfg.Topic == "" {
		return cfg, 0, &topology.KeyError{Key: "topic", Reason: "empty"}
	}
	if cfg.ID = v.GetString("id"); cfg.ID == "" {
		cfg.ID = defaultShipperID(abs)
	}
	if cfg.BatchLines = v.GetInt("batch-lines"); cfg.BatchLines < 1 {
		return cfg, 0, &topology.KeyError{Key: "batch-lines", Reason: fmt.Sprintf("must be at least 1, not %q", v.GetString("batch-lines"))}
	}
	if err := cfg.Compression.UnmarshalText([]byte(v.GetString("compression"))); err != nil {
		return cfg, 0, &topology.KeyError{Key: "compression", Reason: err.Error()}
	}
	cfg.FromEnd = v.GetBool("from-end")
	poll, err := time.ParseDuration(v.GetString("poll-interval"))
	if err != nil || poll <= 0 {
		return cfg, 0, &topology.KeyError{Key: "poll-interval", Reason: fmt.Sprintf("not a positive duration: %q", v.GetString("poll-interval"))}
	}
	cfg.Tail = []tail.Option{tail.WithPollInterval(poll)}
	report, err := time.ParseDuration(v.GetString("report-every"))
	if err != nil || report < 0 {
		return cfg, 0, &topology.KeyError{Key: "report-every", Reason: fmt.Sprintf("not a duration >= 0: %q", v.GetString("report-every"))}
	}
	cfg.Sarama = sarama.NewConfig()
	cfg.Sarama.ClientID = "oscheck-ship"
	return cfg, report, nil
}

// defaultShipperID is stable for one file on one host, and differs between
// files and hosts, so that a restarted shipper finds its position and two
// shippers never fence each other by accident.
func defaultShipperID(absPath string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	sum := sha256.Sum256([]byte(absPath))
	return "oscheck-ship-" + host + "-" + hex.EncodeToString(sum[:4])
}

// shipProgress counts what was shipped, for /metrics and the progress log.
type shipProgress struct {
	lines        atomic.Int64
	file         atomic.Pointer[tail.Stats] // as of the last committed batch
	linesTotal   prometheus.Counter
	bytesTotal   prometheus.Counter
	transactions prometheus.Counter
	lifetime     prometheus.Gauge
}

func newShipProgress(reg prometheus.Registerer) *shipProgress {
	p := &shipProgress{
		linesTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oscheck_ship_lines_total", Help: "Lines shipped and committed by this process."}),
		bytesTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oscheck_ship_bytes_total", Help: "Bytes of lines shipped and committed by this process, without newlines."}),
		transactions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oscheck_ship_transactions_total", Help: "Kafka transactions committed, one per batch of lines."}),
		lifetime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "oscheck_ship_committed_lines", Help: "Lines committed under this shipper ID over all its runs."}),
	}
	reg.MustRegister(p.linesTotal, p.bytesTotal, p.transactions, p.lifetime)
	p.file.Store(&tail.Stats{})
	for _, c := range []struct {
		name, help string
		value      func(tail.Stats) uint64
	}{
		{"oscheck_ship_rotations_total", "Log files finished because the path came to name another file.", func(s tail.Stats) uint64 { return s.Rotations }},
		{"oscheck_ship_truncations_total", "Times the log was found truncated (copytruncate) and read again from its start.", func(s tail.Stats) uint64 { return s.Truncations }},
		{"oscheck_ship_files_lost_total", "Stored positions whose file was gone at start: its unread lines were lost.", func(s tail.Stats) uint64 { return s.FilesLost }},
		{"oscheck_ship_long_lines_total", "Lines longer than the line limit, shipped cut.", func(s tail.Stats) uint64 { return s.LongLines }},
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
			func() float64 { return float64(c.value(*p.file.Load())) }))
	}
	return p
}

func (p *shipProgress) add(b ship.Batch) {
	p.lines.Add(int64(b.Lines))
	p.linesTotal.Add(float64(b.Lines))
	p.bytesTotal.Add(float64(b.Bytes))
	p.transactions.Inc()
	p.lifetime.Set(float64(b.Total))
	p.file.Store(&b.File)
}

// log reports lines shipped every interval until ctx is done.
func (p *shipProgress) log(ctx context.Context, log *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := p.lines.Load()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n := p.lines.Load()
			log.Info("shipped", "lines", n, "lines_per_second", float64(n-last)/every.Seconds())
			last = n
		}
	}
}
