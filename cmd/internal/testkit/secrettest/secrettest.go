// Package secrettest gives tests their secrets (passwords, certificates and
// keys) in a form that a scan of the test suite's logs can recognise, and
// sends component logs where that scan looks (cmd/secretscan runs the
// suite and does the scan). Apart from cmd/secretscan, which uses its
// marker, it is imported from _test.go files only.
package secrettest

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"testing"
)

// Marker begins every password that Password returns. A log line holding it
// holds a password; cmd/secretscan fails the run when it sees one.
const Marker = "oscheck-test-secret-"

// PrivateKeyPattern matches the header of a PEM private key of any type
// ("PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", ...), as written
// by this package's KeyFile and by anything else.
var PrivateKeyPattern = regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)

// Password returns a fresh random password: Marker followed by 16 hex
// digits. Every password a test uses comes from here, so that a scan finds
// one anywhere by the marker.
func Password(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return Marker + hex.EncodeToString(b)
}
