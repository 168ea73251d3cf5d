package output

import (
	"fmt"
	"time"
)

// Format selects the byte layout of an os-check record.
type Format string

const (
	// KStreams is the reference application's layout: Kafka Streams'
	// TimeWindowedSerializer<String> key and LongSerializer value.
	KStreams Format = "kstreams"
	// JSON has a readable "os@start" key and a self-describing JSON value.
	JSON Format = "json"
	// Text has a readable "os@start" key and the decimal count as value.
	Text Format = "text"
)

// ParseFormat returns the Format named s. Names are matched exactly so that a
// typo in configuration fails loudly instead of selecting a default.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case KStreams, JSON, Text:
		return f, nil
	}
	return "", fmt.Errorf("unknown output format %q (accepted: %s, %s, %s)", s, KStreams, JSON, Text)
}

// Encode returns the record key and value for w in format f.
//
// It panics if f is not one of the declared formats: a Format should only
// come from ParseFormat or a constant, so anything else is a programming
// error, and writing bytes no reader understands would be worse.
func (f Format) Encode(w Window) (key, value []byte) {
	switch f {
	case KStreams:
		return encodeKStreams(w)
	case JSON:
		return encodeJSON(w)
	case Text:
		return encodeText(w)
	}
	panic(fmt.Sprintf("output: Encode with unknown format %q", string(f)))
}

// Decode reads a record written in format f back into a Window.
//
// window is the window size. It is needed because the kstreams and text
// bytes carry no end (End = Start + window), and must then be a positive
// whole number of milliseconds; the json value carries its real end, so
// window is ignored there.
func (f Format) Decode(key, value []byte, window time.Duration) (Window, error) {
	var (
		w   Window
		err error
	)
	switch f {
	case KStreams:
		w, err = decodeKStreams(key, value, window)
	case JSON:
		w, err = decodeJSON(key, value)
	case Text:
		w, err = decodeText(key, value, window)
	default:
		return Window{}, fmt.Errorf("decode: unknown output format %q", string(f))
	}
	if err != nil {
		return Window{}, fmt.Errorf("decode %s record: %w", f, err)
	}
	return w, nil
}

// endOf derives the end of a window the bytes do not carry.
func endOf(start int64, window time.Duration) (int64, error) {
	ms := window.Milliseconds()
	if ms <= 0 || window%time.Millisecond != 0 {
		return 0, fmt.Errorf("window size %v is not a positive whole number of milliseconds", window)
	}
	// An end past the int64 range cannot be represented, and silently
	// wrapping would yield End < Start.
	if start > maxInt64-ms {
		return 0, fmt.Errorf("window start %d plus size %v overflows int64", start, window)
	}
	return start + ms, nil
}

const maxInt64 = 1<<63 - 1
