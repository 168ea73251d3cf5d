package traffic

import "unicode/utf8"

// envelopeHead is what Kafka Connect's JsonConverter writes, with
// schemas.enable=true, before a plain string value; a connector reading
// access logs from files produces exactly this shape.
const envelopeHead = `{"schema":{"type":"string","optional":false},"payload":"`

// Envelope appends line wrapped as a Kafka Connect JsonConverter record
// value to dst and returns the extended slice. Invalid UTF-8 bytes become
// U+FFFD, as encoding/json would write them, because JSON text must be
// Unicode and Connect's string schema could not have carried them anyway.
func Envelope(dst, line []byte) []byte {
	dst = append(dst, envelopeHead...)
	dst = appendJSONString(dst, line)
	return append(dst, `"}`...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s escaped for use between JSON double quotes.
// It is hand-written because encoding/json allocates, and Envelope is on the
// load generator's hot path.
func appendJSONString(dst, s []byte) []byte {
	start := 0 // s[start:i] is pending, needing no escape
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	return append(dst, s[start:]...)
}
