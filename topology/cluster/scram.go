package cluster

import (
	"context"
	"errors"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sasl"
)

// scramClient is sarama's SCRAM client interface over franz-go's SCRAM
// mechanism, the very one Security.KgoOpts gives oscheck's franz-go
// clients: sarama ships none of its own.
type scramClient struct {
	mechanism sasl.Mechanism
	session   sasl.Session
	first     []byte // the client-first message, sent by the first Step
	done      bool
}

func newSCRAMClient(m sasl.Mechanism) func() sarama.SCRAMClient {
	return func() sarama.SCRAMClient { return &scramClient{mechanism: m} }
}

// Begin starts an exchange. The user and password are the mechanism's own,
// from the same Security as sarama's, which passes them here again.
func (c *scramClient) Begin(_, _, _ string) error {
	session, first, err := c.mechanism.Authenticate(context.Background(), "")
	if err != nil {
		return err
	}
	c.session, c.first, c.done = session, first, false
	return nil
}

// Step answers the server's challenge; sarama calls it first with "" for the
// client-first message, then with each server message until Done.
func (c *scramClient) Step(challenge string) (string, error) {
	if c.first != nil {
		first := c.first
		c.first = nil
		return string(first), nil
	}
	if c.session == nil {
		return "", errors.New("scram: Step before Begin")
	}
	done, msg, err := c.session.Challenge([]byte(challenge))
	if err != nil {
		return "", err
	}
	c.done = done
	return string(msg), nil
}

func (c *scramClient) Done() bool { return c.done }
