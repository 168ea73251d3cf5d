package output

import "strconv"

// Window is one final (or updated) count of requests from one OS in one
// tumbling window.
type Window struct {
	OSType string
	// Start and End are Unix milliseconds; the window is [Start, End).
	Start, End int64
	Count      int64
}

// String renders w the way Kafka's console consumer renders Kafka Streams'
// windowed output, e.g. "[android@1565743788000/1565743790000] 1522", so logs
// and demo output read like the reference application's. Unlike the console
// consumer, which must guess the end from a configured size, it prints the
// real end.
func (w Window) String() string {
	b := make([]byte, 0, len(w.OSType)+64)
	b = append(b, '[')
	b = appendKey(b, w.OSType, w.Start)
	b = append(b, '/')
	b = strconv.AppendInt(b, w.End, 10)
	b = append(b, "] "...)
	b = strconv.AppendInt(b, w.Count, 10)
	return string(b)
}
