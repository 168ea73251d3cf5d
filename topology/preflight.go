package topology

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// preflightTimeout bounds each step of the start-up check: dialing, the TLS
// handshake, SASL and the metadata request, per broker; preflightBudget
// bounds the whole check, diagnosis included. A misconfigured instance exits
// with the cause within seconds, instead of retrying metadata for as long as
// the service's own clients would.
const (
	preflightTimeout = 5 * time.Second
	preflightBudget  = 20 * time.Second
)

// checkCluster connects to the bootstrap brokers as every client of the
// service will (TLS, SASL) and asks which of its topics it may use. It fails
// with one line naming the cause and, where one is at fault, the key: a
// broker that does not speak TLS or speaks only TLS, a certificate the CA
// does not verify, rejected credentials, a topic the principal may not read
// or write. It succeeds as soon as one broker answers; other brokers'
// failures are then left to the clients' own retries. It returns within
// preflightBudget.
func (s *Service) checkCluster() error {
	done := make(chan error, 1)
	go func() { done <- s.checkBrokers() }()
	select {
	case err := <-done:
		return err
	case <-time.After(preflightBudget):
		// The check goes on in the background until its own timeouts.
		return &UnreachableError{Addr: strings.Join(s.cfg.Brokers, ","), Err: fmt.Errorf("no answer within %v", preflightBudget)}
	}
}

func (s *Service) checkBrokers() error {
	cfg := s.saramaConfig()
	cfg.Net.DialTimeout, cfg.Net.ReadTimeout, cfg.Net.WriteTimeout = preflightTimeout, preflightTimeout, preflightTimeout
	var definite, unreachable error
	for _, addr := range s.cfg.Brokers {
		again := func() (*clusterAnswer, error) {
			time.Sleep(500 * time.Millisecond)
			return s.ask(addr, cfg)
		}
		a, err := s.ask(addr, cfg)
		if err != nil && connectionLost(err) {
			// A broker restarting loses connections too.
			a, err = again()
		}
		if err != nil {
			cause, guessed := s.connectError(addr, cfg, err)
			if guessed {
				// The cause was read off other connections that did
				// work; a third try tells a misconfiguration from a
				// flapping network, which would have healed by now.
				if a, err = again(); err == nil {
					return s.checkAuthorized(a)
				}
			}
			var u *UnreachableError
			switch {
			case !errors.As(cause, &u) && definite == nil:
				definite = cause
			case unreachable == nil:
				unreachable = cause
			}
			continue
		}
		return s.checkAuthorized(a)
	}
	// A broker that rejects the configuration tells more than one that
	// cannot be reached.
	if definite != nil {
		return definite
	}
	return unreachable
}

// clusterAnswer is what one broker told about the service's topics (with
// the operations the principal may perform on them) and groups.
type clusterAnswer struct {
	md *sarama.MetadataResponse
	// groups maps each consumer group to the error finding its
	// coordinator: Kafka answers GROUP_AUTHORIZATION_FAILED to a
	// principal that may not describe the group.
	groups map[string]error
	// Under exactly_once_v2: txnIDs maps each stage's transactional id to
	// the error finding its coordinator (TRANSACTIONAL_ID_AUTHORIZATION_FAILED
	// without Describe on it), and txnOffsetCommit is the newest
	// TxnOffsetCommit version the broker speaks (-1: none).
	txnIDs          map[string]error
	txnOffsetCommit int16
}

// txnOffsetCommitKey is TxnOffsetCommit's API key. Version 3 (Kafka 2.5)
// carries the group's generation and member id, with which the brokers
// fence a member that has lost its partitions (KIP-447); Kafka 2.5 also
// brought OffsetFetch's require_stable. exactly_once_v2 needs both.
const (
	txnOffsetCommitKey     = 28
	txnOffsetCommitFencing = 3
	transactionsSinceKafka = "2.5"
)

