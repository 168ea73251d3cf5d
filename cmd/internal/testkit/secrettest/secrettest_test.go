package secrettest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestPassword(t *testing.T) {
	a, b := Password(t), Password(t)
	shape := regexp.MustCompile(`^` + regexp.QuoteMeta(Marker) + `[0-9a-f]{16}$`)
	if !shape.MatchString(a) || !shape.MatchString(b) {
		t.Fatal("a password is not the marker and 16 hex digits") // not printed: it is a secret
	}
	if a == b {
		t.Fatal("two passwords are the same")
	}
}

// handshake runs a TLS handshake over a loopback TCP connection (net.Pipe
// has no buffer: a failing side's alert and the other's flight would block
// each other) and returns the client's error, else the server's, and the
// server's view of the connection.
func handshake(t *testing.T, server, client *tls.Config) (error, tls.ConnectionState) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type result struct {
		err   error
		state tls.ConnectionState
	}
	done := make(chan result, 1)
	go func() {
		s := tls.Server(sc, server)
		err := s.HandshakeContext(ctx)
		done <- result{err, s.ConnectionState()}
	}()
	c := tls.Client(cc, client)
	err = c.HandshakeContext(ctx)
	if err != nil {
		cc.Close() // the server waits for a client that gave up
	}
	r := <-done
	sc.Close()
	cc.Close()
	if err == nil {
		err = r.err // in TLS 1.3 the client is done before the server checks its certificate
	}
	return err, r.state
}

// clientFromFiles builds a client configuration from the PEM files only, as
// a program given a CA file, certificate and key would.
func clientFromFiles(t *testing.T, caFile string, pair *Pair) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	c := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	if pair != nil {
		cert, err := tls.LoadX509KeyPair(pair.CertFile, pair.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c
}

func TestServerTrustedByCA(t *testing.T) {
	ca := NewCA(t, "test CA")
	srv := ca.Server(t)
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		c := ClientTLS(ca, nil)
		c.ServerName = name
		if err, _ := handshake(t, ServerTLS(ca, srv, tls.NoClientCert), c); err != nil {
			t.Errorf("server name %s: %v", name, err)
		}
	}
	if err, _ := handshake(t, ServerTLS(ca, srv, tls.NoClientCert), clientFromFiles(t, ca.CertFile, nil)); err != nil {
		t.Errorf("client from the CA file: %v", err)
	}
	c := ClientTLS(ca, nil)
	c.ServerName = "example.com"
	var host x509.HostnameError
	if err, _ := handshake(t, ServerTLS(ca, srv, tls.NoClientCert), c); !errors.As(err, &host) {
		t.Errorf("name not in the certificate: %v, want a x509.HostnameError", err)
	}
}

func TestServerNotTrustedByAnotherCA(t *testing.T) {
	ca, other := NewCA(t, "test CA"), NewCA(t, "other CA")
	c := ClientTLS(other, nil)
	c.ServerName = "localhost"
	err, _ := handshake(t, ServerTLS(ca, ca.Server(t, "localhost"), tls.NoClientCert), c)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("handshake: %v, want a x509.UnknownAuthorityError", err)
	}
}

func TestMutualTLS(t *testing.T) {
	ca := NewCA(t, "test CA")
	server := ServerTLS(ca, ca.Server(t, "localhost"), tls.RequireAndVerifyClientCert)
	client := ca.Client(t, "oscheck-client")

	c := ClientTLS(ca, &client)
	c.ServerName = "localhost"
	err, state := handshake(t, server, c)
	if err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}
	if len(state.PeerCertificates) == 0 || state.PeerCertificates[0].Subject.CommonName != "oscheck-client" {
		t.Errorf("server saw client certificates %v, want CN oscheck-client", state.PeerCertificates)
	}
	if err, _ := handshake(t, server, clientFromFiles(t, ca.CertFile, &client)); err != nil {
		t.Errorf("with the client certificate from its files: %v", err)
	}

	c = ClientTLS(ca, nil)
	c.ServerName = "localhost"
	if err, _ := handshake(t, server, c); err == nil {
		t.Error("without a client certificate the handshake succeeded")
	}
	stranger := NewCA(t, "other CA").Client(t, "stranger")
	c = ClientTLS(ca, &stranger)
	c.ServerName = "localhost"
	if err, _ := handshake(t, server, c); err == nil {
		t.Error("with a client certificate of another CA the handshake succeeded")
	}
}

func TestFiles(t *testing.T) {
	ca := NewCA(t, "test CA")
	for _, p := range []Pair{ca.Server(t), ca.Client(t, "c")} {
		fi, err := os.Stat(p.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p.KeyFile), fi.Mode().Perm())
		}
		b, err := os.ReadFile(p.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		if !PrivateKeyPattern.Match(b) {
			t.Errorf("%s does not match PrivateKeyPattern", filepath.Base(p.KeyFile))
		}
		if p.Cert.Leaf == nil || p.Cert.Leaf.Issuer.CommonName != "test CA" {
			t.Errorf("pair's leaf %v, want one issued by the test CA", p.Cert.Leaf)
		}
	}
	b, err := os.ReadFile(ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "-----BEGIN CERTIFICATE-----") || PrivateKeyPattern.Match(b) {
		t.Error("the CA file is not one PEM certificate")
	}
}

func TestLogFile(t *testing.T) {
	t.Setenv(LogDirEnv, "")
	if w := LogFile(t); w != io.Discard {
		t.Fatalf("without %s: %T, want io.Discard", LogDirEnv, w)
	}
	root := t.TempDir()
	t.Setenv(LogDirEnv, root)
	var a, b io.Writer
	t.Run("sub test/x", func(t *testing.T) {
		a, b = LogFile(t), LogFile(t)
		io.WriteString(a, "first\n")
		io.WriteString(b, "second\n")
		if d := LogDir(t); filepath.Dir(d) != root {
			t.Errorf("LogDir %s, want one in %s", d, root)
		}
	})
	if n, err := io.WriteString(a, "after the end\n"); n != 14 || err != nil {
		t.Errorf("write after the end: %d, %v; want it dropped quietly", n, err)
	}
	for file, want := range map[string]string{
		"TestLogFile_sub_test_x-1.log": "first\n",
		"TestLogFile_sub_test_x-2.log": "second\n",
	} {
		got, err := os.ReadFile(filepath.Join(root, file))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", file, got, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "TestLogFile_sub_test_x-1")); err != nil || !fi.IsDir() {
		t.Errorf("LogDir made no directory TestLogFile_sub_test_x-1: %v", err)
	}
}
