package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms oscheck speaks, named as Kafka's sasl.mechanism names them.
const (
	SASLPlain       = "PLAIN"
	SASLSCRAMSHA256 = "SCRAM-SHA-256"
	SASLSCRAMSHA512 = "SCRAM-SHA-512"
)

// Secret is a value that must never reach a log: fmt, slog and encoders
// print it as "[redacted]" (or "" when it is empty). string(s) reveals it.
type Secret string

const redacted = "[redacted]"

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.String() }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Format keeps every fmt verb, %d and %x too, from printing the value.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// MarshalText keeps encoders (JSON, YAML) from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Security is how every Kafka client of oscheck authenticates and encrypts:
// the sarama clients of the service and the shipper (Apply, Clients) and the
// franz-go clients of gen and read (KgoOpts) alike. The zero value is
// plaintext without authentication.
type Security struct {
	// SASLMechanism is "" (no SASL), PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	SASLMechanism string
	SASLUsername  string
	SASLPassword  Secret
	// TLS turns on TLS; the files are PEM. Without CAFile the system's
	// roots verify the brokers; CertFile and KeyFile, together, are the
	// client certificate for mutual TLS.
	TLS                   bool
	TLSCAFile             string
	TLSCertFile           string
	TLSKeyFile            string
	TLSServerName         string
	TLSInsecureSkipVerify bool
}

// LogValue is the settings with the password redacted, for the start-up log.
func (s Security) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("sasl-mechanism", s.SASLMechanism)}
	if s.SASLMechanism != "" {
		attrs = append(attrs, slog.String("sasl-username", s.SASLUsername), slog.Any("sasl-password", s.SASLPassword))
	}
	attrs = append(attrs, slog.Bool("tls", s.TLS))
	if s.TLS {
		attrs = append(attrs, slog.String("tls-ca-file", s.TLSCAFile), slog.String("tls-cert-file", s.TLSCertFile),
			slog.String("tls-key-file", s.TLSKeyFile), slog.String("tls-server-name", s.TLSServerName),
			slog.Bool("tls-insecure-skip-verify", s.TLSInsecureSkipVerify))
	}
	return slog.GroupValue(attrs...)
}

// Validate reports every invalid or contradictory setting, each naming its
// key, and reads the TLS files, so an unreadable or malformed one is
// reported at start, not at the first connection.
func (s Security) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &KeyError{Key: key, Reason: fmt.Sprintf(format, args...)})
	}
	switch s.SASLMechanism {
	case "":
		if s.SASLUsername != "" {
			bad("sasl-username", "set, but sasl-mechanism is empty (want %s, %s or %s)", SASLPlain, SASLSCRAMSHA256, SASLSCRAMSHA512)
		}
		if s.SASLPassword != "" {
			bad("sasl-password", "set, but sasl-mechanism is empty")
		}
	case SASLPlain, SASLSCRAMSHA256, SASLSCRAMSHA512:
		if s.SASLUsername == "" {
			bad("sasl-username", "required with sasl-mechanism %s", s.SASLMechanism)
		}
		if s.SASLPassword == "" {
			bad("sasl-password", "required with sasl-mechanism %s (or give sasl-password-file)", s.SASLMechanism)
		}
	default:
		bad("sasl-mechanism", "unknown mechanism %q (want %s, %s or %s)", s.SASLMechanism, SASLPlain, SASLSCRAMSHA256, SASLSCRAMSHA512)
	}
	if !s.TLS {
		for _, kv := range [][2]string{{"tls-ca-file", s.TLSCAFile}, {"tls-cert-file", s.TLSCertFile},
			{"tls-key-file", s.TLSKeyFile}, {"tls-server-name", s.TLSServerName}} {
			if kv[1] != "" {
				bad(kv[0], "set, but tls is off (set tls to true)")
			}
		}
		if s.TLSInsecureSkipVerify {
			bad("tls-insecure-skip-verify", "set, but tls is off (set tls to true)")
		}
		return errors.Join(errs...)
	}
	if _, err := s.TLSConfig(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// TLSConfig reads the TLS files into a client configuration, nil when TLS
// is off. Its errors name the key of the file at fault.
func (s Security) TLSConfig() (*tls.Config, error) {
	if !s.TLS {
		return nil, nil
	}
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         s.TLSServerName,
		InsecureSkipVerify: s.TLSInsecureSkipVerify, // #nosec G402 -- only when the user asks, with a warning at start
	}
	if s.TLSCAFile != "" {
		pem, err := os.ReadFile(s.TLSCAFile)
		if err != nil {
			return nil, &KeyError{Key: "tls-ca-file", Reason: err.Error()}
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, &KeyError{Key: "tls-ca-file", Reason: fmt.Sprintf("%s holds no PEM certificate", s.TLSCAFile)}
		}
	}
	switch {
	case s.TLSCertFile != "" && s.TLSKeyFile != "":
		// The error of X509KeyPair never quotes the key; it names what is
		// wrong with it.
		for _, kv := range [][2]string{{"tls-cert-file", s.TLSCertFile}, {"tls-key-file", s.TLSKeyFile}} {
			if _, err := os.Stat(kv[1]); err != nil {
				return nil, &KeyError{Key: kv[0], Reason: err.Error()}
			}
		}
		cert, err := tls.LoadX509KeyPair(s.TLSCertFile, s.TLSKeyFile)
		if err != nil {
			key := "tls-cert-file"
			if strings.Contains(err.Error(), "private key") {
				key = "tls-key-file"
			}
			return nil, &KeyError{Key: key, Reason: fmt.Sprintf("loading the client certificate %s with key %s: %v", s.TLSCertFile, s.TLSKeyFile, err)}
		}
		c.Certificates = []tls.Certificate{cert}
	case s.TLSCertFile != "":
		return nil, &KeyError{Key: "tls-key-file", Reason: "required with tls-cert-file"}
	case s.TLSKeyFile != "":
		return nil, &KeyError{Key: "tls-cert-file", Reason: "required with tls-key-file"}
	}
	return c, nil
}

