package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/oscheck/oscheck/topology"
	"github.com/oscheck/oscheck/topology/cluster"
)

// securityFlags declares the keys of cluster.Security, the same for every
// command that talks to Kafka (run, ship, gen, read). Like every key, each
// is also an OSCHECK_* variable: OSCHECK_SASL_PASSWORD keeps the password
// out of the process list, where a flag would show it.
func securityFlags(fs *pflag.FlagSet) {
	fs.String("sasl-mechanism", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)")
	fs.String("sasl-username", "", "SASL user name")
	fs.String("sasl-password", "", "SASL password; prefer OSCHECK_SASL_PASSWORD or --sasl-password-file, a flag shows in ps")
	fs.String("sasl-password-file", "", "file holding the SASL password, e.g. a mounted secret (one trailing newline is ignored)")
	fs.Bool("tls", false, "connect to the brokers over TLS")
	fs.String("tls-ca-file", "", "PEM CA certificates that verify the brokers (empty: the system's roots)")
	fs.String("tls-cert-file", "", "PEM client certificate for mutual TLS, with --tls-key-file")
	fs.String("tls-key-file", "", "PEM private key of --tls-cert-file")
	fs.String("tls-server-name", "", "name the brokers' certificates must carry (empty: the host of each broker address)")
	fs.Bool("tls-insecure-skip-verify", false, "accept any broker certificate: anyone on the path can read and forge the traffic (tests only; warned about at start)")
}

// securitySettings reads the security keys, the password from its file if
// one is given. It does not validate them: cluster.Security.Validate does.
func securitySettings(v *viper.Viper) (cluster.Security, error) {
	s := cluster.Security{
		SASLMechanism:         strings.ToUpper(strings.TrimSpace(v.GetString("sasl-mechanism"))),
		SASLUsername:          v.GetString("sasl-username"),
		SASLPassword:          cluster.Secret(v.GetString("sasl-password")),
		TLS:                   v.GetBool("tls"),
		TLSCAFile:             v.GetString("tls-ca-file"),
		TLSCertFile:           v.GetString("tls-cert-file"),
		TLSKeyFile:            v.GetString("tls-key-file"),
		TLSServerName:         v.GetString("tls-server-name"),
		TLSInsecureSkipVerify: v.GetBool("tls-insecure-skip-verify"),
	}
	file := v.GetString("sasl-password-file")
	if file == "" {
		return s, nil
	}
	if s.SASLPassword != "" {
		return s, &topology.KeyError{Key: "sasl-password-file", Reason: "set together with sasl-password: give one of them"}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		// The error names the path, never the content.
		return s, &topology.KeyError{Key: "sasl-password-file", Reason: err.Error()}
	}
	p := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if p == "" {
		return s, &topology.KeyError{Key: "sasl-password-file", Reason: fmt.Sprintf("%s is empty", file)}
	}
	s.SASLPassword = cluster.Secret(p)
	return s, nil
}

// validSecurity reads and validates the security keys, for the commands
// other than run (whose topology.Config validates them with the rest).
func validSecurity(v *viper.Viper, log *slog.Logger) (cluster.Security, error) {
	s, err := securitySettings(v)
	if err != nil {
		return s, err
	}
	if err := s.Validate(); err != nil {
		return s, err
	}
	warnInsecure(log, s)
	return s, nil
}

// warnInsecure says loudly that broker certificates go unchecked.
func warnInsecure(log *slog.Logger, s cluster.Security) {
	if s.TLS && s.TLSInsecureSkipVerify {
		log.Warn("TLS CERTIFICATE VERIFICATION IS OFF (tls-insecure-skip-verify): anyone on the network path can " +
			"impersonate the brokers and read or change the traffic, credentials included; use tls-ca-file instead")
	}
}
