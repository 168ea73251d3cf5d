// Package decode turns one Kafka record value into what oscheck needs from
// one HTTP access-log line: the event time, the os-type query parameter and
// the User-Agent.
//
// The package guarantees that:
//
//   - Decode never panics, whatever the bytes. It returns nil or an *Error
//     whose Reason is one of the Reason constants, so Reason is safe to use
//     as a Prometheus label value: its cardinality is fixed.
//   - The kind of record is detected per record, without configuration:
//     a plain text line (what Kafka Connect's StringConverter writes, or a
//     syslog message with nginx's line after its header); a bare JSON
//     string (JsonConverter with schemas.enable=false); or a JSON object.
//     An object that holds a line field as a string is an envelope around
//     that line: Kafka Connect's JsonConverter (payload), Filebeat,
//     Logstash and Vector (message, or ECS event.original), Fluent Bit and
//     Docker (log), rsyslog's JSON templates (msg); see the field constants
//     for their ranking. Otherwise an object with one of nginx's time
//     fields (time_iso8601, time_local, msec) is a log_format escape=json
//     object, read field by field; any other object has no line.
//   - A JSON record is validated whole before anything is taken from it,
//     so a truncated or mangled one is reported as bad_json, not half-read.
//   - On success, Time is the record's own timestamp in Unix milliseconds,
//     for a calendar-valid date in the years 1970 to 9999.
//   - Once a Decoder's buffers have grown to fit the records it sees, a
//     successful Decode allocates nothing; only failures allocate, to build
//     their *Error.
//   - The slices in Request point into the record or into the Decoder's own
//     buffers. They are valid until the next Decode call on the same Decoder,
//     and only while the record itself is left unchanged.
package decode
