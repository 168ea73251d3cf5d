package decode

import (
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// A minimal JSON scanner: the envelopes only need one top-level string, so
// a full parser (and encoding/json's reflection and allocations) is not
// worth its cost. It still validates the whole document, so a truncated or
// mangled record is reported as bad_json rather than half-read.

// maxDepth bounds nesting so a hostile record cannot exhaust the stack.
const maxDepth = 100

// jsonError describes why scanning stopped; the empty string means no error.
type jsonError = string

func skipWS(data []byte, i int) int {
	// Records are mostly compact: one comparison settles a non-space byte.
	for i < len(data) && data[i] <= ' ' && isSpace(data[i]) {
		i++
	}
	return i
}

// scanned is what scanString learned about a string besides its end.
type scanned struct {
	// content is the decoded content when scanString was given a buffer:
	// data itself when nothing is escaped, else the buffer.
	content []byte
	escaped bool // holds escapes, so its content cannot alias data
	// text is set when firstNonText would accept the decoded content, so
	// the line check need not read it again. It can be false for text.
	text bool
}

// scanString validates the JSON string opening at data[i] and returns the
// offset just past its closing quote. With a non-nil buf it also decodes
// the content, into *buf when it holds escapes, in the same pass: a line is
// read once rather than once to validate, once to unescape and once to
// check it is text. Unpaired surrogates become U+FFFD, as encoding/json
// does, so the decoded content is valid UTF-8 wherever the raw one is.
func scanString(data []byte, i int, buf *[]byte) (end int, s scanned, err jsonError) {
	i++ // opening quote
	start := i
	var out []byte
	if buf != nil {
		// Content never outgrows its escaped form, and scanRun stores no
		// word that reaches past the end of data.
		*buf = slices.Grow((*buf)[:0], len(data)-i)[:len(data)-i]
		out = *buf
	}
	n := 0              // length of the decoded content
	var wide uint64     // high bits flag DEL and non-ASCII bytes
	ctrlEscape := false // an escape stands for a control character
	for {
		if i < len(data)-7 {
			var dst []byte
			if out != nil {
				dst = out[n:]
			}
			read, written, w, esc := scanRun(data[i:], dst)
			i += read
			n += written
			wide |= w
			s.escaped = s.escaped || esc
		}
		if i >= len(data) {
			return i, s, "unterminated string"
		}
		c := data[i]
		if c == '"' {
			break
		}
		if c < 0x20 {
			return i, s, "control character in string"
		}
		if c != '\\' { // one of the last few bytes, which scanRun leaves
			if out != nil {
				out[n] = c
			}
			wide |= atLeast7FMask(uint64(c))
			i++
			n++
			continue
		}
		s.escaped = true
		r, size, err := escapeAt(data, i)
		if err != "" {
			return i, s, err
		}
		ctrlEscape = ctrlEscape || isControl(r)
		i += size
		switch {
		case out == nil:
		case size == 2:
			out[n] = byte(r)
			n++
		default:
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i < len(data) && data[i] == '\\' {
					r2, size, _ = escapeAt(data, i)
				}
				if p := utf16.DecodeRune(r, r2); p != utf8.RuneError {
					r = p
					i += size
				} else {
					r = utf8.RuneError
				}
			}
			n += utf8.EncodeRune(out[n:], r)
		}
	}
	s.text = wide&highs == 0 && !ctrlEscape
	switch {
	case out == nil:
	case s.escaped:
		s.content = out[:n]
	default:
		s.content = data[start:i]
	}
	return i + 1, s, ""
}

// scanRun reads the content of a string from the start of b up to the first
// '"', control byte or escape other than \", \\ and \/, which it decodes
// itself; or, failing that, up to where fewer than eight bytes are left,
// for the caller to finish. When out is non-nil it also writes the decoded
// content to out, which must have room for len(b) bytes. It returns how
// many bytes it read and wrote, a word whose high bits flag DEL and
// non-ASCII bytes among those it read (and maybe a few after), and whether
// it decoded escapes.
//
// Words are copied whole, whatever part of them is content: what lies
// beyond is written over next. The common escapes are dealt with here so
// that a whole line stays in this loop, which is not inlined because its
// callers would then keep its variables on the stack.
//
//go:noinline
func scanRun(b, out []byte) (read, written int, wide uint64, escaped bool) {
	for read < len(b)-7 {
		var k int
		if read < len(b)-15 {
			w0, w1 := load64(b[read:]), load64(b[read+8:])
			if out != nil {
				*(*[16]byte)(out[written : written+16]) = *(*[16]byte)(b[read : read+16])
			}
			wide |= w0 | (w0 + ones) | w1 | (w1 + ones)
			m0, m1 := stringStopMask(w0), stringStopMask(w1)
			if m0|m1 == 0 {
				read += 16
				written += 16
				continue
			}
			k = firstFlagged(m0)
			if m0 == 0 {
				k = 8 + firstFlagged(m1)
			}
		} else {
			w := load64(b[read:])
			if out != nil {
				*(*[8]byte)(out[written : written+8]) = *(*[8]byte)(b[read : read+8])
			}
			wide |= w | (w + ones)
			m := stringStopMask(w)
			if m == 0 {
				read += 8
				written += 8
				continue
			}
			k = firstFlagged(m)
		}
		read += k
		written += k
		if b[read] != '\\' || read+1 >= len(b) {
			break
		}
		c := b[read+1]
		if c != '"' && c != '\\' && c != '/' {
			break
		}
		if out != nil {
			out[written] = c
		}
		escaped = true
		read += 2
		written++
	}
	return read, written, wide, escaped
}

