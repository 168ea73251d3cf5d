package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/oscheck/oscheck/cmd/internal/testkit/faultnet"
	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
	"github.com/oscheck/oscheck/processor/output"
	"github.com/oscheck/oscheck/topology/cluster"
)

// secureBroker is a kfake cluster with SASL, TLS or both, and what a client
// needs to reach it.
type secureBroker struct {
	addrs    []string
	ca       *secrettest.CA
	client   *secrettest.Pair // for mutual TLS, else nil
	user     string
	password string
	mech     string
}

// startSecureBroker starts a broker whose superuser authenticates with mech
// ("" for no SASL), over TLS when tlsMode is not "" ("tls", or "mtls" to
// require a client certificate).
func startSecureBroker(t *testing.T, partitions int32, mech, tlsMode string, extra ...kfake.Opt) *secureBroker {
	t.Helper()
	b := &secureBroker{user: "oscheck", password: secrettest.Password(t), mech: mech}
	var opts []kfake.Opt
	if mech != "" {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(mech, b.user, b.password))
	}
	if tlsMode != "" {
		b.ca = secrettest.NewCA(t, "oscheck test CA")
		auth := tls.NoClientCert
		if tlsMode == "mtls" {
			auth = tls.RequireAndVerifyClientCert
			c := b.ca.Client(t, "oscheck")
			b.client = &c
		}
		opts = append(opts, kfake.TLS(secrettest.ServerTLS(b.ca, b.ca.Server(t), auth)))
	}
	b.addrs = startBroker(t, partitions, "access_log", append(opts, extra...)...)
	return b
}

// security is the settings that reach b as its superuser.
func (b *secureBroker) security() cluster.Security {
	s := cluster.Security{SASLMechanism: b.mech}
	if b.mech != "" {
		s.SASLUsername, s.SASLPassword = b.user, cluster.Secret(b.password)
	}
	if b.ca != nil {
		s.TLS, s.TLSCAFile = true, b.ca.CertFile
		if b.client != nil {
			s.TLSCertFile, s.TLSKeyFile = b.client.CertFile, b.client.KeyFile
		}
	}
	return s
}

