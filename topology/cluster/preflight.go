package cluster

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

// Needs is what a service must be allowed to do on the cluster: the topics
// it uses and what it does on each, its consumer groups and, under
// exactly_once_v2, its transactions.
type Needs struct {
	Topics []Topic
	Groups []string
	// Transactions is nil when the service writes no transactions.
	Transactions *Transactions
}

// Topic is a topic a service uses: its name, its role (for messages, e.g.
// "input topic") and the operations the service performs on it.
type Topic struct {
	Name string
	Role string
	Ops  []Op
}

// Op is a Kafka ACL operation, by its code: a bit of a metadata response's
// authorized operations.
type Op int

// The operations a service needs on its topics.
const (
	Read            Op = 3
	Write           Op = 4
	DescribeConfigs Op = 10
)

var opNamesByCode = map[Op]string{Read: "Read", Write: "Write", DescribeConfigs: "DescribeConfigs"}

// Transactions is what a transactional service needs of the cluster.
type Transactions struct {
	// IDs are its producers' transactional ids; Prefix is what they begin
	// with, on which Write and Describe may be granted at once.
	IDs    []string
	Prefix string
	// Guarantee names the processing guarantee that writes them, and
	// Otherwise one that does not, for the message that the brokers are
	// too old for transactions.
	Guarantee, Otherwise string
}

// Check connects to the bootstrap brokers as every client made from c will
// (TLS, SASL) and asks whether the principal may do what n says. It fails
// with one line naming the cause and, where one is at fault, the key
// (KeyError): a broker that does not speak TLS or speaks only TLS, a
// certificate the CA does not verify, rejected credentials, brokers too old
// for transactions; or the topic, group or transactional id the principal
// may not use (AccessError). It succeeds as soon as one broker answers;
// other brokers' failures are then left to the clients' own retries. When
// no broker answers it fails with an UnreachableError. It returns within
// preflightBudget.
func (c *Clients) Check(n Needs) error {
	done := make(chan error, 1)
	go func() { done <- c.checkBrokers(n) }()
	select {
	case err := <-done:
		return err
	case <-time.After(preflightBudget):
		// The check goes on in the background until its own timeouts.
		return &UnreachableError{Addr: strings.Join(c.Brokers, ","), Err: fmt.Errorf("no answer within %v", preflightBudget)}
	}
}

