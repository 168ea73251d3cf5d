package topology

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/oscheck/oscheck/processor"
	"github.com/oscheck/oscheck/processor/classify"
	"github.com/oscheck/oscheck/processor/output"
	"github.com/oscheck/oscheck/state"
	"github.com/oscheck/oscheck/topology/cluster"
)

// Config is everything the service needs. The configuration keys (flags,
// OSCHECK_* variables, oscheck.yaml) carry the same names, see cmd/oscheck.
type Config struct {
	Brokers     []string
	Input       string
	Output      string
	Group       string
	LateTopic   string
	Window      time.Duration
	Grace       time.Duration
	IdleTimeout time.Duration
	// MaxEventSkew is how far ahead of the wall clock an event time may be;
	// a record further ahead is dead-lettered (reason future). 0: any.
	MaxEventSkew time.Duration
	TimeSource   processor.TimeSource
	Emit         processor.EmitMode
	Format       output.Format
	OSParam      string
	// Buckets are the user's own os_type buckets, tried in order before
	// the built-in ones; BuiltinBuckets false leaves only them (and other).
	Buckets        []classify.Bucket
	BuiltinBuckets bool
	// MaxOSTypes bounds the os_type values besides the buckets that one
	// input partition counts in one window: the first MaxOSTypes in offset
	// order; the records of later ones count as other. 0: no bound.
	MaxOSTypes int
	// OffsetReset is where a group without a committed offset starts:
	// "earliest" (Kafka Streams' default) or "latest".
	OffsetReset string
	// ReplicationFactor for the topics the service creates; -1 takes the
	// broker's default.
	ReplicationFactor int
	// RetainFinals is how many final windows each slot keeps for queries;
	// under at_least_once a slot also keeps every final a replay may emit
	// again.
	RetainFinals int
	ClientID     string
	// InstanceID, when set, makes this instance a static member of both
	// consumer groups (Kafka's group.instance.id): restarted with the same
	// id, it takes its old place at once instead of waiting out its previous
	// session and rebalancing everyone. It must be unique per instance.
	InstanceID string
	// HotStandby keeps a replica of every partition of the window table, so
	// a partition that moves here serves without first restoring it.
	HotStandby bool
	// Security is how every client authenticates to and encrypts its
	// connections with the brokers.
	Security cluster.Security
	// Guarantee is what each stage promises of its effects across crashes,
	// rebalances and network faults (Kafka Streams' processing.guarantee).
	Guarantee Guarantee
	// ProcessID tells this instance's transactional producers from other
	// instances' when InstanceID is empty, as Kafka Streams' process id
	// does. It is not a configuration key: `oscheck run` picks a random one
	// and keeps it across in-process restarts, so that a restarted stage
	// fences what its predecessor left open. New picks one if it is empty.
	ProcessID string
	// CommitInterval is how often each stage commits what it has done:
	// under exactly_once_v2 a transaction, so also how long its output
	// waits before read_committed readers see it.
	CommitInterval time.Duration
}

// Guarantee is a processing guarantee, named as Kafka Streams names them.
type Guarantee string

const (
	// ExactlyOnceV2 runs each stage as consume-process-produce in Kafka
	// transactions: its output, its state changes and its input offsets
	// commit together or not at all (KIP-447's exactly_once_v2).
	ExactlyOnceV2 Guarantee = "exactly_once_v2"
	// AtLeastOnce commits input offsets only past records whose effects
	// are acknowledged; after a crash they are read again, and what they
	// emitted may be emitted again, identical.
	AtLeastOnce Guarantee = "at_least_once"
)

// Transactional reports whether g runs stages in Kafka transactions.
func (g Guarantee) Transactional() bool { return g == ExactlyOnceV2 }

// classifyOptions configures the classifier of every input partition.
func (c Config) classifyOptions() []classify.Option {
	opts := []classify.Option{classify.WithBuckets(c.Buckets...)}
	if !c.BuiltinBuckets {
		opts = append(opts, classify.WithoutBuiltins())
	}
	return opts
}

// DefaultConfig returns the defaults of every key.
func DefaultConfig() Config {
	return Config{
		Brokers:           []string{"localhost:9092"},
		Input:             "access_log",
		Output:            "os-check",
		Group:             "os-check-streams",
		Window:            2 * time.Second,
		Grace:             time.Second,
		IdleTimeout:       5 * time.Second,
		MaxEventSkew:      15 * time.Minute,
		TimeSource:        processor.TimeFromLog,
		Emit:              processor.EmitFinal,
		Format:            output.KStreams,
		OSParam:           "os_type",
		BuiltinBuckets:    true,
		MaxOSTypes:        16,
		OffsetReset:       "earliest",
		ReplicationFactor: -1,
		RetainFinals:      64,
		ClientID:          "oscheck",
		Guarantee:         ExactlyOnceV2,
		CommitInterval:    100 * time.Millisecond,
	}
}

