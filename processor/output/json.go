package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jsonValue fixes the field order of the json value: encoding/json writes
// struct fields in declaration order.
type jsonValue struct {
	OSType      string `json:"os_type"`
	WindowStart int64  `json:"window_start"`
	WindowEnd   int64  `json:"window_end"`
	Count       int64  `json:"count"`
}

// jsonIn has pointer fields so that a missing field is an error rather than
// a silent zero.
type jsonIn struct {
	OSType      *string `json:"os_type"`
	WindowStart *int64  `json:"window_start"`
	WindowEnd   *int64  `json:"window_end"`
	Count       *int64  `json:"count"`
}

func encodeJSON(w Window) (key, value []byte) {
	value, err := json.Marshal(jsonValue{w.OSType, w.Start, w.End, w.Count})
	if err != nil {
		// Marshal fails only for unsupported types or values; these fields
		// are a string and int64s, so this is unreachable.
		panic(fmt.Sprintf("output: marshal json value: %v", err))
	}
	return appendKey(nil, w.OSType, w.Start), value
}

func decodeJSON(key, value []byte) (Window, error) {
	osType, start, err := parseKey(key)
	if err != nil {
		return Window{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.DisallowUnknownFields()
	var in jsonIn
	if err := dec.Decode(&in); err != nil {
		return Window{}, fmt.Errorf("value: %w", err)
	}
	// Decoder stops after the first value; a second token means the value
	// is not one JSON object.
	if _, err := dec.Token(); err != io.EOF {
		return Window{}, errors.New("value: trailing data after JSON object")
	}
	if in.OSType == nil || in.WindowStart == nil || in.WindowEnd == nil || in.Count == nil {
		return Window{}, errors.New("value: want all of os_type, window_start, window_end, count")
	}
	// The key decides partitioning and the value is what readers show;
	// disagreement means the record is corrupt, and either choice would be
	// wrong somewhere.
	if *in.OSType != osType || *in.WindowStart != start {
		return Window{}, fmt.Errorf("key %q disagrees with value (os_type %q, window_start %d)", key, *in.OSType, *in.WindowStart)
	}
	if *in.WindowEnd <= start {
		return Window{}, fmt.Errorf("value: window_end %d is not after window_start %d", *in.WindowEnd, start)
	}
	return Window{OSType: osType, Start: start, End: *in.WindowEnd, Count: *in.Count}, nil
}
