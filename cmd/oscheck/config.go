package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/oscheck/oscheck/processor"
	"github.com/oscheck/oscheck/processor/output"
	"github.com/oscheck/oscheck/topology"
)

// defaultConfigFile is read when present and --config is not given.
const defaultConfigFile = "oscheck.yaml"

// serviceFlags declares every key of topology.Config. The same key works as
// a flag (--idle-timeout), an environment variable (OSCHECK_IDLE_TIMEOUT) and
// a config-file key (idle-timeout), in that order of precedence.
func serviceFlags(fs *pflag.FlagSet) {
	d := topology.DefaultConfig()
	fs.String("config", "", "config file (YAML); default ./"+defaultConfigFile+" when present")
	fs.String("brokers", strings.Join(d.Brokers, ","), "Kafka bootstrap brokers, comma-separated")
	fs.String("input", d.Input, "input topic of raw access-log records")
	fs.String("output", d.Output, "output topic of window counts")
	fs.String("group", d.Group, "consumer group; prefixes every topic the service owns")
	fs.String("late-topic", d.LateTopic, "topic for late records (empty: count them only)")
	fs.String("window", d.Window.String(), "tumbling window size")
	fs.String("grace", d.Grace.String(), "how long after a window's end (event time) records are still counted")
	fs.String("idle-timeout", d.IdleTimeout.String(), "close windows of a caught-up partition after this long without records")
	fs.String("max-event-skew", d.MaxEventSkew.String(), "dead-letter (reason future) a record whose event time is further ahead of the wall clock than this (0: off)")
	fs.String("time-source", string(d.TimeSource), "event time: log (the line's timestamp), record (Kafka timestamp) or wall")
	fs.String("emit", string(d.Emit), "final (one record per os and window) or update (each change)")
	fs.String("format", string(d.Format), "output format: kstreams (Kafka Streams' windowed serdes), json or text")
	fs.String("os-param", d.OSParam, "query parameter that carries the os_type")
	fs.String("buckets", "", "your own os_type buckets, tried before the built-in ones: name=Substring|Substring;name=... (a config file may give a list of {name, contains})")
	fs.Bool("builtin-buckets", d.BuiltinBuckets, "classify User-Agents your buckets do not match into android, ios, windows, macos, linux, chromeos, bot and other; false: into other")
	fs.String("offset-reset", d.OffsetReset, "where a new group starts: earliest or latest")
	fs.Int("replication-factor", d.ReplicationFactor, "replication of created topics (-1: broker default)")
	fs.Int("max-os-types", d.MaxOSTypes, "os_type values besides the buckets one input partition counts in one window, the first in offset order; later ones count as other (1 to 4096)")
	fs.Int("retain-finals", d.RetainFinals, "final windows each slot keeps for queries (at_least_once also keeps what a replay may emit again)")
	fs.String("client-id", d.ClientID, "Kafka client id")
	fs.String("instance-id", d.InstanceID, "static group membership id, unique per instance (e.g. the pod name); empty: dynamic")
	fs.Bool("hot-standby", d.HotStandby, "keep replicas of every window-table partition, for fast failover")
	fs.String("processing-guarantee", string(d.Guarantee), "exactly_once_v2 (output, state and offsets in Kafka transactions) or at_least_once")
	fs.String("commit-interval", d.CommitInterval.String(), "how often each stage commits (under exactly_once_v2: a transaction)")
	fs.String("shutdown-timeout", "30s", "on SIGTERM, exit non-zero if draining takes longer than this")
	fs.String("http-addr", ":9464", "address of /metrics, /healthz, /readyz and, unless query-addr says otherwise, the query API (empty: off)")
	fs.String("query-addr", "", "address of the query API (/windows, and /admin/ with --admin) apart from http-addr; empty: on http-addr")
	fs.Bool("admin", false, "serve goka's monitor and table browser under /admin/: no authentication, and their pages load jQuery, Bootstrap and d3 from public CDNs")
	fs.String("log-level", "info", "debug, info, warn or error")
	securityFlags(fs)
}

