package decode

// recordDepth is the nesting depth of a record's own object.
const recordDepth = 1

// object is what one pass over a JSON object record found.
type object struct {
	line []byte // the best line field's content, when rank < noLine
	rank field  // the best line field found, or noLine
	text bool   // line is known to pass firstNonText

	containers int // top-level objects and arrays so far, for skipRepeated

	at [nginxFields]span // each nginx field's first value
}

// span is where a member's value lies in the record.
type span struct {
	start   int  // its first byte; 0, the record's '{', when absent
	end     int  // just past it when it is a string, else 0
	escaped bool // a string that holds escapes
}

func (o *object) has(f field) bool { return o.at[f-firstNginxField].start != 0 }

// scanObject validates the object record rec, decoding its best line field
// and noting where its nginx fields are, in a single pass: the line is read
// once rather than once to validate and again to unescape. Of duplicate
// keys, the first one counts.
func (d *Decoder) scanObject(rec []byte, o *object) *Error {
	o.rank = noLine
	end, err := walkObject(rec, 0, recordDepth, func(m member) (int, jsonError) {
		f := fieldOf(d.key(rec, m))
		i := m.valStart
		switch {
		case f < o.rank && rec[i] == '"': // o.rank <= noLine, so a line field
			return d.takeLine(rec, i, f, o)
		case f == eventField && eventOriginalField < o.rank && rec[i] == '{':
			return d.scanEvent(rec, i, o)
		case f >= firstNginxField && f < otherField && !o.has(f):
			v := &o.at[f-firstNginxField]
			v.start = i
			if rec[i] == '"' {
				var err jsonError
				v.end, v.escaped, err = skipString(rec, i)
				return v.end, err
			}
		}
		if c := rec[i]; c == '{' || c == '[' {
			o.containers++
			return d.skipRepeated(rec, i, o.containers-1)
		}
		return skipValue(rec, i, recordDepth)
	})
	if err == "" && skipWS(rec, end) != len(rec) {
		err = "data after the JSON value"
	}
	if err != "" {
		return newError(ReasonBadJSON, err)
	}
	return nil
}

// scanEvent walks the ECS event object at rec[i], whose "original" member
// is the event.original line field.
func (d *Decoder) scanEvent(rec []byte, i int, o *object) (int, jsonError) {
	const depth = recordDepth + 1
	return walkObject(rec, i, depth, func(m member) (int, jsonError) {
		if eventOriginalField < o.rank && rec[m.valStart] == '"' && string(d.key(rec, m)) == "original" {
			return d.takeLine(rec, m.valStart, eventOriginalField, o)
		}
		return skipValue(rec, m.valStart, depth)
	})
}

// takeLine decodes the string at rec[i], line field f, as the record's line.
func (d *Decoder) takeLine(rec []byte, i int, f field, o *object) (int, jsonError) {
	end, s, err := scanString(rec, i, &d.lineBuf)
	if err == "" {
		o.line, o.rank, o.text = s.content, f, s.text
	}
	return end, err
}

// key returns m's key, decoded into the scratch buffer when it holds
// escapes.
func (d *Decoder) key(rec []byte, m member) []byte {
	if !m.keyEscaped {
		return rec[m.keyStart:m.keyEnd]
	}
	return d.escapedKey(rec, m)
}

func (d *Decoder) escapedKey(rec []byte, m member) []byte {
	_, s, _ := scanString(rec[:m.keyEnd+1], m.keyStart-1, &d.scratch)
	return s.content
}
