package main

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
)

// A detector finds one kind of secret in a line: needles are literals of
// which a line holds one if it holds the secret (a cheap first test), mask
// matches the whole span to hide.
type detector struct {
	kind    string
	needles []string
	mask    *regexp.Regexp
}

// detectors find secrettest's passwords (by their marker, also hex- and
// base64-encoded, as a dump of SASL PLAIN bytes would show one) and PEM
// private keys (the rest of the line is hidden too: a key logged with %q
// keeps its body on the header's line).
var detectors = func() []detector {
	m := []byte(secrettest.Marker)
	hexes := []string{hex.EncodeToString(m), strings.ToUpper(hex.EncodeToString(m))}
	var b64 []string
	seen := map[string]bool{}
	for k := range 3 { // the marker at each offset modulo 3 in what was encoded
		in := append(make([]byte, k), m...)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			s := enc.EncodeToString(in)[:len(in)/3*4] // only groups all of known bytes...
			if k > 0 {
				s = s[4:] // ...the first one holds unknown ones
			}
			if !seen[s] {
				seen[s] = true
				b64 = append(b64, s)
			}
		}
	}
	quote := func(ss []string) string {
		q := make([]string, len(ss))
		for i, s := range ss {
			q[i] = regexp.QuoteMeta(s)
		}
		return strings.Join(q, "|")
	}
	return []detector{
		{"password", []string{secrettest.Marker}, regexp.MustCompile(regexp.QuoteMeta(secrettest.Marker) + `[0-9A-Za-z]*`)},
		{"hex password", hexes, regexp.MustCompile(`[0-9A-Fa-f]*(?:` + quote(hexes) + `)[0-9A-Fa-f]*`)},
		{"base64 password", b64, regexp.MustCompile(`[0-9A-Za-z+/_=-]*(?:` + quote(b64) + `)[0-9A-Za-z+/_=-]*`)},
		{"private key", []string{"PRIVATE KEY-----"}, regexp.MustCompile(secrettest.PrivateKeyPattern.String() + `.*`)},
	}
}()

// hit is a line holding a secret.
type hit struct {
	where string // a package's test output, or a file under the log directory
	test  string // the test that printed it, if known
	line  int    // in the file, from 1; 0 for test output
	kinds string // what it holds: "password", "private key", ...
	text  string // the line with the secrets masked, shortened
}

func (h hit) String() string {
	loc := h.where
	if h.line > 0 {
		loc = fmt.Sprintf("%s:%d", h.where, h.line)
	}
	if h.test != "" {
		loc += " " + h.test
	}
	return fmt.Sprintf("%s: %s: %s", loc, h.kinds, h.text)
}

// scanner counts what it scanned and collects hits.
type scanner struct {
	lines, lineBytes int64 // test output (the JSON stream's Output, the command's stderr)
	files, fileBytes int64 // files under the log directory
	hits             []hit
	// failed counts what the JSON stream records as failed.
	failed struct{ tests, packages, builds int }
}

// scanLine looks for secrets in one line of output or of a file.
func (s *scanner) scanLine(where, test string, lineNo int, line string) {
	line = strings.TrimSpace(line)
	var kinds []string
	masked := line
	first := -1
	for _, d := range detectors {
		if !containsAny(line, d.needles) {
			continue
		}
		loc := d.mask.FindStringIndex(masked)
		if loc == nil {
			continue
		}
		kinds = append(kinds, d.kind)
		if first < 0 || loc[0] < first {
			first = loc[0]
		}
		masked = d.mask.ReplaceAllLiteralString(masked, "[masked "+d.kind+"]")
	}
	if kinds != nil {
		s.hits = append(s.hits, hit{where: where, test: test, line: lineNo,
			kinds: strings.Join(kinds, ", "), text: shorten(masked, first)})
	}
}

func containsAny(s string, needles []string) bool {
	for _, n := range needles {
		if strings.Contains(s, n) {
			return true
		}
	}
	return false
}

// shorten keeps about 160 bytes of a line around at, where the first secret
// was, so that a hit in a long log line stays readable.
func shorten(s string, at int) string {
	const before, total = 60, 160
	if len(s) <= total {
		return s
	}
	from := max(0, min(at-before, len(s)-total))
	for from > 0 && from < len(s) && s[from]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		from--
	}
	to := min(len(s), from+total)
	for to < len(s) && s[to]&0xC0 == 0x80 {
		to++
	}
	out := s[from:to]
	if from > 0 {
		out = "…" + out
	}
	if to < len(s) {
		out += "…"
	}
	return out
}

// scanReader scans every line of r, named where in hits.
func (s *scanner) scanReader(where string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		s.fileBytes += int64(len(line))
		if line != "" {
			s.scanLine(where, "", n, line)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// scanDir scans every regular file under root; hits name files relative
// to root.
func (s *scanner) scanDir(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		rel, _ := filepath.Rel(root, path)
		s.files++
		return s.scanReader(rel, f)
	})
}

// lines splits streams that arrive in chunks (the Output of events, which
// may end mid-line) into lines.
type lines struct {
	partial map[string]partial // by stream
}

type partial struct{ text, test string }

// add appends chunk, printed by test, to stream key and calls line for each
// line completed, with the test that began it.
func (l *lines) add(key, test, chunk string, line func(test, s string)) {
	if l.partial == nil {
		l.partial = make(map[string]partial)
	}
	p, ok := l.partial[key]
	if !ok {
		p.test = test
	}
	s := p.text + chunk
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		line(p.test, s[:i+1])
		s, p.test = s[i+1:], test
	}
	if s == "" {
		delete(l.partial, key)
	} else {
		l.partial[key] = partial{s, p.test}
	}
}

// flush calls line with each stream's unfinished last line.
func (l *lines) flush(line func(key, test, s string)) {
	for k, p := range l.partial {
		line(k, p.test, p.text)
	}
	l.partial = nil
}

// scanOutput scans a line of test output: where names the package (or the
// build, or the command's stderr), test the test that printed it.
func (s *scanner) scanOutput(where, test, line string) {
	s.lines++
	s.lineBytes += int64(len(line))
	s.scanLine(where, test, 0, line)
}
