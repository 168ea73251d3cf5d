package decode

// lineFields are the top-level string fields of a JSON object record that
// may hold the log line, most preferred first: Kafka Connect's envelope,
// then log shippers. To support another shipper, append its field name.
var lineFields = [...]string{"payload", "message", "log"}

// objectLine returns the log line carried by a JSON object record.
func (d *Decoder) objectLine(rec []byte) ([]byte, *Error) {
	best := len(lineFields) // index into lineFields of the best field so far
	var line member
	end, err := walkObject(rec, 0, 1, func(m member) {
		if rec[m.valStart] != '"' {
			return // a null or structured value cannot hold a line
		}
		key := rec[m.keyStart:m.keyEnd]
		if m.keyEscaped {
			d.keyBuf = unescape(d.keyBuf[:0], key)
			key = d.keyBuf
		}
		for i, name := range lineFields[:best] {
			if string(key) == name {
				best, line = i, m
				return
			}
		}
	})
	if err == "" && skipWS(rec, end) != len(rec) {
		err = "data after the JSON value"
	}
	if err != "" {
		return nil, newError(ReasonBadJSON, err)
	}
	if best == len(lineFields) {
		return nil, newError(ReasonNoLine, "no top-level string field that holds a line")
	}
	return d.stringContent(rec, line.valStart, line.valEnd, line.valEscaped), nil
}

// quotedLine returns the log line carried by a record that starts with a
// quote: a bare JSON string, or a plain line whose first field is quoted.
// nginx logs proxy address lists that way ("10.0.0.2, 10.0.0.1" 10.2.1.185
// - - [...]), and such a line goes on after the closing quote, where a JSON
// string record ends.
func (d *Decoder) quotedLine(rec []byte) ([]byte, *Error) {
	end, escaped, err := scanString(rec, 0)
	if err == "" {
		if skipWS(rec, end) == len(rec) {
			return d.stringContent(rec, 0, end, escaped), nil
		}
		return rec, nil
	}
	// Not a valid JSON string, yet a line may quote its first field the
	// way servers do, with escapes JSON does not have (\x22).
	if closing := quotedEnd(rec, 0); closing >= 0 && skipWS(rec, closing+1) < len(rec) {
		return rec, nil
	}
	return nil, newError(ReasonBadJSON, err)
}

// stringContent returns the decoded content of the valid JSON string
// rec[start:end], aliasing rec when there is nothing to unescape.
func (d *Decoder) stringContent(rec []byte, start, end int, escaped bool) []byte {
	raw := rec[start+1 : end-1]
	if !escaped {
		return raw
	}
	d.lineBuf = unescape(d.lineBuf[:0], raw)
	return d.lineBuf
}
