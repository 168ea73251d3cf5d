package decode

// Request is what one access-log record says about one HTTP request.
//
// OSParam and UserAgent alias the record or the Decoder's buffers; see the
// package documentation for how long they stay valid.
type Request struct {
	Time int64 // event time from the record's own timestamp, Unix milliseconds

	// OSParam is the percent-decoded value of the os-type query parameter;
	// nil when absent or empty. Decoding can yield any bytes, so callers
	// must validate it before trusting it.
	OSParam []byte

	// UserAgent is nil when the record has none or it is "-" (or "", which
	// nginx writes in JSON). In a line, escapes written by the server (\"
	// or \xHH) are left as logged: undoing them would cost a copy and no
	// User-Agent rule depends on them. From an nginx JSON object it is the
	// decoded JSON string, which can hold any bytes: nginx writes control
	// bytes as JSON escapes and bytes above 0x7E raw.
	UserAgent []byte
}
