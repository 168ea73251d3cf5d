package decode

// Reasons are short, stable tokens: they become Prometheus label values, so
// they must never carry record data and their set must stay small.
const (
	ReasonEmpty        = "empty"          // record or its line is empty or whitespace
	ReasonBadJSON      = "bad_json"       // record starts like JSON but is not valid JSON
	ReasonNoLine       = "no_line"        // JSON object with no line field and no nginx time field
	ReasonNotText      = "not_text"       // invalid UTF-8, or a control byte other than tab, in a line
	ReasonNotAccessLog = "not_access_log" // timestamp not followed by a quoted request
	ReasonNoTimestamp  = "no_timestamp"   // line without a [...] timestamp, or nginx time field without a value
	ReasonBadTimestamp = "bad_timestamp"  // timestamp that is not valid in its field's format
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