// LogValue is every setting, by its key, for the start-up log; the
// password shows as [redacted].
func (c Config) LogValue() slog.Value {
	buckets := make([]string, len(c.Buckets))
	for i, b := range c.Buckets {
		buckets[i] = fmt.Sprintf("%s=%s", b.Name, strings.Join(b.Contains, "|"))
	}
	return slog.GroupValue(
		slog.Any("brokers", c.Brokers), slog.String("input", c.Input), slog.String("output", c.Output),
		slog.String("group", c.Group), slog.String("late-topic", c.LateTopic), slog.Duration("window", c.Window),
		slog.Duration("grace", c.Grace), slog.Duration("idle-timeout", c.IdleTimeout),
		slog.Duration("max-event-skew", c.MaxEventSkew),
		slog.String("time-source", string(c.TimeSource)), slog.String("emit", string(c.Emit)),
		slog.String("format", string(c.Format)), slog.String("os-param", c.OSParam),
		slog.String("buckets", strings.Join(buckets, ";")), slog.Bool("builtin-buckets", c.BuiltinBuckets),
		slog.Int("max-os-types", c.MaxOSTypes),
		slog.String("offset-reset", c.OffsetReset), slog.Int("replication-factor", c.ReplicationFactor),
		slog.Int("retain-finals", c.RetainFinals), slog.String("client-id", c.ClientID),
		slog.String("instance-id", c.InstanceID), slog.Bool("hot-standby", c.HotStandby),
		slog.String("processing-guarantee", string(c.Guarantee)), slog.Duration("commit-interval", c.CommitInterval),
		slog.Any("security", c.Security))
}

// KeyError is an invalid configuration value, named by its key: the error
// of every setting oscheck reads. It is defined with the cluster's
// connection errors, most of which name a key, and is the same type.
type KeyError = cluster.KeyError

// Validate reports every invalid value, each naming its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &KeyError{Key: key, Reason: fmt.Sprintf(format, args...)})
	}
	if len(c.Brokers) == 0 {
		bad("brokers", "at least one broker address is required")
	}
	for _, b := range c.Brokers {
		if b == "" {
			bad("brokers", "empty broker address")
		}
	}
	if err := classify.Validate(c.Buckets); err != nil {
		bad("buckets", "%v", err)
	}
	for _, kv := range [][2]string{{"input", c.Input}, {"output", c.Output}, {"group", c.Group}, {"os-param", c.OSParam}} {
		if kv[1] == "" {
			bad(kv[0], "must not be empty")
		}
	}
	if c.Window <= 0 || c.Window%time.Millisecond != 0 {
		bad("window", "must be a positive whole number of milliseconds, got %v", c.Window)
	}
	if c.Grace < 0 {
		bad("grace", "must not be negative, got %v", c.Grace)
	}
	if c.IdleTimeout <= 0 {
		bad("idle-timeout", "must be positive, got %v", c.IdleTimeout)
	}
	if c.MaxEventSkew < 0 {
		bad("max-event-skew", "must not be negative (0 turns the check off), got %v", c.MaxEventSkew)
	}
	if _, err := processor.ParseTimeSource(string(c.TimeSource)); err != nil {
		bad("time-source", "%v", err)
	}
	switch c.Guarantee {
	case ExactlyOnceV2:
	case AtLeastOnce:
		if c.TimeSource == processor.TimeFromWall {
			// A record read again after a crash gets a new time, so its
			// window may differ from the one it was counted in before:
			// counted twice. Only a transaction makes the first reading
			// the one that counts.
			bad("time-source", "wall is not replay-safe under processing-guarantee at_least_once: "+
				"records read again after a crash would be counted in new windows; use log or record, "+
				"or processing-guarantee exactly_once_v2")
		}
	default:
		bad("processing-guarantee", "unknown value %q (want %s or %s)", c.Guarantee, ExactlyOnceV2, AtLeastOnce)
	}
	if c.CommitInterval <= 0 {
		bad("commit-interval", "must be positive, got %v", c.CommitInterval)
	}
	if _, err := processor.ParseEmitMode(string(c.Emit)); err != nil {
		bad("emit", "%v", err)
	}
	if _, err := output.ParseFormat(string(c.Format)); err != nil {
		bad("format", "%v", err)
	}
	if c.OffsetReset != "earliest" && c.OffsetReset != "latest" {
		bad("offset-reset", "unknown value %q (want earliest or latest)", c.OffsetReset)
	}
	if c.ReplicationFactor == 0 || c.ReplicationFactor < -1 {
		bad("replication-factor", "must be -1 (broker default) or positive, got %d", c.ReplicationFactor)
	}
	if c.MaxOSTypes < 1 || c.MaxOSTypes > state.MaxTypeBound {
		bad("max-os-types", "must be 1 to %d (a window's counts from one input partition are one record, held under 256 KiB), got %d",
			state.MaxTypeBound, c.MaxOSTypes)
	}
	if n := len(classify.BucketNames(c.classifyOptions()...)); n > state.MaxKept {
		bad("buckets", "at most %d buckets with the built-in ones (a window's counts from one input partition are one record, held under 256 KiB), got %d",
			state.MaxKept, n)
	}
	if c.RetainFinals < 1 {
		bad("retain-finals", "must be at least 1, got %d", c.RetainFinals)
	}
	if c.LateTopic != "" && (c.LateTopic == c.Input || c.LateTopic == c.Output) {
		bad("late-topic", "must differ from input and output")
	}
	if c.Output == c.Input && c.Input != "" {
		bad("output", "must differ from input")
	}
	if err := c.Security.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
