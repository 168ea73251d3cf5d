package decode

import (
	"bytes"
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
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// scanString validates the JSON string opening at data[i] and returns the
// offset just past its closing quote, and whether it holds escapes (when it
// does not, its content can be aliased instead of copied).
func scanString(data []byte, i int) (end int, escaped bool, err jsonError) {
	i++ // opening quote
	for {
		for i+8 <= len(data) {
			w := load64(data[i:])
			if m := byteMask(w, '"') | byteMask(w, '\\') | lessMask(w, 0x20); m != 0 {
				i += firstFlagged(m)
				break
			}
			i += 8
		}
		if i >= len(data) {
			return i, escaped, "unterminated string"
		}
		switch c := data[i]; {
		case c == '"':
			return i + 1, escaped, ""
		case c == '\\':
			escaped = true
			if i+1 >= len(data) {
				return i, escaped, "unterminated string"
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) || hex4(data[i+2:i+6]) < 0 {
					return i, escaped, "bad \\u escape"
				}
				i += 6
			default:
				return i, escaped, "bad escape"
			}
		case c < 0x20:
			return i, escaped, "control character in string"
		default:
			i++
		}
	}
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

// unescape appends the decoded content of a string that scanString
// accepted. Unpaired surrogates become U+FFFD, as encoding/json does, so
// the result is always valid UTF-8 where the input was.
func unescape(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		c := src[i]
		if c != '\\' {
			// Copy the run up to the next escape in one go.
			j := bytes.IndexByte(src[i:], '\\')
			if j < 0 {
				j = len(src)
			} else {
				j += i
			}
			dst = append(dst, src[i:j]...)
			i = j
			continue
		}
		switch src[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(src[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 <= len(src) && src[i] == '\\' && src[i+1] == 'u' {
					r2 = hex4(src[i+2:])
				}
				if p := utf16.DecodeRune(r, r2); p != utf8.RuneError {
					r = p
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, src[i+1])
		}
		i += 2
	}
	return dst
}

// skipValue validates the JSON value starting at data[i] (whitespace
// already skipped) and returns the offset just past it.
func skipValue(data []byte, i, depth int) (int, jsonError) {
	if i >= len(data) {
		return i, "unexpected end"
	}
	switch c := data[i]; {
	case c == '"':
		end, _, err := scanString(data, i)
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
		i = skipWS(data, i)
		if i >= len(data) {
			return i, "unexpected end"
		}
		switch data[i] {
		case ',':
			i = skipWS(data, i+1)
		case ']':
			return i + 1, ""
		default:
			return i, "expected , or ]"
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
	valStart, valEnd int // whole value, quotes included for strings
	valEscaped       bool
}

// walkObject validates the object opening at data[i] and returns the offset
// just past it. When visit is non-nil it is called for each member; the
// top-level object uses it to pick the line field, nested ones skip it.
func walkObject(data []byte, i, depth int, visit func(member)) (int, jsonError) {
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
		if i, m.keyEscaped, err = scanString(data, i); err != "" {
			return i, err
		}
		m.keyEnd = i - 1
		i = skipWS(data, i)
		if i >= len(data) || data[i] != ':' {
			return i, "expected :"
		}
		m.valStart = skipWS(data, i+1)
		if m.valStart < len(data) && data[m.valStart] == '"' {
			i, m.valEscaped, err = scanString(data, m.valStart)
		} else {
			i, err = skipValue(data, m.valStart, depth)
		}
		if err != "" {
			return i, err
		}
		m.valEnd = i
		if visit != nil {
			visit(m)
		}
		i = skipWS(data, i)
		if i >= len(data) {
			return i, "unexpected end"
		}
		switch data[i] {
		case ',':
			i = skipWS(data, i+1)
		case '}':
			return i + 1, ""
		default:
			return i, "expected , or }"
		}
	}
}
