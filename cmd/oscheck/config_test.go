package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunRejectsBadConfig checks that every invalid setting stops `oscheck
// run` before it touches Kafka, with a message naming the key.
// manyBuckets returns n buckets, in the form of the buckets key.
func manyBuckets(n int) string {
	b := make([]string, n)
	for i := range b {
		b[i] = fmt.Sprintf("os%d=Needle%d", i, i)
	}
	return strings.Join(b, ";")
}

func TestRunRejectsBadConfig(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		key  string
	}{
		{args: []string{"--window", "0s"}, key: `"window"`},
		{args: []string{"--window", "two seconds"}, key: `"window"`},
		{args: []string{"--grace", "-1s"}, key: `"grace"`},
		{args: []string{"--idle-timeout", "0"}, key: `"idle-timeout"`},
		{args: []string{"--max-event-skew", "-1s"}, key: `"max-event-skew"`},
		{args: []string{"--max-os-types", "-1"}, key: `"max-os-types"`},
		{args: []string{"--max-os-types", "0"}, key: `"max-os-types"`},
		{args: []string{"--max-os-types", "4097"}, key: `"max-os-types"`},
		{args: []string{"--buckets", manyBuckets(300)}, key: `"buckets"`},
		{args: []string{"--max-event-skew", "soon"}, key: `"max-event-skew"`},
		{args: []string{"--format", "avro"}, key: `"format"`},
		{args: []string{"--emit", "sometimes"}, key: `"emit"`},
		{args: []string{"--time-source", "sundial"}, key: `"time-source"`},
		{args: []string{"--offset-reset", "middle"}, key: `"offset-reset"`},
		{args: []string{"--brokers", ""}, key: `"brokers"`},
		{args: []string{"--retain-finals", "x"}, key: "retain-finals"},
		{args: []string{"--log-level", "loud"}, key: `"log-level"`},
		{env: map[string]string{"OSCHECK_WINDOW": "-2s"}, key: `"window"`},
		{args: []string{"--config", "/nonexistent/oscheck.yaml"}, key: `"config"`},
		{args: []string{"--buckets", "harmonyos"}, key: `"buckets"`},
		{args: []string{"--buckets", "harmony os=HarmonyOS"}, key: `"buckets"`},
		{args: []string{"--buckets", "harmonyos="}, key: `"buckets"`},
		{args: []string{"--buckets", "a=X;a=Y"}, key: `"buckets"`},
		{args: []string{"--sasl-mechanism", "GSSAPI", "--sasl-username", "u", "--sasl-password", "p"}, key: `"sasl-mechanism"`},
		{args: []string{"--sasl-mechanism", "PLAIN", "--sasl-password", "p"}, key: `"sasl-username"`},
		{args: []string{"--sasl-mechanism", "SCRAM-SHA-256", "--sasl-username", "u"}, key: `"sasl-password"`},
		{args: []string{"--sasl-username", "u"}, key: `"sasl-username"`},
		{args: []string{"--sasl-mechanism", "PLAIN", "--sasl-username", "u", "--sasl-password-file", "/nonexistent/password"}, key: `"sasl-password-file"`},
		{args: []string{"--sasl-password", "p", "--sasl-password-file", "/etc/hostname"}, key: `"sasl-password-file"`},
		{args: []string{"--tls-ca-file", "/etc/hostname"}, key: `"tls-ca-file"`},
		{args: []string{"--tls", "--tls-ca-file", "/nonexistent/ca.pem"}, key: `"tls-ca-file"`},
		{args: []string{"--tls", "--tls-ca-file", "/etc/hostname"}, key: `"tls-ca-file"`},
		{args: []string{"--tls", "--tls-cert-file", "/nonexistent/client.pem", "--tls-key-file", "/nonexistent/client.key"}, key: `"tls-cert-file"`},
		{args: []string{"--tls", "--tls-cert-file", "/etc/hostname"}, key: `"tls-key-file"`},
		{args: []string{"--tls", "--tls-key-file", "/etc/hostname"}, key: `"tls-cert-file"`},
		{args: []string{"--tls-insecure-skip-verify"}, key: `"tls-insecure-skip-verify"`},
		{env: map[string]string{"OSCHECK_SASL_MECHANISM": "PLAIN", "OSCHECK_SASL_USERNAME": "u"}, key: `"sasl-password"`},
		{args: []string{"--processing-guarantee", "exactly_once"}, key: `"processing-guarantee"`},
		{args: []string{"--commit-interval", "0s"}, key: `"commit-interval"`},
		// Hole 3: a wall-clock time is not the same when a record is read
		// again, and at_least_once reads records again.
		{args: []string{"--processing-guarantee", "at_least_once", "--time-source", "wall"}, key: `"time-source"`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " ")+envString(c.env), func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, append([]string{"run", "--http-addr", ""}, c.args...), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.key) {
				t.Fatalf("got %v, want an error naming %s", err, c.key)
			}
		})
	}
}

func envString(env map[string]string) string {
	var s []string
	for k, v := range env {
		s = append(s, k+"="+v)
	}
	return strings.Join(s, " ")
}

// TestConfigFile checks precedence (flag > env > file) and that unknown keys
// in the file are reported.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "oscheck.yaml")
	if err := os.WriteFile(path, []byte("window: 5s\ngrace: 3s\nformat: json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OSCHECK_GRACE", "4s")
	fs := newRunFlags()
	v, err := settings(fs, []string{"--config", path, "--format", "text"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := serviceConfig(v)
	if err != nil {
		t.Fatal(err)
	}
	if c.Window != 5*time.Second || c.Grace != 4*time.Second || c.Format != "text" {
		t.Errorf("got window %v grace %v format %s; want 5s (file), 4s (env), text (flag)", c.Window, c.Grace, c.Format)
	}

	if err := os.WriteFile(path, []byte("window: 5s\nwindwo: 3s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := settings(newRunFlags(), []string{"--config", path}); err == nil || !strings.Contains(err.Error(), `"windwo"`) {
		t.Errorf("got %v, want an error naming the unknown key \"windwo\"", err)
	}
}

// TestRunRejectsMissingInput checks the service refuses to start without its
// input topic rather than waiting for it.
func TestRunRejectsMissingInput(t *testing.T) {
	brokers := startBroker(t, 1, "something_else")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := run(ctx, []string{"run", "--brokers", brokers[0], "--http-addr", ""}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"input"`) || !strings.Contains(err.Error(), "access_log") {
		t.Fatalf("got %v, want an error naming key \"input\" and topic access_log", err)
	}
}