// ask opens one connection to addr and asks about the service's topics and
// groups.
func (s *Service) ask(addr string, cfg *sarama.Config) (*clusterAnswer, error) {
	br := sarama.NewBroker(addr)
	if err := br.Open(cfg); err != nil {
		return nil, err
	}
	defer br.Close()
	req := sarama.NewMetadataRequest(cfg.Version, s.topicNames())
	req.IncludeTopicAuthorizedOperations = true
	md, err := br.GetMetadata(req)
	if err != nil {
		return nil, err
	}
	a := &clusterAnswer{md: md, groups: make(map[string]error)}
	for _, g := range []string{string(s.topics.ParseGroup), string(s.topics.WindowGroup)} {
		resp, err := br.FindCoordinator(&sarama.FindCoordinatorRequest{Version: 2, CoordinatorKey: g, CoordinatorType: sarama.CoordinatorGroup})
		if err != nil {
			return nil, err
		}
		a.groups[g] = resp.Err
	}
	if !s.cfg.Guarantee.Transactional() {
		return a, nil
	}
	a.txnIDs = make(map[string]error)
	for _, id := range s.transactionalIDs() {
		resp, err := br.FindCoordinator(&sarama.FindCoordinatorRequest{Version: 2, CoordinatorKey: id, CoordinatorType: sarama.CoordinatorTransaction})
		if err != nil {
			return nil, err
		}
		a.txnIDs[id] = resp.Err
	}
	versions, err := br.ApiVersions(&sarama.ApiVersionsRequest{})
	if err != nil {
		return nil, err
	}
	a.txnOffsetCommit = -1
	for _, k := range versions.ApiKeys {
		if k.ApiKey == txnOffsetCommitKey {
			a.txnOffsetCommit = k.MaxVersion
		}
	}
	return a, nil
}

// topicNames are the topics the service uses.
func (s *Service) topicNames() []string {
	names := []string{string(s.topics.Input), string(s.topics.Output), string(s.topics.Repartition),
		string(s.topics.DeadLetter), string(goka.GroupTable(s.topics.WindowGroup)), string(s.topics.Changelog)}
	if s.topics.Late != "" {
		names = append(names, string(s.topics.Late))
	}
	return names
}

// Kafka's ACL operations, by their codes: the bits of a metadata
// response's AuthorizedOperations.
const (
	aclRead            = 3
	aclWrite           = 4
	aclDescribeConfigs = 10
)

var aclNames = map[int]string{aclRead: "Read", aclWrite: "Write", aclDescribeConfigs: "DescribeConfigs"}

// checkAuthorized reports the first topic or group the principal may not use
// as the service must: read the input; write the output, the dead-letter and
// late topics; read and write its repartition topic and window table, and
// describe the table's configuration (goka checks that it is compacted);
// use both groups. A broker that does not report authorized operations
// (INT32_MIN) passes the topic checks.
func (s *Service) checkAuthorized(a *clusterAnswer) error {
	table := string(goka.GroupTable(s.topics.WindowGroup))
	needs := map[string][]int{
		string(s.topics.Input):       {aclRead},
		string(s.topics.Output):      {aclWrite},
		string(s.topics.DeadLetter):  {aclWrite},
		string(s.topics.Repartition): {aclRead, aclWrite},
		table:                        {aclRead, aclWrite, aclDescribeConfigs},
		string(s.topics.Changelog):   {aclRead, aclWrite},
	}
	if s.topics.Late != "" {
		needs[string(s.topics.Late)] = []int{aclWrite}
	}
	role := map[string]string{
		string(s.topics.Input):       "input topic",
		string(s.topics.Output):      "output topic",
		string(s.topics.DeadLetter):  "dead-letter topic",
		string(s.topics.Repartition): "repartition topic",
		table:                        "window table topic",
		string(s.topics.Late):        "late topic",
		string(s.topics.Changelog):   "parse stage's changelog topic",
	}
	for _, name := range s.topicNames() {
		i := slices.IndexFunc(a.md.Topics, func(t *sarama.TopicMetadata) bool { return t.Name == name })
		if i < 0 {
			continue
		}
		t := a.md.Topics[i]
		if errors.Is(t.Err, sarama.ErrTopicAuthorizationFailed) {
			return &AccessError{Topic: name, Reason: fmt.Sprintf("%s %q: %s may not even describe it (Kafka ACLs): grant it %s",
				role[name], name, s.principal(), opNames(needs[name]))}
		}
		if t.TopicAuthorizedOperations == math.MinInt32 || t.Err != sarama.ErrNoError {
			continue
		}
		var missing []int
		for _, op := range needs[name] {
			if t.TopicAuthorizedOperations&(1<<op) == 0 {
				missing = append(missing, op)
			}
		}
		if len(missing) > 0 {
			return &AccessError{Topic: name, Reason: fmt.Sprintf("%s %q: %s lacks %s on it (Kafka ACLs): grant it %s",
				role[name], name, s.principal(), opNames(missing), opNames(needs[name]))}
		}
	}
	for _, g := range []string{string(s.topics.ParseGroup), string(s.topics.WindowGroup)} {
		if errors.Is(a.groups[g], sarama.ErrGroupAuthorizationFailed) {
			return &AccessError{Topic: g, Reason: fmt.Sprintf("consumer group %q: %s may not use it (Kafka ACLs): grant it Read", g, s.principal())}
		}
	}
	return s.checkTransactions(a)
}

