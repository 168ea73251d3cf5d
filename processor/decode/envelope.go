package decode

import "bytes"

// lineFields are the top-level string fields of a JSON object record that
// may hold the log line, most preferred first: Kafka Connect's envelope,
// then log shippers. To support another shipper, append its field name.
var lineFields = [...]string{"payload", "message", "log"}

// recordDepth is the nesting depth of a record's own object.
const recordDepth = 1

// objectLine returns the log line carried by a JSON object record, and
// whether it is known to be text.
func (d *Decoder) objectLine(rec []byte) (line []byte, text bool, e *Error) {
	best := len(lineFields) // index into lineFields of the best field so far
	end, err := walkObject(rec, 0, recordDepth, func(m member) (int, jsonError) {
		switch rec[m.valStart] {
		case '{', '[':
			return d.skipRepeated(rec, m.valStart)
		case '"':
			if rank := d.fieldRank(rec, m, best); rank < best {
				end, s, err := scanString(rec, m.valStart, &d.lineBuf)
				if err == "" {
					best, line, text = rank, s.content, s.text
				}
				return end, err
			}
			end, _, err := skipString(rec, m.valStart)
			return end, err
		}
		return skipValue(rec, m.valStart, recordDepth)
	})
	if err == "" && skipWS(rec, end) != len(rec) {
		err = "data after the JSON value"
	}
	if err != "" {
		return nil, false, newError(ReasonBadJSON, err)
	}
	if best == len(lineFields) {
		return nil, false, newError(ReasonNoLine, "no top-level string field that holds a line")
	}
	return line, text, nil
}

// skipRepeated is skipValue for the object or array at rec[i], a top-level
// member's value. Kafka Connect repeats the same schema in every record,
// and shippers the same metadata, so the last such value found valid is
// kept: the same bytes are valid again and end at the same offset, since
// what surrounds a value has no bearing on either. Comparing costs far
// less than validating.
func (d *Decoder) skipRepeated(rec []byte, i int) (int, jsonError) {
	if len(d.repeated) > 0 && bytes.HasPrefix(rec[i:], d.repeated) {
		return i + len(d.repeated), ""
	}
	end, err := skipValue(rec, i, recordDepth)
	if err == "" {
		d.repeated = append(d.repeated[:0], rec[i:end]...)
	}
	return end, err
}

// fieldRank returns the index into lineFields[:best] of m's key, or best
// when the key names none of those fields.
func (d *Decoder) fieldRank(rec []byte, m member, best int) int {
	key := rec[m.keyStart:m.keyEnd]
	if m.keyEscaped {
		_, s, _ := scanString(rec[:m.keyEnd+1], m.keyStart-1, &d.keyBuf)
		key = s.content
	}
	for i, name := range lineFields[:best] {
		if string(key) == name {
			return i
		}
	}
	return best
}

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
