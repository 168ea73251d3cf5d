package decode

// Reasons are short, stable tokens: they become Prometheus label values, so
// they must never carry record data and their set must stay small.
const (
	ReasonEmpty        = "empty"          // record or its line is empty or whitespace
	ReasonBadJSON      = "bad_json"       // record starts like JSON but is not valid JSON
	ReasonNoLine       = "no_line"        // valid JSON, but no string field holding a line
	ReasonNotText      = "not_text"       // invalid UTF-8, or a control byte other than tab
	ReasonNotAccessLog = "not_access_log" // timestamp not followed by a quoted request
	ReasonNoTimestamp  = "no_timestamp"   // no [...] timestamp field
	ReasonBadTimestamp = "bad_timestamp"  // [...] field that is not a valid timestamp
)

// Error is a record that cannot be decoded; Reason is a short stable token
// usable as a Prometheus label value, Detail is for humans.
type Error struct {
	Reason string
	Detail string
}

func (e *Error) Error() string { return e.Reason + ": " + e.Detail }

// newError is only reached on failures, so it may allocate.
func newError(reason, detail string) *Error {
	return &Error{Reason: reason, Detail: detail}
}
