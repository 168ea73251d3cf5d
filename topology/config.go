package topology

import (
	"errors"
	"fmt"
	"time"

	"github.com/oscheck/oscheck/processor"
	"github.com/oscheck/oscheck/processor/classify"
	"github.com/oscheck/oscheck/processor/output"
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
	TimeSource  processor.TimeSource
	Emit        processor.EmitMode
	Format      output.Format
	OSParam     string
	// Buckets are the user's own os_type buckets, tried in order before
	// the built-in ones; BuiltinBuckets false leaves only them (and other).
	Buckets        []classify.Bucket
	BuiltinBuckets bool
	// OffsetReset is where a group without a committed offset starts:
	// "earliest" (Kafka Streams' default) or "latest".
	OffsetReset string
	// ReplicationFactor for the topics the service creates; -1 takes the
	// broker's default.
	ReplicationFactor int
	// RetainFinals is how many final windows each slot remembers.
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
}

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
		TimeSource:        processor.TimeFromLog,
		Emit:              processor.EmitFinal,
		Format:            output.KStreams,
		OSParam:           "os_type",
		BuiltinBuckets:    true,
		OffsetReset:       "earliest",
		ReplicationFactor: -1,
		RetainFinals:      64,
		ClientID:          "oscheck",
	}
}

// KeyError is an invalid configuration value, named by its key.
type KeyError struct {
	Key    string
	Reason string
}

func (e *KeyError) Error() string { return fmt.Sprintf("config key %q: %s", e.Key, e.Reason) }

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
	if _, err := processor.ParseTimeSource(string(c.TimeSource)); err != nil {
		bad("time-source", "%v", err)
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
	if c.RetainFinals < 1 {
		bad("retain-finals", "must be at least 1, got %d", c.RetainFinals)
	}
	if c.LateTopic != "" && (c.LateTopic == c.Input || c.LateTopic == c.Output) {
		bad("late-topic", "must differ from input and output")
	}
	if c.Output == c.Input && c.Input != "" {
		bad("output", "must differ from input")
	}
	return errors.Join(errs...)
}
