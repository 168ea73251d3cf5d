package decode

import "bytes"

// parseLine reads an nginx/Apache common or combined line:
//
//	<anything> [dd/Mon/yyyy:HH:MM:SS ±hhmm] "<request>" <status> <bytes> ["<referer>" "<user agent>" ...]
//
// Only the fields oscheck needs are located; what precedes the timestamp
// varies between servers (proxy lists, host:port, IPv6) and forwarders (a
// syslog header) and is not read.
func (d *Decoder) parseLine(line []byte, req *Request) *Error {
	open := findTimestamp(line)
	if open < 0 {
		return newError(ReasonNoTimestamp, "no [timestamp] field")
	}
	n := bytes.IndexByte(line[open:], ']')
	if n < 0 {
		return newError(ReasonBadTimestamp, "unterminated [timestamp] field")
	}
	t, ok := parseTimestamp(line[open+1 : open+n])
	if !ok {
		return newError(ReasonBadTimestamp, "timestamp is not dd/Mon/yyyy:HH:MM:SS ±hhmm")
	}
	req.Time = t

	rest := line[skipBlanks(line, open+n+1):]
	if len(rest) == 0 || rest[0] != '"' {
		return newError(ReasonNotAccessLog, "no quoted request after the timestamp")
	}
	reqEnd := quotedEnd(rest, 0)
	if reqEnd < 0 {
		return newError(ReasonNotAccessLog, "unterminated quoted request")
	}
	req.OSParam = d.osParamOf(rest[1:reqEnd])
	req.UserAgent = userAgent(rest[reqEnd+1:])
	return nil
}

func skipBlanks(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

// findTimestamp returns the offset of the '[' opening the timestamp, or -1.
// The first '[' that has a '/' where "dd/" ends is taken: no IPv6 address
// or host can contain one there, so bracketed hosts before it are passed
// over. Failing that, a bracketed field right before a quoted request is
// taken so that a mangled timestamp is reported as bad, not missing.
func findTimestamp(line []byte) int {
	fallback := -1
	for i := 0; i < len(line); {
		j := bytes.IndexByte(line[i:], '[')
		if j < 0 {
			break
		}
		j += i
		if j+3 < len(line) && line[j+3] == '/' {
			return j
		}
		if fallback < 0 && closesBeforeRequest(line, j) {
			fallback = j
		}
		i = j + 1
	}
	return fallback
}

func closesBeforeRequest(line []byte, open int) bool {
	n := bytes.IndexByte(line[open:], ']')
	if n < 0 {
		return false
	}
	i := skipBlanks(line, open+n+1)
	return i == len(line) || line[i] == '"'
}

// quotedEnd returns the offset of the quote closing the field whose opening
// quote is b[open], or -1. Apache writes a quote inside a field as \" and a
// backslash as \\, so a quote after an odd run of backslashes is content.
func quotedEnd(b []byte, open int) int {
	for i := open + 1; i < len(b); {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1
		}
		j += i
		k := j
		for k > open+1 && b[k-1] == '\\' {
			k--
		}
		if (j-k)%2 == 0 {
			return j
		}
		i = j + 1
	}
	return -1
}

// userAgent returns the User-Agent from what follows the request field:
// the second quoted field, after the referer. Fields logged after it (such
// as nginx's "$http_x_forwarded_for") are ignored.
func userAgent(rest []byte) []byte {
	ref := bytes.IndexByte(rest, '"')
	if ref < 0 {
		return nil // common format
	}
	refEnd := quotedEnd(rest, ref)
	if refEnd < 0 {
		return nil
	}
	rest = rest[refEnd+1:]
	open := bytes.IndexByte(rest, '"')
	if open < 0 {
		return nil
	}
	end := quotedEnd(rest, open)
	if end < 0 {
		return nil
	}
	ua := rest[open+1 : end]
	if len(ua) == 0 || (len(ua) == 1 && ua[0] == '-') {
		return nil
	}
	return ua
}