// kgoOpts are the test clients' options for b, from the same settings.
func (b *secureBroker) kgoOpts(t *testing.T) []kgo.Opt {
	t.Helper()
	opts, err := b.security().KgoOpts(b.addrs)
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

// flags are oscheck's flags for b; the password goes in a file, as from a
// mounted secret.
func (b *secureBroker) flags(t *testing.T) []string {
	t.Helper()
	args := []string{"--brokers", strings.Join(b.addrs, ",")}
	s := b.security()
	if s.SASLMechanism != "" {
		file := passwordFile(t, b.password+"\n")
		args = append(args, "--sasl-mechanism", s.SASLMechanism, "--sasl-username", s.SASLUsername, "--sasl-password-file", file)
	}
	if s.TLS {
		args = append(args, "--tls", "--tls-ca-file", s.TLSCAFile)
		if s.TLSCertFile != "" {
			args = append(args, "--tls-cert-file", s.TLSCertFile, "--tls-key-file", s.TLSKeyFile)
		}
	}
	return args
}

// passwordFile writes text to a file of its own, as a mounted secret, and
// returns its path.
func passwordFile(t *testing.T, text string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestSecureEndToEnd runs the service against brokers that require each SASL
// mechanism, TLS and mutual TLS, and checks the counts, that the clients
// besides the processors (the probe behind /readyz, the view behind
// /windows) get through too, and that the log holds the settings with the
// password redacted, never the password.
func TestSecureEndToEnd(t *testing.T) {
	for _, tc := range []struct{ name, mech, tls string }{
		{"PLAIN over TLS", cluster.SASLPlain, "tls"},
		{"SCRAM-SHA-256", cluster.SASLSCRAMSHA256, ""},
		{"SCRAM-SHA-512 over mutual TLS", cluster.SASLSCRAMSHA512, "mtls"},
		{"mutual TLS only", "", "mtls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const partitions = 2
			window, grace := 2*time.Second, time.Second
			b := startSecureBroker(t, partitions, tc.mech, tc.tls)
			s := makeStream(4_000, partitions, time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC), 20*time.Second, window, grace, 31)
			produce(t, b.addrs, s.records, b.kgoOpts(t)...)
			addr := freeAddr(t)
			logs := service(t, append(b.flags(t), "--window", window.String(), "--grace", grace.String(),
				"--idle-timeout", "1s", "--http-addr", addr, "--log-level", "debug")...)
			awaitFinals(t, b.addrs, output.KStreams, window, s.want(), 90*time.Second, b.kgoOpts(t)...)
			settle(t, b.addrs, 0, 90*time.Second, b.kgoOpts(t)...)
			checkFinals(t, readAll(t, b.addrs, "os-check", b.kgoOpts(t)...), window, s.want())
			awaitStatus(t, addr, http.StatusOK, "ready")
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				var all windowsAnswer
				getJSON(t, "http://"+addr+"/windows?last=1000", &all)
				got := make(map[windowKey]int64)
				for _, w := range all.Windows {
					got[windowKey{w.OSType, w.Start}] = w.Count
				}
				if maps.Equal(got, s.counts) {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("/windows has %d windows, want the %d of the ground truth", len(got), len(s.counts))
					break
				}
			}
			log := logs.String()
			if b.password != "" && strings.Contains(log, b.password) {
				t.Error("the service log holds the SASL password")
			}
			if tc.mech != "" && !strings.Contains(log, "sasl-password=[redacted]") {
				t.Errorf("the start-up log does not show the redacted password setting:\n%s", firstLines(log, 5))
			}
		})
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// TestSecureCommands sends lines with gen and ship and reads os-check with
// read, through a broker requiring SCRAM over TLS, the password from
// OSCHECK_SASL_PASSWORD.
func TestSecureCommands(t *testing.T) {
	b := startSecureBroker(t, 1, cluster.SASLSCRAMSHA512, "tls", kfake.SeedTopics(1, "os-check"))
	flags := []string{"--brokers", b.addrs[0], "--sasl-mechanism", b.mech, "--sasl-username", b.user,
		"--tls", "--tls-ca-file", b.ca.CertFile}
	t.Setenv("OSCHECK_SASL_PASSWORD", b.password)
	ctx := context.Background()
	var stdout, stderr syncBuffer
	if err := run(ctx, append([]string{"gen", "--rate", "0", "--count", "300", "--topic", "access_log"}, flags...), &stdout, &stderr); err != nil {
		t.Fatalf("gen: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "wrote 300 lines") {
		t.Fatalf("gen: %s", stdout.String())
	}
	access := filepath.Join(t.TempDir(), "access.log")
	line := `127.0.0.1 - - [14/Aug/2019:00:43:08 +0000] "GET /?os_type=android HTTP/1.1" 200 5 "-" "curl/8"` + "\n"
	if err := os.WriteFile(access, []byte(strings.Repeat(line, 5)), 0o644); err != nil {
		t.Fatal(err)
	}
	shipper := startShip(t, append([]string{"--file", access, "--poll-interval", "50ms"}, flags...)...)
	if n := len(consume(t, b.addrs, "access_log", b.kgoOpts(t)...).waitFor(305, 30*time.Second)); n != 305 {
		t.Fatalf("access_log has %d records, want 300 from gen and 5 from ship", n)
	}
	shipper.stop()
	final := &kgo.Record{Topic: "os-check", Key: binary.BigEndian.AppendUint64([]byte("android"), 1565743788000),
		Value: binary.BigEndian.AppendUint64(nil, 7)}
	produce(t, b.addrs, []*kgo.Record{final}, b.kgoOpts(t)...)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var read syncBuffer
	if err := run(rctx, append([]string{"read", "--topic", "os-check"}, flags...), &read, &stderr); err != nil {
		t.Fatalf("read: %v\n%s", err, stderr.String())
	}
	if got, want := strings.TrimSpace(read.String()), "[android@1565743788000/1565743790000] 7"; got != want {
		t.Errorf("read printed %q, want %q", got, want)
	}
	if strings.Contains(stderr.String(), b.password) || strings.Contains(shipper.logs.String(), b.password) {
		t.Error("gen, ship or read logged the password")
	}
}

// TestSecurityFailures starts the oscheck binary against brokers it cannot
// use as configured. Each must exit non-zero within 30 s, its last line of
// output one line that names the cause (and the key at fault), and nothing
// it prints may hold the password.
func TestSecurityFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := oscheckBinary(t)
	denyWrite := func(topic string) kfake.ACL {
		return kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: topic, Pattern: kmsg.ACLResourcePatternTypeLiteral,
			Operation: kmsg.ACLOperationWrite, Allow: false}
	}
	denyGroup := func(group string) kfake.ACL {
		return kfake.ACL{Resource: kmsg.ACLResourceTypeGroup, Name: group, Pattern: kmsg.ACLResourcePatternTypeLiteral,
			Operation: kmsg.ACLOperationAll, Allow: false}
	}
	denyTransactions := func(op kmsg.ACLOperation) kfake.ACL {
		return kfake.ACL{Resource: kmsg.ACLResourceTypeTransactionalId, Name: "os-check-streams-", Pattern: kmsg.ACLResourcePatternTypePrefixed,
			Operation: op, Allow: false}
	}
	// aclBroker lets SASL user "app" do everything but what deny forbids.
	aclBroker := func(deny kfake.ACL) func(t *testing.T) ([]string, string) {
		return func(t *testing.T) ([]string, string) {
			password := secrettest.Password(t)
			b := startSecureBroker(t, 2, cluster.SASLSCRAMSHA256, "", kfake.EnableACLs(), appUser(password, deny))
			file := passwordFile(t, password)
			return []string{"--brokers", b.addrs[0], "--sasl-mechanism", cluster.SASLSCRAMSHA256, "--sasl-username", "app",
				"--sasl-password-file", file}, password
		}
	}
	cases := []struct {
		name string
		args func(t *testing.T) ([]string, string) // flags, and the password to look for in the output
		want []string                              // in the last line
	}{
		{"wrong password", func(t *testing.T) ([]string, string) {
			b := startSecureBroker(t, 2, cluster.SASLSCRAMSHA256, "")
			wrong := secrettest.Password(t)
			return []string{"--brokers", b.addrs[0], "--sasl-mechanism", b.mech, "--sasl-username", b.user, "--sasl-password", wrong}, wrong
		}, []string{`config key "sasl-password"`, `user "oscheck"`, "wrong user name or password"}},
		{"no SASL against a SASL broker", func(t *testing.T) ([]string, string) {
			b := startSecureBroker(t, 2, cluster.SASLSCRAMSHA512, "")
			return []string{"--brokers", b.addrs[0]}, b.password
		}, []string{`config key "sasl-mechanism"`, "SASL"}},
		{"unknown CA", func(t *testing.T) ([]string, string) {
			b := startSecureBroker(t, 2, "", "tls")
			other := secrettest.NewCA(t, "some other CA")
			return []string{"--brokers", b.addrs[0], "--tls", "--tls-ca-file", other.CertFile}, ""
		}, []string{`config key "tls-ca-file"`, "unknown authority"}},
		{"plaintext client on a TLS port", func(t *testing.T) ([]string, string) {
			b := startSecureBroker(t, 2, "", "tls")
			return []string{"--brokers", b.addrs[0]}, ""
		}, []string{`config key "tls"`, "speaks only TLS"}},
		{"TLS client on a plaintext port", func(t *testing.T) ([]string, string) {
			b := startSecureBroker(t, 2, "", "")
			return []string{"--brokers", b.addrs[0], "--tls"}, ""
		}, []string{`config key "tls"`}},
		{"no client certificate for mutual TLS", func(t *testing.T) ([]string, string) {
			b := startSecureBroker(t, 2, "", "mtls")
			return []string{"--brokers", b.addrs[0], "--tls", "--tls-ca-file", b.ca.CertFile}, ""
		}, []string{`config key "tls-cert-file"`, "client certificate"}},
		{"unreachable broker", func(t *testing.T) ([]string, string) {
			return []string{"--brokers", freeAddr(t)}, ""
		}, []string{`config key "brokers"`, "connection refused"}},
		{"broker that never answers", func(t *testing.T) ([]string, string) {
			return []string{"--brokers", silentListener(t)}, ""
		}, []string{`config key "brokers"`}},
		{"ACLs deny writing the dead-letter topic", aclBroker(denyWrite("os-check-streams-dlq")),
			[]string{`dead-letter topic "os-check-streams-dlq"`, `SASL user "app"`, "lacks Write"}},
		{"ACLs deny writing the output topic", aclBroker(denyWrite("os-check")),
			[]string{`output topic "os-check"`, `SASL user "app"`, "lacks Write"}},
		{"ACLs deny the window stage's group", aclBroker(denyGroup("os-check-streams-window")),
			[]string{`consumer group "os-check-streams-window"`, `SASL user "app"`, "grant it Read"}},
		// Describe is asked by the start-up check; Write only by the
		// producer's initialisation, when the stage starts.
		{"ACLs deny the transactional ids", aclBroker(denyTransactions(kmsg.ACLOperationAll)),
			[]string{`transactional id "os-check-streams-parse-`, `SASL user "app"`, "grant it Write and Describe"}},
		{"ACLs deny writing transactions", aclBroker(denyTransactions(kmsg.ACLOperationWrite)),
			[]string{`transactional id "os-check-streams-`, `SASL user "app"`, "grant it Write and Describe"}},
		{"brokers too old for exactly_once_v2", func(t *testing.T) ([]string, string) {
			v := kversion.Stable()
			v.SetMaxKeyVersion(kmsg.TxnOffsetCommit.Int16(), 2) // Kafka 2.4's
			return []string{"--brokers", startBroker(t, 2, "access_log", kfake.MaxVersions(v))[0]}, ""
		}, []string{`config key "processing-guarantee"`, "Kafka 2.5 or later", "at_least_once"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args, password := tc.args(t)
			code, took, out := runBinary(t, bin, append([]string{"run", "--http-addr", "", "--log-level", "debug"}, args...)...)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			last := lines[len(lines)-1]
			t.Logf("exit %d after %v: %s", code, took.Round(time.Millisecond), last)
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if took >= 30*time.Second {
				t.Errorf("took %v to exit, want under 30s", took)
			}
			if !strings.HasPrefix(last, "oscheck: ") {
				t.Errorf("last line %q is not the cause", last)
			}
			for _, w := range tc.want {
				if !strings.Contains(last, w) {
					t.Errorf("last line does not say %q", w)
				}
			}
			if password != "" && strings.Contains(out, password) {
				t.Error("the output holds the password")
			}
		})
	}
}

