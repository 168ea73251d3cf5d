// Package decode turns one Kafka record value into what oscheck needs from
// one HTTP access-log line: the event time, the os-type query parameter and
// the User-Agent.
//
// The package guarantees that:
//
//   - Decode never panics, whatever the bytes. It returns nil or an *Error
//     whose Reason is one of the Reason constants, so Reason is safe to use
//     as a Prometheus label value: its cardinality is fixed.
//   - The envelope is detected per record, without configuration: a plain
//     text line, a Kafka Connect JsonConverter envelope (schema + payload),
//     a bare JSON string, or a log shipper's JSON object with the line in a
//     top-level string field (see lineFields).
//   - On success, Time is the log line's own timestamp in Unix milliseconds,
//     for a calendar-valid date in the years 1970 to 9999.
//   - Once a Decoder's buffers have grown to fit the records it sees, a
//     successful Decode allocates nothing; only failures allocate, to build
//     their *Error.
//   - The slices in Request point into the record or into the Decoder's own
//     buffers. They are valid until the next Decode call on the same Decoder,
//     and only while the record itself is left unchanged.
package decode
