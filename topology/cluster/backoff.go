package cluster

import (
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Backoff is the wait of oscheck's retry loops: initial, doubled by each
// retry up to limit, each wait jittered by up to half of it either way (so
// that clients an outage stopped together do not all come back at once),
// but never longer than limit, the longest wait the loops promise (README).
// Reset starts it over at initial. It is not safe for concurrent use.
type Backoff struct {
	exp backoff.ExponentialBackOff
}

// NewBackoff returns a Backoff from initial up to limit.
func NewBackoff(initial, limit time.Duration) *Backoff {
	return &Backoff{exp: backoff.ExponentialBackOff{InitialInterval: initial, Multiplier: 2, MaxInterval: limit,
		RandomizationFactor: backoff.DefaultRandomizationFactor}}
}

// NextBackOff returns the next wait.
func (b *Backoff) NextBackOff() time.Duration {
	// backoff/v5 jitters the capped interval: up to 1.5 times limit.
	return min(b.exp.NextBackOff(), b.exp.MaxInterval)
}

// Reset starts the waits over at initial.
func (b *Backoff) Reset() { b.exp.Reset() }
