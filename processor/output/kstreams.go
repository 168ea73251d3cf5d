package output

import (
	"encoding/binary"
	"fmt"
	"time"
)

// longSize is the width of a Java long as ByteBuffer.putLong and
// LongSerializer write it: 8 bytes, big-endian, two's complement.
const longSize = 8

func encodeKStreams(w Window) (key, value []byte) {
	key = make([]byte, 0, len(w.OSType)+longSize)
	key = append(key, w.OSType...)
	key = binary.BigEndian.AppendUint64(key, uint64(w.Start))
	value = binary.BigEndian.AppendUint64(make([]byte, 0, longSize), uint64(w.Count))
	return key, value
}

func decodeKStreams(key, value []byte, window time.Duration) (Window, error) {
	// An empty os_type is a legal StringSerializer output, so a bare 8-byte
	// start is accepted: Decode must read everything Encode writes.
	if len(key) < longSize {
		return Window{}, fmt.Errorf("key is %d bytes, want at least %d (os_type bytes + 8-byte window start)", len(key), longSize)
	}
	if len(value) != longSize {
		return Window{}, fmt.Errorf("value is %d bytes, want exactly %d (big-endian count)", len(value), longSize)
	}
	split := len(key) - longSize
	start := int64(binary.BigEndian.Uint64(key[split:]))
	end, err := endOf(start, window)
	if err != nil {
		return Window{}, err
	}
	return Window{
		OSType: string(key[:split]),
		Start:  start,
		End:    end,
		Count:  int64(binary.BigEndian.Uint64(value)),
	}, nil
}
