package decode

import "bytes"

// osParamOf returns the os-type parameter from a request field
// "METHOD TARGET PROTOCOL", or nil. Fields that are not a request ("-",
// "", a TLS handshake logged as bytes) have no parameters.
func (d *Decoder) osParamOf(request []byte) []byte {
	sp := bytes.IndexByte(request, ' ')
	if sp <= 0 || !isMethod(request[:sp]) {
		return nil
	}
	target := request[sp+1:]
	if e := bytes.IndexByte(target, ' '); e >= 0 {
		target = target[:e]
	}
	return d.targetParam(target)
}

// targetParam returns the os-type parameter from a request target, such
// as nginx's $request_uri, or nil.
func (d *Decoder) targetParam(target []byte) []byte {
	q := bytes.IndexByte(target, '?')
	if q < 0 {
		return nil
	}
	return d.queryParam(target[q+1:])
}

// queryParam returns the form-decoded os-type parameter from a query
// string, such as nginx's $args, or nil. A '#' ends the query, as it ends
// a URL's.
func (d *Decoder) queryParam(query []byte) []byte {
	if h := bytes.IndexByte(query, '#'); h >= 0 {
		query = query[:h]
	}
	v := queryValue(query, d.osParam)
	if len(v) == 0 {
		return nil
	}
	if bytes.IndexByte(v, '%') < 0 && bytes.IndexByte(v, '+') < 0 {
		return v
	}
	d.paramBuf = unpercent(d.paramBuf[:0], v)
	return d.paramBuf
}

// isMethod accepts the letters, '-' and '_' that HTTP method names use.
func isMethod(b []byte) bool {
	for _, c := range b {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '-' || c == '_') {
			return false
		}
	}
	return len(b) > 0
}

// queryValue returns the raw value of the first parameter called name. Only
// whole names count: "xos_type=1" is not "os_type". The first occurrence
// wins, as with net/url's Values.Get. Searching for the name, rather than
// splitting at every '&', keeps long query strings cheap.
func queryValue(query, name []byte) []byte {
	if len(name) == 0 {
		return nil
	}
	// Offsets stay relative to the whole query: a re-sliced query would
	// make any occurrence look like it starts at a parameter boundary.
	for from := 0; ; {
		k := bytes.Index(query[from:], name)
		if k < 0 {
			return nil
		}
		k += from
		rest := query[k+len(name):]
		if k == 0 || query[k-1] == '&' {
			switch {
			case len(rest) == 0 || rest[0] == '&':
				return nil // "os_type" without "="
			case rest[0] == '=':
				if amp := bytes.IndexByte(rest, '&'); amp >= 0 {
					return rest[1:amp]
				}
				return rest[1:]
			}
		}
		from = k + 1
	}
}

// unpercent appends the form-decoded v: %XX becomes its byte and '+' a
// space. A '%' not followed by two hex digits is kept as is, because
// rejecting the whole value would lose a request that servers accepted.
func unpercent(dst, v []byte) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '+':
			dst = append(dst, ' ')
		case '%':
			if i+2 < len(v) {
				hi, lo := unhex(v[i+1]), unhex(v[i+2])
				if hi >= 0 && lo >= 0 {
					dst = append(dst, byte(hi<<4|lo))
					i += 2
					continue
				}
			}
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
