package decode

import "strings"

// Decoder decodes records one at a time, reusing its buffers between calls.
// It is not safe for concurrent use: give each partition goroutine its own.
type Decoder struct {
	osParam   []byte              // the parameter name, as bytes for bytes.Index
	lineBuf   []byte              // the line, when a JSON envelope had escapes to undo
	outerBuf  []byte              // lineBuf's old backing array, while the line it holds is decoded as a record
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
	return d.decodeRecord(record, req, false)
}

// nestedDetail starts the Detail of an error in a line that is itself a
// JSON object: the record around it is fine.
const nestedDetail = "in the line, a JSON object: "

// decodeRecord decodes rec; nested says rec is the line of an envelope. A
// line that is itself a JSON object is decoded as a record, once: that is
// nginx's escape=json log written to a container's stdout and collected by
// Fluent Bit, Filebeat or Vector, {"log":"{\"time_iso8601\":...}\n"}.
func (d *Decoder) decodeRecord(record []byte, req *Request, nested bool) *Error {
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
	if line[0] == '{' && !nested {
		// line may live in lineBuf, which decoding it as a record would
		// overwrite: give that its other buffer.
		d.lineBuf, d.outerBuf = d.outerBuf, d.lineBuf
		if err := d.decodeRecord(line, req, true); err != nil {
			return newError(err.Reason, nestedDetail+err.Detail)
		}
		return nil
	}
	if !text && firstNonText(line) >= 0 {
		return newError(ReasonNotText, "invalid UTF-8 or control byte in line")
	}
	return d.parseLine(line, req)
}