// silentListener accepts connections and never answers on them, as a
// blackholed broker or a hung process would.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 1000)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(conns)
				return
			}
			conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// runBinary runs bin with args for at most a minute and returns its exit
// status, how long it ran and its combined output, which also goes to the
// suite's log directory for the secret scan.
func runBinary(t *testing.T, bin string, args ...string) (int, time.Duration, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out syncBuffer
	cmd := exec.CommandContext(ctx, bin, args...)
	w := io.MultiWriter(&out, secrettest.LogFile(t))
	cmd.Stdout, cmd.Stderr = w, w
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, took, out.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), took, out.String()
	}
	t.Fatalf("running %s: %v", bin, err)
	return 0, 0, ""
}

// TestACLsRevokedWhileRunning takes the right to write os-check away from a
// running service. Its window stage's emits then fail, and no retry or
// restart can cure that: `oscheck run` must stop with the cause, not retry
// for ever.
func TestACLsRevokedWhileRunning(t *testing.T) {
	const partitions = 2
	window, grace := 2*time.Second, time.Second
	password := secrettest.Password(t)
	b := startSecureBroker(t, partitions, cluster.SASLSCRAMSHA256, "", kfake.EnableACLs(), appUser(password))
	s := makeStream(4_000, partitions, time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC), 20*time.Second, window, grace, 5)
	halves := chunked(s.records, partitions, 2)
	first, rest := halves[0], halves[1]
	produce(t, b.addrs, first, b.kgoOpts(t)...)
	out := consume(t, b.addrs, "os-check", b.kgoOpts(t)...)
	file := passwordFile(t, password)
	p, log := serviceProcess(t, "oscheck", "--brokers", b.addrs[0], "--sasl-mechanism", cluster.SASLSCRAMSHA256,
		"--sasl-username", "app", "--sasl-password-file", file, "--window", window.String(), "--grace", grace.String(),
		"--idle-timeout", "1s", "--http-addr", "")
	if len(out.waitFor(1, time.Minute)) == 0 {
		t.Fatal("no final window before the ACL change")
	}

	createACL(t, b, denyWriteACL("os-check"))
	produce(t, b.addrs, rest, b.kgoOpts(t)...)

	start := time.Now()
	_, exited := p.Running()
	select {
	case <-exited:
		lines := strings.Split(strings.TrimSpace(log.String()), "\n")
		last := lines[len(lines)-1]
		t.Logf("oscheck run exited after %v (%v): %s", time.Since(start).Round(time.Millisecond), p.ExitErr(), last)
		var exit *exec.ExitError
		if !errors.As(p.ExitErr(), &exit) || exit.ExitCode() != 2 {
			t.Errorf("exit %v, want status 2", p.ExitErr())
		}
		if !strings.Contains(last, `output topic "os-check"`) || !strings.Contains(last, "lacks Write") {
			t.Errorf("last line %q does not name the output topic's ACLs", last)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("oscheck run still runs 90 s after its user lost the right to write os-check")
	}
}