// checkTransactions reports, under exactly_once_v2, a broker too old for
// it and a transactional id the principal may not describe. Write on the
// ids, which only a producer's initialisation shows (and which would fence
// the instance's own producer), is reported by txnAccessError when the
// producer starts.
func (s *Service) checkTransactions(a *clusterAnswer) error {
	if !s.cfg.Guarantee.Transactional() {
		return nil
	}
	if a.txnOffsetCommit < txnOffsetCommitFencing {
		return &KeyError{Key: "processing-guarantee", Reason: fmt.Sprintf(
			"%s needs Kafka %s or later (TxnOffsetCommit v%d, which fences members that lost their partitions); "+
				"the brokers speak TxnOffsetCommit up to v%d: upgrade them, or use %s",
			ExactlyOnceV2, transactionsSinceKafka, txnOffsetCommitFencing, a.txnOffsetCommit, AtLeastOnce)}
	}
	for _, id := range s.transactionalIDs() {
		if errors.Is(a.txnIDs[id], sarama.ErrTransactionalIDAuthorizationFailed) {
			return s.txnAccessError(id)
		}
	}
	return nil
}

// txnAccessError is what a principal needs to write transactions as id.
func (s *Service) txnAccessError(id string) *AccessError {
	return &AccessError{Topic: id, Reason: fmt.Sprintf(
		"transactional id %q: %s may not use it (Kafka ACLs): grant it Write and Describe on it, "+
			"or on the prefix %q; brokers before Kafka 2.8 also need IdempotentWrite on the cluster",
		id, s.principal(), s.cfg.Group+"-")}
}

func opNames(ops []int) string {
	var out []string
	for _, op := range ops {
		out = append(out, aclNames[op])
	}
	return strings.Join(out, " and ")
}

// principal names who the service is to the brokers, for error messages.
func (s *Service) principal() string {
	if s.cfg.Security.SASLMechanism == "" {
		return "this client (no SASL user)"
	}
	return fmt.Sprintf("SASL user %q", s.cfg.Security.SASLUsername)
}

