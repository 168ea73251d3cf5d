package cluster

import (
	"fmt"
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

func TestSecurityValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Security
		key  string // "" for valid
	}{
		{"none", Security{}, ""},
		{"plain", Security{SASLMechanism: SASLPlain, SASLUsername: "u", SASLPassword: "p"}, ""},
		{"lower-case mechanism", Security{SASLMechanism: "plain", SASLUsername: "u", SASLPassword: "p"}, "sasl-mechanism"},
		{"no user", Security{SASLMechanism: SASLSCRAMSHA256, SASLPassword: "p"}, "sasl-username"},
		{"no password", Security{SASLMechanism: SASLSCRAMSHA512, SASLUsername: "u"}, "sasl-password"},
		{"password without mechanism", Security{SASLPassword: "p"}, "sasl-password"},
		{"TLS with system roots", Security{TLS: true}, ""},
		{"CA file without TLS", Security{TLSCAFile: "/etc/hostname"}, "tls-ca-file"},
		{"server name without TLS", Security{TLSServerName: "kafka"}, "tls-server-name"},
		{"missing CA file", Security{TLS: true, TLSCAFile: "/nonexistent"}, "tls-ca-file"},
		{"CA file not PEM", Security{TLS: true, TLSCAFile: "/etc/hostname"}, "tls-ca-file"},
		{"cert without key", Security{TLS: true, TLSCertFile: "/etc/hostname"}, "tls-key-file"},
		{"key without cert", Security{TLS: true, TLSKeyFile: "/etc/hostname"}, "tls-cert-file"},
		{"cert not PEM", Security{TLS: true, TLSCertFile: "/etc/hostname", TLSKeyFile: "/etc/hostname"}, "tls-cert-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.key)) {
				t.Fatalf("got %v, want an error naming %q", err, tc.key)
			}
		})
	}
}

func TestSecurityApply(t *testing.T) {
	for _, tc := range []struct {
		mech  string
		want  sarama.SASLMechanism
		scram bool
	}{
		{SASLPlain, sarama.SASLTypePlaintext, false},
		{SASLSCRAMSHA256, sarama.SASLTypeSCRAMSHA256, true},
		{SASLSCRAMSHA512, sarama.SASLTypeSCRAMSHA512, true},
	} {
		c := sarama.NewConfig()
		s := Security{SASLMechanism: tc.mech, SASLUsername: "u", SASLPassword: "p", TLS: true}
		if err := s.Apply(c); err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: sarama rejects the config: %v", tc.mech, err)
		}
		if !c.Net.SASL.Enable || c.Net.SASL.Mechanism != tc.want || (c.Net.SASL.SCRAMClientGeneratorFunc != nil) != tc.scram {
			t.Errorf("%s: SASL %+v", tc.mech, c.Net.SASL)
		}
		if !c.Net.TLS.Enable || c.Net.TLS.Config == nil {
			t.Errorf("%s: TLS not enabled", tc.mech)
		}
	}
	c := sarama.NewConfig()
	if err := (Security{}).Apply(c); err != nil || c.Net.SASL.Enable || c.Net.TLS.Enable {
		t.Errorf("the zero Security should leave a plaintext config: %v %+v", err, c.Net)
	}
}
