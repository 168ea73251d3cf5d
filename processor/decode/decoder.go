package decode

import "strings"

// Decoder decodes records one at a time, reusing its buffers between calls.
// It is not safe for concurrent use: give each partition goroutine its own.
type Decoder struct {
	osParam   []byte              // the parameter name, as bytes for bytes.Index
	lineBuf   []byte              // the line, when a JSON envelope had escapes to undo
	paramBuf  []byte              // OSParam, when it had percent-escapes to undo
	targetBuf []byte              // an nginx JSON object's args, request_uri or request, when escaped
	uaBuf     []byte              // an nginx JSON object's User-Agent, when escaped
	scratch   []byte              // an escaped JSON key or time value, only until it is compared or parsed
	repeated  [repeatSlots][]byte // see skipRepeated
}

// NewDecoder returns a Decoder that takes Request.OSParam from the query
// parameter named osParam, e.g. "os_type". A name that is empty or holds
// '&', '=', '#' or a space can never be a parameter's name, so it matches
// nothing.
func NewDecoder(osParam string) *Decoder {
	if strings.ContainsAny(osParam, "&=# ") {
		osParam = ""
	}
	return &Decoder{osParam: []byte(osParam)}
}

// Decode fills req from one record value and returns nil, or an *Error and
// a zero req. The slices it stores in req are valid until the next call.
func (d *Decoder) Decode(record []byte, req *Request) error {
	if err := d.decode(record, req); err != nil {
		*req = Request{} // no half-filled request from a failed line
		return err
	}
	return nil // not the nil *Error, which would be a non-nil error
}

func (d *Decoder) decode(record []byte, req *Request) *Error {
	rec := trimSpace(record)
	if len(rec) == 0 {
		return newError(ReasonEmpty, "record is empty")
	}
	line := rec
	text := false // whether line is known to pass firstNonText
	switch rec[0] {
	case '{':
		var o object
		if err := d.scanObject(rec, &o); err != nil {
			return err
		}
		if o.rank == noLine {
			return d.decodeNginxObject(rec, &o, req)
		}
		line, text = o.line, o.text
	case '"':
		var err *Error
		if line, text, err = d.quotedLine(rec); err != nil {
			return err
		}
	}
	line = trimSpace(line)
	if len(line) == 0 {
		return newError(ReasonEmpty, "line is empty")
	}
	if !text && firstNonText(line) >= 0 {
		return newError(ReasonNotText, "invalid UTF-8 or control byte in line")
	}
	return d.parseLine(line, req)
}