// settings reads flags, OSCHECK_* variables and the config file into one viper.
func settings(fs *pflag.FlagSet, args []string) (*viper.Viper, error) {
	v, err := flagsAndEnv(fs, args)
	if err != nil {
		return nil, err
	}
	path, explicit := v.GetString("config"), true
	if path == "" {
		path, explicit = defaultConfigFile, false
	}
	if _, err := os.Stat(path); err != nil {
		if explicit {
			return nil, &topology.KeyError{Key: "config", Reason: err.Error()}
		}
		return v, nil
	}
	file := viper.New()
	file.SetConfigFile(path)
	if err := file.ReadInConfig(); err != nil {
		return nil, &topology.KeyError{Key: "config", Reason: fmt.Sprintf("reading %s: %v", path, err)}
	}
	var unknown []error
	for _, k := range file.AllKeys() {
		if fs.Lookup(k) == nil || k == "config" {
			unknown = append(unknown, &topology.KeyError{Key: k, Reason: "unknown key in " + path})
		}
	}
	if len(unknown) > 0 {
		return nil, errors.Join(unknown...)
	}
	if err := v.MergeConfigMap(file.AllSettings()); err != nil {
		return nil, fmt.Errorf("merging %s: %w", path, err)
	}
	return v, nil
}

// brokerList splits the value of a "brokers" key: addresses separated by
// commas, blanks around them ignored.
func brokerList(s string) []string {
	var brokers []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	return brokers
}

// flagsAndEnv reads flags and OSCHECK_* variables into one viper.
func flagsAndEnv(fs *pflag.FlagSet, args []string) (*viper.Viper, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	v := viper.New()
	if err := v.BindPFlags(fs); err != nil {
		return nil, err
	}
	v.SetEnvPrefix("OSCHECK")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	return v, nil
}

// serviceConfig turns settings into a validated topology.Config; every error
// names its key.
func serviceConfig(v *viper.Viper) (topology.Config, error) {
	var errs []error
	duration := func(key string) time.Duration {
		s := v.GetString(key)
		d, err := time.ParseDuration(s)
		if err != nil {
			errs = append(errs, &topology.KeyError{Key: key, Reason: fmt.Sprintf("not a duration: %q", s)})
		}
		return d
	}
	integer := func(key string) int {
		s := v.GetString(key)
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil {
			errs = append(errs, &topology.KeyError{Key: key, Reason: fmt.Sprintf("not an integer: %q", s)})
		}
		return n
	}
	brokers := brokerList(v.GetString("brokers"))
	c := topology.Config{
		Brokers:           brokers,
		Input:             v.GetString("input"),
		Output:            v.GetString("output"),
		Group:             v.GetString("group"),
		LateTopic:         v.GetString("late-topic"),
		Window:            duration("window"),
		Grace:             duration("grace"),
		IdleTimeout:       duration("idle-timeout"),
		MaxEventSkew:      duration("max-event-skew"),
		TimeSource:        processor.TimeSource(v.GetString("time-source")),
		Emit:              processor.EmitMode(v.GetString("emit")),
		Format:            output.Format(v.GetString("format")),
		OSParam:           v.GetString("os-param"),
		OffsetReset:       v.GetString("offset-reset"),
		ReplicationFactor: integer("replication-factor"),
		RetainFinals:      integer("retain-finals"),
		MaxOSTypes:        integer("max-os-types"),
		ClientID:          v.GetString("client-id"),
		HotStandby:        v.GetBool("hot-standby"),
		InstanceID:        v.GetString("instance-id"),
		Guarantee:         topology.Guarantee(v.GetString("processing-guarantee")),
		CommitInterval:    duration("commit-interval"),
	}
	buckets, err := bucketsSetting(v)
	if err != nil {
		errs = append(errs, err)
	}
	c.Buckets, c.BuiltinBuckets = buckets, v.GetBool("builtin-buckets")
	if c.Security, err = securitySettings(v); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return c, errors.Join(errs...)
}

func newLogger(v *viper.Viper, w io.Writer) (*slog.Logger, error) {
	levels := []string{"debug", "info", "warn", "error"}
	s := v.GetString("log-level")
	if !slices.Contains(levels, s) {
		return nil, &topology.KeyError{Key: "log-level", Reason: fmt.Sprintf("unknown level %q (want one of %v)", s, levels)}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), nil
}
