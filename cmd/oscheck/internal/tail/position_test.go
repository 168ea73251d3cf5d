package tail

import (
	"strings"
	"testing"
)

func TestPositionText(t *testing.T) {
	fp := fingerprint([]byte("x"))
	for _, p := range []Position{
		{Path: "/var/log/nginx/access.log", Dev: 2049, Inode: 1311, FingerprintLen: 1024, Fingerprint: fp, Offset: 104857600},
		{Path: "", Inode: 1},
		{Path: "with space \"quotes\" \\ and\nnewline \xff\xfe é", Dev: 1<<64 - 1, Inode: 1<<64 - 1, FingerprintLen: 1 << 62, Fingerprint: fp, Offset: 1 << 62},
		{Path: "/" + strings.Repeat("p", 800), Inode: 7, FingerprintLen: 1, Fingerprint: fp, Offset: 1},
	} {
		b, err := p.MarshalText()
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		if len(b) > 1024 || strings.ContainsAny(string(b), "\n\r\x00") {
			t.Fatalf("%q: %d bytes, or not one line", b, len(b))
		}
		var got Position
		if err := got.UnmarshalText(b); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		if got != p {
			t.Fatalf("round trip of %+v gave %+v", p, got)
		}
	}
}

func TestPositionTextTooLong(t *testing.T) {
	p := Position{Path: "/" + strings.Repeat("p", 1000), Inode: 7}
	if b, err := p.MarshalText(); err == nil {
		t.Fatalf("MarshalText of a %d-byte path gave %d bytes and no error", len(p.Path), len(b))
	}
}

func TestPositionTextInvalid(t *testing.T) {
	fp := fingerprint([]byte("x"))
	good := "tail1 dev=1 ino=2 off=10 fp=3:" + fp + ` path="/a"`
	var p Position
	if err := p.UnmarshalText([]byte(good)); err != nil {
		t.Fatalf("%s: %v", good, err)
	}
	want := p
	for _, s := range []string{
		"",
		"tail2 dev=1 ino=2 off=10 fp=3:" + fp + ` path="/a"`,
		"tail1 dev=1 ino=2 off=10 fp=3:" + fp,
		"tail1 ino=2 dev=1 off=10 fp=3:" + fp + ` path="/a"`,
		"tail1 dev=-1 ino=2 off=10 fp=3:" + fp + ` path="/a"`,
		"tail1 dev=1 ino=0 off=10 fp=3:" + fp + ` path="/a"`,
		"tail1 dev=1 ino=2 off=x fp=3:" + fp + ` path="/a"`,
		"tail1 dev=1 ino=2 off=99999999999999999999 fp=3:" + fp + ` path="/a"`,
		"tail1 dev=1 ino=2 off=10 fp=11:" + fp + ` path="/a"`,
		"tail1 dev=1 ino=2 off=10 fp=3" + fp + ` path="/a"`,
		"tail1 dev=1 ino=2 off=10 fp=3:" + strings.ToUpper(fp) + ` path="/a"`,
		"tail1 dev=1 ino=2 off=10 fp=3:" + fp[1:] + ` path="/a"`,
		"tail1 dev=1 ino=2 off=10 fp=0:" + fp + ` path="/a"`,
		"tail1 dev=1 ino=2 off=10 fp=3: path=\"/a\"",
		"tail1 dev=1 ino=2 off=10 fp=3:" + fp + ` path=/a`,
		"tail1 dev=1 ino=2 off=10 fp=3:" + fp + ` path="/a" extra`,
		"tail1 dev=1 ino=2 off=10 fp=3:" + fp + ` file="/a"`,
	} {
		if err := p.UnmarshalText([]byte(s)); err == nil {
			t.Errorf("UnmarshalText(%q) succeeded: %+v", s, p)
		}
		if p != want {
			t.Fatalf("failed UnmarshalText(%q) changed the Position to %+v", s, p)
		}
	}
}
