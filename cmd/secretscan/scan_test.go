package main

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
)

// holdsSecret reports whether s still holds anything a detector looks for.
func holdsSecret(s string) bool {
	for _, d := range detectors {
		if d.mask.MatchString(s) {
			return true
		}
	}
	return false
}

func TestDetectors(t *testing.T) {
	pw := secrettest.Password(t)
	sasl := "\x00oscheck\x00" + pw // SASL PLAIN's message
	key, err := os.ReadFile(secrettest.NewCA(t, "test CA").Client(t, "c").KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{
		"password":        "level=INFO msg=connecting password=" + pw + " user=oscheck",
		"hex password":    fmt.Sprintf("request bytes %x", sasl),
		"HEX password":    fmt.Sprintf("REQUEST %X", sasl),
		"base64 0":        "auth=" + base64.StdEncoding.EncodeToString([]byte(pw)),
		"base64 1":        "auth=" + base64.StdEncoding.EncodeToString([]byte("x"+pw)),
		"base64 2":        "auth=" + base64.StdEncoding.EncodeToString([]byte("xy"+pw)),
		"base64 SASL":     "auth=" + base64.StdEncoding.EncodeToString([]byte(sasl)),
		"base64 URL":      "auth=" + base64.URLEncoding.EncodeToString([]byte("\xff\xfe"+pw)),
		"PEM key header":  strings.SplitN(string(key), "\n", 2)[0],
		"PEM key with %q": fmt.Sprintf("key=%q", key),
		"EC key":          "-----BEGIN EC PRIVATE KEY-----",
		"encrypted key":   "-----BEGIN ENCRYPTED PRIVATE KEY-----",
	}
	for name, line := range found {
		var s scanner
		s.scanLine("file", "", 1, line)
		if len(s.hits) != 1 {
			t.Errorf("%s: %d hits, want 1", name, len(s.hits))
			continue
		}
		if holdsSecret(s.hits[0].text) || strings.Contains(s.hits[0].text, pw) || strings.Contains(s.hits[0].text, "PRIVATE KEY") {
			t.Errorf("%s: hit %q holds the secret", name, masked(s.hits[0].text))
		}
	}
	for name, line := range map[string]string{
		"certificate": "-----BEGIN CERTIFICATE-----",
		"public key":  "-----BEGIN PUBLIC KEY-----",
		"prose":       "the private key file is unreadable: permission denied",
		"a word":      "oscheck-test-secrets are made by secrettest", // no marker: no '-' after secret
		"hex":         hex.EncodeToString([]byte("oscheck-test-")),
	} {
		var s scanner
		s.scanLine("file", "", 1, line)
		if len(s.hits) != 0 {
			t.Errorf("%s: hit %q, want none", name, s.hits[0])
		}
	}
}

func TestHitLine(t *testing.T) {
	pw := secrettest.Password(t)
	var s scanner
	s.scanLine("x.log", "", 7, "\t"+strings.Repeat("a", 300)+" password="+pw+" "+strings.Repeat("b", 300)+"\n")
	if len(s.hits) != 1 {
		t.Fatalf("%d hits", len(s.hits))
	}
	want := "x.log:7: password: …" + strings.Repeat("a", 50) + " password=[masked password] " + strings.Repeat("b", 82) + "…"
	if got := s.hits[0].String(); got != want {
		t.Errorf("hit\n%s\nwant\n%s", got, want)
	}
}

func TestScanDir(t *testing.T) {
	pw := secrettest.Password(t)
	ca := secrettest.NewCA(t, "test CA")
	key, err := os.ReadFile(ca.Server(t).KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := os.ReadFile(ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"TestClean-1.log":            "time=... level=INFO msg=started\nno secrets here\n",
		"TestKey-1/broker.log":       "loading\n" + string(key) + "done\n",
		"TestPassword-1.log":         "a\nb\nsasl password=" + pw, // no final newline
		"TestCert-1/ca.crt":          string(cert),
		"TestPassword-1/nested/x.db": "\x00\x01binary\xff" + pw + "\x00",
	}
	total := writeFiles(t, dir, files)
	var s scanner
	if err := s.scanDir(dir); err != nil {
		t.Fatal(err)
	}
	if s.files != 5 || s.fileBytes != total {
		t.Errorf("scanned %d files, %d bytes; want 5, %d", s.files, s.fileBytes, total)
	}
	var got []string
	for _, h := range s.hits {
		got = append(got, fmt.Sprintf("%s:%d %s", h.where, h.line, h.kinds))
	}
	want := []string{"TestKey-1/broker.log:2 private key", "TestPassword-1/nested/x.db:1 password", "TestPassword-1.log:3 password"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("hits %q, want %q", got, want)
	}
}
