package decode

// maxUnixSeconds is 9999-12-31T23:59:59Z, the last second of maxYear.
const maxUnixSeconds = 253402300799

// parseMsec parses nginx's $msec, Unix seconds with a millisecond fraction
// ("1565639214.123"), into Unix milliseconds. log_format templates write
// it quoted or bare, so b is a JSON string's content or a JSON number's
// text. A fraction of other lengths is accepted, as shippers re-encoding
// the number drop trailing zeros or add digits, and truncated to whole
// milliseconds. A sign or exponent is rejected: nginx writes neither, and
// the time must fall within the years minYear to maxYear in UTC.
func parseMsec(b []byte) (int64, bool) {
	var secs int64
	i := 0
	for ; i < len(b) && isDigit(b[i]); i++ {
		if secs = secs*10 + int64(b[i]-'0'); secs > maxUnixSeconds {
			return 0, false
		}
	}
	ms, n := fraction(b[i:])
	if i == 0 || i+n != len(b) {
		return 0, false
	}
	return secs*1000 + ms, true
}
