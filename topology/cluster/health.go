package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// Probe asks the cluster every probeInterval (5 s), on a connection of its
// own, whether it answers a request. The service's clients cannot tell: they
// retry for about 30 s before a stage gives up, and meanwhile look busy, not
// cut off. Make it with Clients.Probe; it probes while Run runs.
type Probe struct {
	cfg     *sarama.Config
	brokers []string

	mu     sync.Mutex
	err    error     // of the last probe; errNotProbed before the first
	lastOK time.Time // of the last probe that succeeded
}

var errNotProbed = errors.New("not asked yet")

const (
	probeInterval = 5 * time.Second
	probeTimeout  = 2 * time.Second
	// unreachableAfter is how long the probes must have failed before the
	// instance reports itself not ready: one lost probe is a blip, and in
	// an outage every instance turns unready at once.
	unreachableAfter = 3 * probeInterval
)

// Probe returns a probe of c's brokers, each request of which times out
// after probeTimeout (2 s).
func (c *Clients) Probe() *Probe {
	cfg := c.Sarama()
	cfg.Net.DialTimeout, cfg.Net.ReadTimeout, cfg.Net.WriteTimeout = probeTimeout, probeTimeout, probeTimeout
	return &Probe{cfg: cfg, brokers: c.Brokers, err: errNotProbed}
}

// Run probes until ctx is done, and returns nil.
func (b *Probe) Run(ctx context.Context) error {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		err := b.probe()
		b.mu.Lock()
		b.err = err
		if err == nil {
			b.lastOK = time.Now()
		}
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// probe asks each bootstrap broker in turn for its API versions, and
// succeeds with the first that answers.
func (b *Probe) probe() error {
	var errs []error
	for _, addr := range b.brokers {
		br := sarama.NewBroker(addr)
		err := br.Open(b.cfg)
		if err == nil {
			_, err = br.ApiVersions(&sarama.ApiVersionsRequest{})
			_ = br.Close()
		}
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return errors.Join(errs...)
}

// Last returns the error of the last probe, nil if the cluster answered.
func (b *Probe) Last() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// Unreachable returns why the brokers count as unreachable, or "" when they
// do not: no probe has succeeded, or none for unreachableAfter (15 s).
func (b *Probe) Unreachable() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.err == errNotProbed:
		return "brokers: not probed yet"
	case b.err == nil:
		return ""
	case b.lastOK.IsZero():
		return fmt.Sprintf("brokers unreachable: %v", b.err)
	case time.Since(b.lastOK) >= unreachableAfter:
		return fmt.Sprintf("brokers unreachable since %s: %v", b.lastOK.Format(time.RFC3339), b.err)
	}
	return ""
}
