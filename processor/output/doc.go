// Package output defines the bytes of one os-check record and reads them back.
//
// It guarantees that, for every Format, Decode(Encode(w)) == w for any
// Window whose OSType is valid UTF-8 and whose [Start, End) spans the window
// size Decode is given, and that the kstreams format is byte-for-byte what
// Kafka Streams' TimeWindowedSerializer<String> and LongSerializer write, so
// existing consumers of the reference application keep working. Decode never
// panics on arbitrary input; it returns an error instead.
package output
