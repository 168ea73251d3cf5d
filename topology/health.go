package topology

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// brokerProbe asks the cluster every probeInterval, on a connection of its
// own, whether it answers a request. The service's clients cannot tell: they
// retry for about 30 s before a stage gives up, and meanwhile look busy, not
// cut off.
type brokerProbe struct {
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

func newBrokerProbe(cfg *sarama.Config, brokers []string) *brokerProbe {
	cfg.Net.DialTimeout, cfg.Net.ReadTimeout, cfg.Net.WriteTimeout = probeTimeout, probeTimeout, probeTimeout
	return &brokerProbe{cfg: cfg, brokers: brokers, err: errNotProbed}
}

// run probes until ctx is done.
func (b *brokerProbe) run(ctx context.Context) error {
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
func (b *brokerProbe) probe() error {
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

// last returns the error of the last probe, nil if the cluster answered.
func (b *brokerProbe) last() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// unreachable returns why the brokers count as unreachable, or "": no probe
// has succeeded, or none for unreachableAfter.
func (b *brokerProbe) unreachable() string {
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

// NotReady returns why the instance should not take traffic yet, or "" when
// it is ready: both stages have joined their groups and run with their
// partitions assigned (possibly none, when there are more instances than
// partitions), the window table is recovered, and the brokers answer (or
// have failed to for less than unreachableAfter). It changes back while a
// rebalance or a restore is under way.
func (s *Service) NotReady(ctx context.Context) string {
	// A restore runs while goka is still setting up the session, so it is
	// asked about first: it is the more telling reason.
	if s.Recovering(ctx) {
		return "window stage: recovering the window table"
	}
	for _, st := range s.stages() {
		if state := st.proc.StateReader().State(); state != goka.ProcStateRunning {
			return fmt.Sprintf("%s stage: %s, waiting for its partitions", st.name, processorStates[state])
		}
	}
	return s.probe.unreachable()
}
