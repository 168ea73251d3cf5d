package decode

// An nginx log_format escape=json object carries a request's fields rather
// than a line, e.g. '{"time_iso8601":"$time_iso8601","request":"$request",
// "http_user_agent":"$http_user_agent"}'. nginx writes '"', '\' and control
// bytes as JSON escapes and every other byte as it is, so decoded values can
// hold any byte. No text check applies to them: a line is rejected for a raw
// control byte because its server would have escaped it, while here the
// control byte was escaped, and bytes above 0x7E are what nginx received.

// decodeNginxObject fills req from the object record rec that o scanned
// and found no line field in. It is an nginx JSON object if it has one of
// nginx's time fields, whatever its value.
func (d *Decoder) decodeNginxObject(rec []byte, o *object, req *Request) *Error {
	if !o.has(timeISO8601Field) && !o.has(timeLocalField) && !o.has(msecField) {
		return newError(ReasonNoLine, "no line field (payload, message, event.original, log, msg) "+
			"and no nginx time field (time_iso8601, time_local, msec)")
	}
	t, err := d.nginxTime(rec, o)
	if err != nil {
		return err
	}
	req.Time = t
	req.OSParam = d.nginxOSParam(rec, o)
	req.UserAgent = d.nginxUserAgent(rec, o)
	return nil
}

// nginxTime reads the first time field present, in the order
// time_iso8601, time_local, msec. A field that is present decides even
// when its value is unusable, so a broken field is reported, not passed
// over for a worse one.
func (d *Decoder) nginxTime(rec []byte, o *object) (int64, *Error) {
	f := msecField
	switch {
	case o.has(timeISO8601Field):
		f = timeISO8601Field
	case o.has(timeLocalField):
		f = timeLocalField
	}
	name := timeFieldName(f)
	i := o.at[f-firstNginxField].start
	var v []byte
	switch c := rec[i]; {
	case c == '"':
		v, _ = d.nginxString(rec, o, f, &d.scratch)
	case f == msecField && (c == '-' || isDigit(c)): // "msec":$msec
		end, _ := skipNumber(rec, i)
		v = rec[i:end]
	case c == 'n':
		return 0, newError(ReasonNoTimestamp, name+" is null")
	case f == msecField:
		return 0, newError(ReasonBadTimestamp, "msec is not a string or number")
	default:
		return 0, newError(ReasonBadTimestamp, name+" is not a string")
	}
	if len(v) == 0 || len(v) == 1 && v[0] == '-' {
		return 0, newError(ReasonNoTimestamp, name+" is empty")
	}
	var t int64
	var ok bool
	switch f {
	case timeISO8601Field:
		if t, ok = parseRFC3339(v); !ok {
			return 0, newError(ReasonBadTimestamp, "time_iso8601 is not RFC 3339 (2019-08-13T03:46:54+08:00)")
		}
	case timeLocalField:
		if t, ok = parseTimestamp(v); !ok {
			return 0, newError(ReasonBadTimestamp, "time_local is not dd/Mon/yyyy:HH:MM:SS ±hhmm")
		}
	default:
		if t, ok = parseMsec(v); !ok {
			return 0, newError(ReasonBadTimestamp, "msec is not Unix seconds (1565639214.123) up to year 9999")
		}
	}
	return t, nil
}

func timeFieldName(f field) string {
	switch f {
	case timeISO8601Field:
		return "time_iso8601"
	case timeLocalField:
		return "time_local"
	}
	return "msec"
}

// nginxOSParam reads the os-type parameter from the first of args
// ($args, the query string), request_uri and request (the request line)
// present as a string, with the query code lines use.
func (d *Decoder) nginxOSParam(rec []byte, o *object) []byte {
	if v, ok := d.nginxString(rec, o, argsField, &d.targetBuf); ok {
		return d.queryParam(v)
	}
	if v, ok := d.nginxString(rec, o, requestURIField, &d.targetBuf); ok {
		return d.targetParam(v)
	}
	if v, ok := d.nginxString(rec, o, requestField, &d.targetBuf); ok {
		return d.osParamOf(v)
	}
	return nil
}

// nginxUserAgent reads the first of http_user_agent and user_agent present
// as a string. nginx writes "" for a request without one; "-" is taken to
// mean the same, as in lines.
func (d *Decoder) nginxUserAgent(rec []byte, o *object) []byte {
	v, ok := d.nginxString(rec, o, httpUserAgentField, &d.uaBuf)
	if !ok {
		v, _ = d.nginxString(rec, o, userAgentField, &d.uaBuf)
	}
	if len(v) == 0 || len(v) == 1 && v[0] == '-' {
		return nil
	}
	return v
}

// nginxString returns the content of nginx field f when its value is a
// string: a slice of rec, or its decoding in *buf when it holds escapes.
func (d *Decoder) nginxString(rec []byte, o *object, f field, buf *[]byte) ([]byte, bool) {
	v := o.at[f-firstNginxField]
	if v.end == 0 {
		return nil, false
	}
	if !v.escaped {
		return rec[v.start+1 : v.end-1], true
	}
	_, s, _ := scanString(rec, v.start, buf)
	return s.content, true
}