// Principal names who the clients are to the brokers, for error messages.
func (s Security) Principal() string {
	if s.SASLMechanism == "" {
		return "this client (no SASL user)"
	}
	return fmt.Sprintf("SASL user %q", s.SASLUsername)
}

// Apply sets c's TLS and SASL from the settings, reading the TLS files.
// Every sarama client oscheck makes goes through it (Clients reads the
// files once for all of a service's).
func (s Security) Apply(c *sarama.Config) error {
	t, err := s.TLSConfig()
	if err != nil {
		return err
	}
	s.apply(c, t)
	return nil
}

// apply sets c's TLS and SASL with an already-read TLS configuration.
func (s Security) apply(c *sarama.Config, t *tls.Config) {
	c.Net.TLS.Enable, c.Net.TLS.Config = t != nil, t
	if s.SASLMechanism == "" {
		return
	}
	c.Net.SASL.Enable = true
	c.Net.SASL.Handshake = true
	// v1 wraps the exchange in SaslAuthenticate requests, whose errors
	// carry the broker's reason; v0 just drops the connection.
	c.Net.SASL.Version = sarama.SASLHandshakeV1
	c.Net.SASL.User = s.SASLUsername
	c.Net.SASL.Password = string(s.SASLPassword)
	switch s.SASLMechanism {
	case SASLPlain:
		c.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case SASLSCRAMSHA256:
		c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		c.Net.SASL.SCRAMClientGeneratorFunc = newSCRAMClient(s.mechanism())
	case SASLSCRAMSHA512:
		c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		c.Net.SASL.SCRAMClientGeneratorFunc = newSCRAMClient(s.mechanism())
	}
}

// KgoOpts returns the franz-go options that reach brokers as the settings
// say, reading the TLS files: the same TLS configuration Apply gives sarama
// (TLSConfig), and the same SASL mechanism (sarama's SCRAM runs on it too;
// PLAIN is each library's own). Its errors are TLSConfig's.
func (s Security) KgoOpts(brokers []string) ([]kgo.Opt, error) {
	t, err := s.TLSConfig()
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...)}
	if t != nil {
		opts = append(opts, kgo.DialTLSConfig(t))
	}
	if m := s.mechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// mechanism is the franz-go SASL mechanism of the settings, nil without
// SASL.
func (s Security) mechanism() sasl.Mechanism {
	user, pass := s.SASLUsername, string(s.SASLPassword)
	switch s.SASLMechanism {
	case SASLPlain:
		return plain.Auth{User: user, Pass: pass}.AsMechanism()
	case SASLSCRAMSHA256:
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	case SASLSCRAMSHA512:
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
	}
	return nil
}
