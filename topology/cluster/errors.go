package cluster

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// KeyError is an invalid configuration value, named by its key: the error
// of every setting oscheck reads, here because most of the ways the
// cluster turns a client away are the fault of one key.
type KeyError struct {
	Key    string
	Reason string
}

func (e *KeyError) Error() string { return fmt.Sprintf("config key %q: %s", e.Key, e.Reason) }

// UnreachableError is a broker that could not be talked to for a reason
// that may pass: refused, timed out, reset. Everything else Check returns
// is permanent until the configuration, the credentials or the ACLs change.
type UnreachableError struct {
	Addr string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("config key \"brokers\": cannot talk to broker %s: %v", e.Addr, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// AccessError is a topic, group or transactional id the principal may not
// use as the service must.
type AccessError struct {
	Topic  string // or group, or transactional id
	Reason string
}

func (e *AccessError) Error() string { return e.Reason }

// Permanent reports whether err, from Check or from a client of the
// cluster, will come back on a retry unchanged: a configuration value, credentials or TLS material the brokers
// reject, or ACLs that deny the service its topics. Other errors (brokers
// unreachable, a request timing out) may pass.
func Permanent(err error) bool {
	var (
		key    *KeyError
		access *AccessError
	)
	return errors.As(err, &key) || errors.As(err, &access) ||
		errors.Is(err, sarama.ErrTopicAuthorizationFailed) || errors.Is(err, sarama.ErrClusterAuthorizationFailed) ||
		errors.Is(err, sarama.ErrGroupAuthorizationFailed)
}
