package tail

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Position says where reading resumes: which file, by identity rather than
// by name so that it survives renames, and the byte offset just past the last
// line returned.
type Position struct {
	Path           string // the path the file was opened under; informational: identity is Inode and Fingerprint
	Dev, Inode     uint64 // from stat(2); Dev is informational too, as device numbers can change across reboots
	FingerprintLen int64  // how many of the file's first bytes Fingerprint covers: min(Offset, FingerprintSize)
	Fingerprint    string // hex SHA-256 of the file's first FingerprintLen bytes; "" when FingerprintLen is 0
	Offset         int64
}

// maxText bounds the text form of a Position: it is stored in Kafka
// offset-commit metadata, which brokers limit to 4096 bytes by default, and
// the shipper may want room for its own.
const maxText = 1024

// textVersion starts every text form, so that a future format can tell old
// positions apart instead of misreading them.
const textVersion = "tail1"

// MarshalText encodes p as one line of text of at most 1024 bytes, such as
//
//	tail1 dev=2049 ino=1311 off=104857600 fp=1024:9f86…(64 hex digits) path="/var/log/nginx/access.log"
//
// It fails when p is not a valid Position, or when Path is so long that the
// text would exceed 1024 bytes. An ordinary path, of printable ASCII other
// than '"' and '\', always fits up to 840 bytes; the text quotes the path,
// which expands other bytes.
func (p Position) MarshalText() ([]byte, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	b := fmt.Appendf(nil, "%s dev=%d ino=%d off=%d fp=%d:%s path=%q",
		textVersion, p.Dev, p.Inode, p.Offset, p.FingerprintLen, p.Fingerprint, p.Path)
	if len(b) > maxText {
		return nil, fmt.Errorf("tail: position of %.64q...: %d bytes as text, more than %d", p.Path, len(b), maxText)
	}
	return b, nil
}

// UnmarshalText decodes what MarshalText encoded. It accepts nothing else,
// and leaves p unchanged on error.
func (p *Position) UnmarshalText(b []byte) error {
	q, err := parsePosition(string(b))
	if err != nil {
		return fmt.Errorf("tail: position %.128q: %w", b, err)
	}
	*p = q
	return nil
}

func parsePosition(s string) (Position, error) {
	var p Position
	rest, ok := strings.CutPrefix(s, textVersion+" ")
	if !ok {
		return p, errors.New("does not start with " + textVersion)
	}
	f := strings.SplitN(rest, " ", 5) // the quoted path, last, may hold spaces
	if len(f) != 5 {
		return p, errors.New("too few fields")
	}
	var err error
	if p.Dev, err = uintField(f[0], "dev="); err != nil {
		return p, err
	}
	if p.Inode, err = uintField(f[1], "ino="); err != nil {
		return p, err
	}
	off, err := uintField(f[2], "off=")
	if err != nil {
		return p, err
	}
	fp, ok := strings.CutPrefix(f[3], "fp=")
	fpLen, hash, found := strings.Cut(fp, ":")
	if !ok || !found {
		return p, errors.New("no fp=LEN:HASH field")
	}
	n, err := uintField(fpLen, "")
	if err != nil {
		return p, err
	}
	quoted, ok := strings.CutPrefix(f[4], "path=")
	if !ok {
		return p, errors.New("no path= field")
	}
	if p.Path, err = strconv.Unquote(quoted); err != nil {
		return p, fmt.Errorf("path: %w", err)
	}
	if off > 1<<62 || n > 1<<62 {
		return p, errors.New("offset out of range")
	}
	p.Offset, p.FingerprintLen, p.Fingerprint = int64(off), int64(n), hash
	return p, p.validate()
}

func uintField(s, key string) (uint64, error) {
	v, ok := strings.CutPrefix(s, key)
	if !ok {
		return 0, fmt.Errorf("field %q: want %sNUMBER", s, key)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("field %q: %w", s, err)
	}
	return n, nil
}

// validate rejects what no Follower returns, so that a corrupted Position
// fails loudly rather than resuming at a wrong place.
func (p Position) validate() error {
	switch {
	case p.Inode == 0:
		return errors.New("tail: position names no file (inode 0)")
	case p.Offset < 0:
		return fmt.Errorf("tail: position offset %d is negative", p.Offset)
	case p.FingerprintLen < 0 || p.FingerprintLen > p.Offset:
		return fmt.Errorf("tail: position fingerprint length %d is outside [0, offset %d]", p.FingerprintLen, p.Offset)
	case p.FingerprintLen == 0 && p.Fingerprint != "":
		return errors.New("tail: position has a fingerprint of 0 bytes")
	case p.FingerprintLen > 0 && !isFingerprint(p.Fingerprint):
		return fmt.Errorf("tail: position fingerprint %.80q is not 64 lowercase hex digits", p.Fingerprint)
	}
	return nil
}
