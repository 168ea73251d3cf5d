package output

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// appendKey appends the readable "os@start" key shared by json and text.
func appendKey(dst []byte, osType string, start int64) []byte {
	dst = append(dst, osType...)
	dst = append(dst, '@')
	return strconv.AppendInt(dst, start, 10)
}

// parseKey splits a readable key at its last '@': the start is always a bare
// integer, so the last '@' is unambiguous even when the os contains '@'.
func parseKey(key []byte) (osType string, start int64, err error) {
	i := bytes.LastIndexByte(key, '@')
	if i < 0 {
		return "", 0, errors.New("key has no '@' separating os_type from window start")
	}
	start, err = strconv.ParseInt(string(key[i+1:]), 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("key window start: %w", err)
	}
	return string(key[:i]), start, nil
}