// skipString validates the JSON string opening at data[i] and returns the
// offset just past its closing quote, and whether it holds escapes. Most
// keys and many values end within a word, which saves scanString's setup.
func skipString(data []byte, i int) (end int, escaped bool, err jsonError) {
	if i+9 <= len(data) {
		if m := stringStopMask(load64(data[i+1:])); m != 0 {
			if end = i + 1 + firstFlagged(m); data[end] == '"' {
				return end + 1, false, ""
			}
		}
	}
	end, s, err := scanString(data, i, nil)
	return end, s.escaped, err
}

// escapeAt reads the escape at data[i], a backslash, and returns its length
// and what it stands for: a byte, or the UTF-16 code unit of a \u escape.
func escapeAt(data []byte, i int) (r rune, n int, err jsonError) {
	if i+1 >= len(data) {
		return 0, 0, "unterminated string"
	}
	if c := simpleEscapes[data[i+1]]; c != 0 {
		return rune(c), 2, ""
	}
	if data[i+1] != 'u' {
		return 0, 0, "bad escape"
	}
	if i+6 > len(data) {
		return 0, 0, "bad \\u escape"
	}
	if r = hex4(data[i+2 : i+6]); r < 0 {
		return 0, 0, "bad \\u escape"
	}
	return r, 6, ""
}

// simpleEscapes maps the byte after a backslash to what it stands for, or
// to 0 when that is not a one-byte escape.
var simpleEscapes = [256]byte{
	'"': '"', '\\': '\\', '/': '/',
	'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t',
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		v := unhex(c)
		if v < 0 {
			return -1
		}
		r = r<<4 | rune(v)
	}
	return r
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// skipValue validates the JSON value starting at data[i] (whitespace
// already skipped) and returns the offset just past it.
func skipValue(data []byte, i, depth int) (int, jsonError) {
	if i >= len(data) {
		return i, "unexpected end"
	}
	switch c := data[i]; {
	case c == '"':
		end, _, err := skipString(data, i)
		return end, err
	case c == '{':
		return skipObject(data, i, depth+1)
	case c == '[':
		return skipArray(data, i, depth+1)
	case c == 't':
		return skipLiteral(data, i, "true")
	case c == 'f':
		return skipLiteral(data, i, "false")
	case c == 'n':
		return skipLiteral(data, i, "null")
	case c == '-' || ('0' <= c && c <= '9'):
		return skipNumber(data, i)
	}
	return i, "unexpected character"
}

func skipLiteral(data []byte, i int, lit string) (int, jsonError) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return i, "bad literal"
	}
	return i + len(lit), ""
}

// skipNumber follows the JSON grammar -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?.
func skipNumber(data []byte, i int) (int, jsonError) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		i = skipDigits(data, i)
	default:
		return i, "bad number"
	}
	if i < len(data) && data[i] == '.' {
		j := skipDigits(data, i+1)
		if j == i+1 {
			return j, "bad number"
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := skipDigits(data, i)
		if j == i {
			return j, "bad number"
		}
		i = j
	}
	return i, ""
}

func skipDigits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}

func skipArray(data []byte, i, depth int) (int, jsonError) {
	if depth > maxDepth {
		return i, "nested too deep"
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == ']' {
		return i + 1, ""
	}
	for {
		var err jsonError
		if i, err = skipValue(data, i, depth); err != "" {
			return i, err
		}
		var done bool
		if i, done, err = afterElement(data, i, ']'); done || err != "" {
			return i, err
		}
	}
}

func skipObject(data []byte, i, depth int) (int, jsonError) {
	if depth > maxDepth {
		return i, "nested too deep"
	}
	return walkObject(data, i, depth, nil)
}

// member is a key/value pair seen by walkObject; offsets index data.
type member struct {
	keyStart, keyEnd int // key content, without quotes
	keyEscaped       bool
	valStart         int // the value's first byte
}

// walkObject validates the object opening at data[i] and returns the offset
// just past it. When value is non-nil, walkObject calls it instead of
// skipValue to scan each member's value (there is at least its first byte)
// and return the offset just past it: the top-level object uses this to
// decode its line field during its only pass.
func walkObject(data []byte, i, depth int, value func(member) (int, jsonError)) (int, jsonError) {
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, ""
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return i, "expected string key"
		}
		var m member
		var err jsonError
		m.keyStart = i + 1
		if i, m.keyEscaped, err = skipString(data, i); err != "" {
			return i, err
		}
		m.keyEnd = i - 1
		i = skipWS(data, i)
		if i >= len(data) || data[i] != ':' {
			return i, "expected :"
		}
		m.valStart = skipWS(data, i+1)
		if value != nil && m.valStart < len(data) {
			i, err = value(m)
		} else {
			i, err = skipValue(data, m.valStart, depth)
		}
		if err != "" {
			return i, err
		}
		var done bool
		if i, done, err = afterElement(data, i, '}'); done || err != "" {
			return i, err
		}
	}
}

// afterElement moves past what follows an element of an array or object
// that closes with end: a comma, to the next element's first byte, or end
// (done), just past it.
func afterElement(data []byte, i int, end byte) (next int, done bool, err jsonError) {
	i = skipWS(data, i)
	switch {
	case i >= len(data):
		return i, false, "unexpected end"
	case data[i] == ',':
		return skipWS(data, i+1), false, ""
	case data[i] == end:
		return i + 1, true, ""
	case end == ']':
		return i, false, "expected , or ]"
	}
	return i, false, "expected , or }"
}
