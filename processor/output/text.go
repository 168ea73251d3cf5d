package output

import (
	"fmt"
	"strconv"
	"time"
)

func encodeText(w Window) (key, value []byte) {
	return appendKey(nil, w.OSType, w.Start), strconv.AppendInt(nil, w.Count, 10)
}

func decodeText(key, value []byte, window time.Duration) (Window, error) {
	osType, start, err := parseKey(key)
	if err != nil {
		return Window{}, err
	}
	count, err := strconv.ParseInt(string(value), 10, 64)
	if err != nil {
		return Window{}, fmt.Errorf("value count: %w", err)
	}
	end, err := endOf(start, window)
	if err != nil {
		return Window{}, err
	}
	return Window{OSType: osType, Start: start, End: end, Count: count}, nil
}