// connectError turns a failure to talk to addr with cfg into its cause,
// naming the key to fix where one is at fault. guessed tells that the cause
// was inferred from other connections after this one was lost, rather than
// read off the error itself.
func (s *Service) connectError(addr string, cfg *sarama.Config, err error) (cause error, guessed bool) {
	sec := s.cfg.Security
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		header    tls.RecordHeaderError
		alert     tls.AlertError
		kerr      sarama.KError
		op        *net.OpError
	)
	switch {
	case errors.As(err, &unknownCA):
		return &KeyError{Key: "tls-ca-file", Reason: fmt.Sprintf("broker %s presented a certificate signed by an authority the CA file does not hold (%v)", addr, err)}, false
	case errors.As(err, &hostname):
		return &KeyError{Key: "tls-server-name", Reason: fmt.Sprintf("broker %s presented a certificate for another name (%v)", addr, err)}, false
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return &KeyError{Key: "tls", Reason: fmt.Sprintf("broker %s presented a certificate that has expired or is not valid yet: renew it, or set this host's clock (%v)", addr, err)}, false
	case errors.As(err, &invalid):
		return &KeyError{Key: "tls-ca-file", Reason: fmt.Sprintf("broker %s presented an invalid certificate (%v)", addr, err)}, false
	case errors.As(err, &header):
		return &KeyError{Key: "tls", Reason: fmt.Sprintf("broker %s does not speak TLS on this port (%v)", addr, err)}, false
	case (errors.As(err, &alert) || errors.As(err, &op) && op.Op == "remote error") &&
		!strings.Contains(err.Error(), "certificate") && !strings.Contains(err.Error(), "unknown certificate authority"):
		return &KeyError{Key: "tls", Reason: fmt.Sprintf("broker %s refused the TLS handshake (%v)", addr, err)}, false
	case errors.As(err, &alert) || errors.As(err, &op) && op.Op == "remote error":
		if sec.TLSCertFile == "" {
			return &KeyError{Key: "tls-cert-file", Reason: fmt.Sprintf("broker %s refused the TLS handshake (%v): it may require a client certificate", addr, err)}, false
		}
		return &KeyError{Key: "tls-cert-file", Reason: fmt.Sprintf("broker %s refused the TLS handshake (%v): it does not accept the client certificate", addr, err)}, false
	case errors.As(err, &kerr) && (kerr == sarama.ErrSASLAuthenticationFailed || kerr == sarama.ErrIllegalSASLState):
		return &KeyError{Key: "sasl-password", Reason: fmt.Sprintf("broker %s rejected %s authentication of user %q: wrong user name or password (%v)", addr, sec.SASLMechanism, sec.SASLUsername, err)}, false
	case errors.As(err, &kerr) && kerr == sarama.ErrUnsupportedSASLMechanism:
		return &KeyError{Key: "sasl-mechanism", Reason: fmt.Sprintf("broker %s does not offer %s (%v)", addr, sec.SASLMechanism, err)}, false
	case errors.Is(err, sarama.ErrTopicAuthorizationFailed), errors.Is(err, sarama.ErrClusterAuthorizationFailed):
		return fmt.Errorf("broker %s: %s may not describe the service's topics (Kafka ACLs): %w", addr, s.principal(), err), false
	}
	// A lost connection says little by itself: the broker may be going
	// away. The cause is named only when another connection shows it.
	if connectionLost(err) {
		without := func(tls, sasl bool) *sarama.Config {
			c := *cfg
			c.Net.TLS.Enable = c.Net.TLS.Enable && !tls
			c.Net.SASL.Enable = c.Net.SASL.Enable && !sasl
			return &c
		}
		switch {
		case sec.SASLMechanism != "" && answers(addr, without(false, true)):
			// Kafka answers a failed authentication with an error; some
			// brokers just close the connection.
			return &KeyError{Key: "sasl-password", Reason: fmt.Sprintf("broker %s closed the connection during %s authentication of user %q: wrong user name or password, or no such %s user (%v)",
				addr, sec.SASLMechanism, sec.SASLUsername, sec.SASLMechanism, err)}, true
		case !sec.TLS && speaksTLS(addr):
			return &KeyError{Key: "tls", Reason: fmt.Sprintf("broker %s speaks only TLS, and tls is off (%v)", addr, err)}, true
		case sec.TLS && answers(addr, without(true, true)):
			return &KeyError{Key: "tls", Reason: fmt.Sprintf("broker %s is not a TLS listener: it answers plaintext requests (%v)", addr, err)}, true
		case sec.SASLMechanism == "" && answers(addr, cfg):
			return &KeyError{Key: "sasl-mechanism", Reason: fmt.Sprintf("broker %s answers, but closes the connection on the first request that needs authentication: it requires SASL (%v)", addr, err)}, true
		}
	}
	return &UnreachableError{Addr: addr, Err: err}, false
}

// UnreachableError is a broker that could not be talked to for a reason
// that may pass: refused, timed out, reset. Everything else New and the
// start-up check return is permanent until the configuration, the
// credentials or the ACLs change.
type UnreachableError struct {
	Addr string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("config key \"brokers\": cannot talk to broker %s: %v", e.Addr, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// AccessError is a topic or group the principal may not use as the
// service must.
type AccessError struct {
	Topic  string // or group
	Reason string
}

func (e *AccessError) Error() string { return e.Reason }

// Permanent reports whether err, from New, will come back on a retry
// unchanged: a configuration value, credentials or TLS material the brokers
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

// connectionLost reports whether err is the connection closing, resetting
// or timing out, rather than an answer.
func connectionLost(err error) bool {
	var nerr net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.As(err, &nerr) && nerr.Timeout()
}

// answers reports whether addr answers an ApiVersions request, which needs
// no authentication, on a connection made as cfg says.
func answers(addr string, cfg *sarama.Config) bool {
	br := sarama.NewBroker(addr)
	if err := br.Open(cfg); err != nil {
		return false
	}
	defer br.Close()
	_, err := br.ApiVersions(&sarama.ApiVersionsRequest{})
	return err == nil
}

// speaksTLS reports whether addr completes a TLS handshake, whatever its
// certificate: a plaintext client's request is not one, and a TLS listener
// just closes the connection on it.
func speaksTLS(addr string) bool {
	d := &net.Dialer{Timeout: preflightTimeout}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) // #nosec G402 -- only asks whether the port speaks TLS; nothing is sent
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}
