package decode

import "unicode/utf8"

// isSpace covers what producers append to lines: CR/LF and padding.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// isControl reports whether firstNonText rejects r as a control character.
func isControl(r rune) bool {
	return r < 0x20 && r != '\t' || r == 0x7F
}

func trimSpace(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && isSpace(b[i]) {
		i++
	}
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}

// firstNonText returns the offset of the first byte that makes b binary
// rather than a log line: invalid UTF-8, or a control byte other than tab
// (including DEL). It returns -1 when b is text. Servers escape such bytes
// when they log, so seeing one raw means the record is not a log line.
func firstNonText(b []byte) int {
	i := 0
	for i < len(b) {
		if i+8 <= len(b) {
			w := load64(b[i:])
			m := lessMask(w, 0x20) | atLeast7FMask(w)
			if m == 0 {
				i += 8
				continue
			}
			i += firstFlagged(m)
		}
		c := b[i]
		switch {
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i
			}
			i += size
		case isControl(rune(c)):
			return i
		default:
			i++
		}
	}
	return -1
}
