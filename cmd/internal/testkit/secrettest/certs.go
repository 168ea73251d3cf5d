package secrettest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a self-signed certificate authority made for one test. Its key never
// leaves memory; only its certificate is written out.
type CA struct {
	Cert     *x509.Certificate
	CertFile string // PEM certificate, as for a CA-file setting

	key *ecdsa.PrivateKey
}

// Pair is a certificate signed by a CA with its private key, in memory and
// as PEM files in a directory of the test's own (t.TempDir()).
type Pair struct {
	Cert     tls.Certificate // with Leaf set
	CertFile string          // PEM certificate (the leaf only)
	KeyFile  string          // PEM PKCS #8 private key, mode 0600
}

// validity covers clock skew between the test and anything it runs, and any
// test's length.
const validity = 24 * time.Hour

// NewCA returns a new ECDSA P-256 certificate authority whose subject common
// name is name. It fails the test if it cannot.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := template(t, name)
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.MaxPathLenZero = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("secrettest: CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("secrettest: CA certificate: %v", err)
	}
	file := filepath.Join(t.TempDir(), "ca.crt")
	writePEM(t, file, "CERTIFICATE", der, 0o644)
	return &CA{Cert: cert, CertFile: file, key: key}
}

// Pool returns a new pool holding only the CA's certificate, for RootCAs
// (clients) or ClientCAs (servers).
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Server returns a server certificate, good for TLS server authentication,
// for hosts: IP addresses become IP SANs, anything else DNS SANs. With no
// hosts it is for 127.0.0.1, ::1 and localhost, where test brokers listen.
func (ca *CA) Server(t testing.TB, hosts ...string) Pair {
	t.Helper()
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "::1", "localhost"}
	}
	tmpl := template(t, hosts[0])
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.sign(t, tmpl, "server")
}

// Client returns a client certificate, good for TLS client authentication,
// whose subject common name is commonName.
func (ca *CA) Client(t testing.TB, commonName string) Pair {
	t.Helper()
	tmpl := template(t, commonName)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return ca.sign(t, tmpl, "client")
}

// ServerTLS returns a server configuration (for kfake.TLS, say) presenting
// pair and verifying client certificates against ca as clientAuth says
// (tls.NoClientCert for none, tls.RequireAndVerifyClientCert for mutual TLS).
func ServerTLS(ca *CA, pair Pair, clientAuth tls.ClientAuthType) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair.Cert},
		ClientCAs:    ca.Pool(),
		ClientAuth:   clientAuth,
	}
}

// ClientTLS returns a client configuration that trusts ca only and, unless
// pair is nil, presents it. It verifies the server's name against the
// address dialed, as Kafka clients do.
func ClientTLS(ca *CA, pair *Pair) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: ca.Pool()}
	if pair != nil {
		c.Certificates = []tls.Certificate{pair.Cert}
	}
	return c
}

func (ca *CA) sign(t testing.TB, tmpl *x509.Certificate, base string) Pair {
	t.Helper()
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("secrettest: %s certificate: %v", base, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("secrettest: %s certificate: %v", base, err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("secrettest: %s key: %v", base, err)
	}
	dir := t.TempDir()
	p := Pair{
		Cert:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		CertFile: filepath.Join(dir, base+".crt"),
		KeyFile:  filepath.Join(dir, base+".key"),
	}
	writePEM(t, p.CertFile, "CERTIFICATE", der, 0o644)
	writePEM(t, p.KeyFile, "PRIVATE KEY", pkcs8, 0o600)
	return p
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("secrettest: key: %v", err)
	}
	return key
}

// template starts a certificate valid from an hour ago for validity, with a
// random 128-bit serial number.
func template(t testing.TB, commonName string) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		t.Fatalf("secrettest: serial number: %v", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"oscheck tests"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
	}
}

func writePEM(t testing.TB, path, typ string, der []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		t.Fatalf("secrettest: %v", err)
	}
}
