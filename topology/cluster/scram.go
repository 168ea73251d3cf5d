package cluster

import (
	"context"
	"errors"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// scramClient is sarama's SCRAM client interface over franz-go's SCRAM
// implementation, the one oscheck's franz-go clients use too: sarama ships
// none of its own.
type scramClient struct {
	mechanism string
	session   sasl.Session
	first     []byte // the client-first message, sent by the first Step
	done      bool
}

func newSCRAMClient(mechanism string) func() sarama.SCRAMClient {
	return func() sarama.SCRAMClient { return &scramClient{mechanism: mechanism} }
}

func (c *scramClient) Begin(user, password, authzID string) error {
	auth := scram.Auth{User: user, Pass: password, Zid: authzID}
	m := auth.AsSha256Mechanism()
	if c.mechanism == SASLSCRAMSHA512 {
		m = auth.AsSha512Mechanism()
	}
	session, first, err := m.Authenticate(context.Background(), "")
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
