package decode

// field is a top-level member of a JSON object record that the decoder
// reads; any other member is only validated.
type field uint8

// The line fields come first, most preferred first. An object holding one
// as a string is an envelope, and the best one it holds is its log line:
//
//   - payload: Kafka Connect's JsonConverter envelope.
//   - message: Filebeat, Logstash and Vector.
//   - event.original: ECS's copy of the line, as a dotted key or as
//     "original" inside an "event" object. It ranks below message because
//     Logstash's json codec keeps the whole received document there, and
//     it is what is left when an ECS pipeline has renamed message.
//   - log: Fluent Bit and Docker's json-file driver. Filebeat writes an
//     object there, which is not a line field.
//   - msg: rsyslog's JSON templates, whose message property is the syslog
//     message; last because other records use it for a program's message.
//
// The nginx fields are read from a log_format escape=json object, decoded
// when a record holds no line field. They are named after the variables
// written to them, the usual way to write such a log_format.
const (
	payloadField field = iota
	messageField
	eventOriginalField
	logField
	msgField
	noLine // not a line field: the rank of a record without one

	eventField // ECS's event object, which may hold "original"

	timeISO8601Field // first of the nginx fields
	timeLocalField
	msecField
	httpUserAgentField
	userAgentField
	argsField
	requestURIField
	requestField

	otherField
)

// firstNginxField and nginxFields index object.at.
const (
	firstNginxField = timeISO8601Field
	nginxFields     = int(otherField - firstNginxField)
)

// fieldOf returns the field a top-level key names. A switch on the key
// compares its length before any byte, so most keys cost one comparison.
func fieldOf(key []byte) field {
	switch string(key) {
	case "payload":
		return payloadField
	case "message":
		return messageField
	case "event.original":
		return eventOriginalField
	case "log":
		return logField
	case "msg":
		return msgField
	case "event":
		return eventField
	case "time_iso8601":
		return timeISO8601Field
	case "time_local":
		return timeLocalField
	case "msec":
		return msecField
	case "http_user_agent":
		return httpUserAgentField
	case "user_agent":
		return userAgentField
	case "args":
		return argsField
	case "request_uri":
		return requestURIField
	case "request":
		return requestField
	}
	return otherField
}
