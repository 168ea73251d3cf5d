package decode

// quotedLine returns the log line carried by a record that starts with a
// quote, and whether it is known to be text: a bare JSON string, or a plain
// line whose first field is quoted. nginx logs proxy address lists that
// way ("10.0.0.2, 10.0.0.1" 10.2.1.185 - - [...]), and such a line goes on
// after the closing quote, where a JSON string record ends.
func (d *Decoder) quotedLine(rec []byte) (line []byte, text bool, e *Error) {
	end, s, err := scanString(rec, 0, &d.lineBuf)
	if err == "" {
		if skipWS(rec, end) == len(rec) {
			return s.content, s.text, nil
		}
		return rec, false, nil
	}
	// Not a valid JSON string, yet a line may quote its first field the
	// way servers do, with escapes JSON does not have (\x22).
	if closing := quotedEnd(rec, 0); closing >= 0 && skipWS(rec, closing+1) < len(rec) {
		return rec, false, nil
	}
	return nil, false, newError(ReasonBadJSON, err)
}
