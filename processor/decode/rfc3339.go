package decode

// parseRFC3339 parses nginx's $time_iso8601, "yyyy-mm-ddTHH:MM:SS±hh:mm",
// into Unix milliseconds. nginx writes no fraction and "+00:00" for UTC,
// but other writers of the same field use the rest of RFC 3339, so a "Z"
// zone and a fractional second are accepted too; the fraction is truncated
// to milliseconds, as time.Time.UnixMilli does. The fields are checked as
// parseTimestamp checks them.
func parseRFC3339(b []byte) (int64, bool) {
	const head = len("2006-01-02T15:04:05")
	if len(b) <= head || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	ms, n := fraction(b[head:])
	rest := b[head+n:]
	zone := 0
	switch {
	case len(rest) == 1 && rest[0] == 'Z':
	case len(rest) == len("+08:00") && rest[3] == ':':
		var ok bool
		if zone, ok = zoneOffset(rest[0], digits2(rest[1], rest[2]), digits2(rest[4], rest[5])); !ok {
			return 0, false
		}
	default:
		return 0, false
	}
	century, yy := digits2(b[0], b[1]), digits2(b[2], b[3])
	if century < 0 || yy < 0 {
		return 0, false
	}
	t, ok := unixMillis(century*100+yy, digits2(b[5], b[6]), digits2(b[8], b[9]),
		digits2(b[11], b[12]), digits2(b[14], b[15]), digits2(b[17], b[18]), zone)
	if !ok {
		return 0, false
	}
	return t + ms, true
}

// fraction reads an optional fractional second, a '.' and at least one
// digit, from the start of b. It returns the whole milliseconds it holds
// and its length, 0 when b does not start with one.
func fraction(b []byte) (ms int64, n int) {
	if len(b) < 2 || b[0] != '.' || !isDigit(b[1]) {
		return 0, 0
	}
	n = 1
	for ; n < len(b) && isDigit(b[n]); n++ {
		if n <= 3 {
			ms = ms*10 + int64(b[n]-'0')
		}
	}
	for k := n; k <= 3; k++ {
		ms *= 10 // ".5" is 500 ms
	}
	return ms, n
}