func (c *Clients) checkBrokers(n Needs) error {
	cfg := c.Sarama()
	cfg.Net.DialTimeout, cfg.Net.ReadTimeout, cfg.Net.WriteTimeout = preflightTimeout, preflightTimeout, preflightTimeout
	var definite, unreachable error
	for _, addr := range c.Brokers {
		again := func() (*clusterAnswer, error) {
			time.Sleep(500 * time.Millisecond)
			return n.ask(addr, cfg)
		}
		a, err := n.ask(addr, cfg)
		if err != nil && connectionLost(err) {
			// A broker restarting loses connections too.
			a, err = again()
		}
		if err != nil {
			cause, guessed := c.connectError(addr, cfg, err)
			if guessed {
				// The cause was read off other connections that did
				// work; a third try tells a misconfiguration from a
				// flapping network, which would have healed by now.
				if a, err = again(); err == nil {
					return c.checkAuthorized(n, a)
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
		return c.checkAuthorized(n, a)
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

// ask opens one connection to addr and asks about the service's topics,
// groups and transactions.
func (n Needs) ask(addr string, cfg *sarama.Config) (*clusterAnswer, error) {
	br := sarama.NewBroker(addr)
	if err := br.Open(cfg); err != nil {
		return nil, err
	}
	defer br.Close()
	req := sarama.NewMetadataRequest(cfg.Version, n.topicNames())
	req.IncludeTopicAuthorizedOperations = true
	md, err := br.GetMetadata(req)
	if err != nil {
		return nil, err
	}
	a := &clusterAnswer{md: md, groups: make(map[string]error)}
	for _, g := range n.Groups {
		resp, err := br.FindCoordinator(&sarama.FindCoordinatorRequest{Version: 2, CoordinatorKey: g, CoordinatorType: sarama.CoordinatorGroup})
		if err != nil {
			return nil, err
		}
		a.groups[g] = resp.Err
	}
	if n.Transactions == nil {
		return a, nil
	}
	a.txnIDs = make(map[string]error)
	for _, id := range n.Transactions.IDs {
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
func (n Needs) topicNames() []string {
	names := make([]string, len(n.Topics))
	for i, t := range n.Topics {
		names[i] = t.Name
	}
	return names
}

// checkAuthorized reports the first topic or group the principal may not
// use as n says. A broker that does not report authorized operations
// (INT32_MIN) passes the topic checks.
func (c *Clients) checkAuthorized(n Needs, a *clusterAnswer) error {
	for _, need := range n.Topics {
		i := slices.IndexFunc(a.md.Topics, func(t *sarama.TopicMetadata) bool { return t.Name == need.Name })
		if i < 0 {
			continue
		}
		t := a.md.Topics[i]
		if errors.Is(t.Err, sarama.ErrTopicAuthorizationFailed) {
			return &AccessError{Topic: need.Name, Reason: fmt.Sprintf("%s %q: %s may not even describe it (Kafka ACLs): grant it %s",
				need.Role, need.Name, c.Security.Principal(), opNames(need.Ops))}
		}
		if t.TopicAuthorizedOperations == math.MinInt32 || t.Err != sarama.ErrNoError {
			continue
		}
		var missing []Op
		for _, op := range need.Ops {
			if t.TopicAuthorizedOperations&(1<<op) == 0 {
				missing = append(missing, op)
			}
		}
		if len(missing) > 0 {
			return &AccessError{Topic: need.Name, Reason: fmt.Sprintf("%s %q: %s lacks %s on it (Kafka ACLs): grant it %s",
				need.Role, need.Name, c.Security.Principal(), opNames(missing), opNames(need.Ops))}
		}
	}
	for _, g := range n.Groups {
		if errors.Is(a.groups[g], sarama.ErrGroupAuthorizationFailed) {
			return &AccessError{Topic: g, Reason: fmt.Sprintf("consumer group %q: %s may not use it (Kafka ACLs): grant it Read", g, c.Security.Principal())}
		}
	}
	return c.checkTransactions(n.Transactions, a)
}

// checkTransactions reports, under exactly_once_v2, a broker too old for
// it and a transactional id the principal may not describe. Write on the
// ids, which only a producer's initialisation shows (and which would fence
// the instance's own producer), is reported by TxnAccessError when the
// producer starts.
func (c *Clients) checkTransactions(t *Transactions, a *clusterAnswer) error {
	if t == nil {
		return nil
	}
	if a.txnOffsetCommit < txnOffsetCommitFencing {
		return &KeyError{Key: "processing-guarantee", Reason: fmt.Sprintf(
			"%s needs Kafka %s or later (TxnOffsetCommit v%d, which fences members that lost their partitions); "+
				"the brokers speak TxnOffsetCommit up to v%d: upgrade them, or use %s",
			t.Guarantee, transactionsSinceKafka, txnOffsetCommitFencing, a.txnOffsetCommit, t.Otherwise)}
	}
	for _, id := range t.IDs {
		if errors.Is(a.txnIDs[id], sarama.ErrTransactionalIDAuthorizationFailed) {
			return c.TxnAccessError(id, t.Prefix)
		}
	}
	return nil
}

// TxnAccessError is the error of a principal refused the transactional id
// id: what it needs to write transactions as id, or as any id beginning
// with prefix.
func (c *Clients) TxnAccessError(id, prefix string) *AccessError {
	return &AccessError{Topic: id, Reason: fmt.Sprintf(
		"transactional id %q: %s may not use it (Kafka ACLs): grant it Write and Describe on it, "+
			"or on the prefix %q; brokers before Kafka 2.8 also need IdempotentWrite on the cluster",
		id, c.Security.Principal(), prefix)}
}

func opNames(ops []Op) string {
	var out []string
	for _, op := range ops {
		out = append(out, opNamesByCode[op])
	}
	return strings.Join(out, " and ")
}

// connectError turns a failure to talk to addr with cfg into its cause,
// naming the key to fix where one is at fault. guessed tells that the cause
// was inferred from other connections after this one was lost, rather than
// read off the error itself.
func (c *Clients) connectError(addr string, cfg *sarama.Config, err error) (cause error, guessed bool) {
	sec := c.Security
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
		return fmt.Errorf("broker %s: %s may not describe the service's topics (Kafka ACLs): %w", addr, sec.Principal(), err), false
	}
	// A lost connection says little by itself: the broker may be going
	// away. The cause is named only when another connection shows it.
	if connectionLost(err) {
		without := func(tls, sasl bool) *sarama.Config {
			alt := *cfg
			alt.Net.TLS.Enable = alt.Net.TLS.Enable && !tls
			alt.Net.SASL.Enable = alt.Net.SASL.Enable && !sasl
			return &alt
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