// appUser is SASL user "app" (SCRAM-SHA-256), allowed everything on every
// topic, group and the cluster, except what deny forbids.
func appUser(password string, deny ...kfake.ACL) kfake.Opt {
	all := func(r kmsg.ACLResourceType, name string) kfake.ACL {
		return kfake.ACL{Resource: r, Name: name, Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationAll, Allow: true}
	}
	acls := append([]kfake.ACL{all(kmsg.ACLResourceTypeTopic, "*"), all(kmsg.ACLResourceTypeGroup, "*"),
		all(kmsg.ACLResourceTypeCluster, "kafka-cluster"), all(kmsg.ACLResourceTypeTransactionalId, "*")}, deny...)
	return kfake.User(cluster.SASLSCRAMSHA256, "app", password, acls...)
}

// TestInsecureSkipVerifyWarns connects without verifying the broker's
// certificate, which works against any TLS broker, and must say so loudly.
func TestInsecureSkipVerifyWarns(t *testing.T) {
	b := startSecureBroker(t, 1, "", "tls")
	logs := service(t, "--brokers", b.addrs[0], "--tls", "--tls-insecure-skip-verify", "--http-addr", "")
	awaitLog(t, logs, "msg=ready")
	if !strings.Contains(logs.String(), `level=WARN msg="TLS CERTIFICATE VERIFICATION IS OFF`) {
		t.Errorf("no warning that certificates go unchecked:\n%s", firstLines(logs.String(), 5))
	}
}

// TestStartWhileBrokerFlaps starts the service while the broker resets its
// first two connections. The start-up check reads a lost connection as a
// misconfiguration only when a third try fails too, so these starts must
// succeed: with SASL, where the connection without SASL that follows works
// (as after a wrong password), and without.
func TestStartWhileBrokerFlaps(t *testing.T) {
	for _, mech := range []string{cluster.SASLSCRAMSHA256, ""} {
		t.Run("SASL "+cmp.Or(mech, "off"), func(t *testing.T) {
			t.Parallel()
			var ln *faultnet.Listener
			b := startSecureBroker(t, 1, mech, "", faultyListen(&ln))
			ln.RefuseNext(2)
			logs := service(t, append(b.flags(t), "--http-addr", "")...)
			awaitLog(t, logs, "msg=ready")
			if s := ln.Stats(); s.Refused != 2 {
				t.Errorf("the listener refused %d connections, want 2", s.Refused)
			}
		})
	}
}
