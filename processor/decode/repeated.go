package decode

import "bytes"

// repeatSlots is how many of a record's top-level objects and arrays
// skipRepeated remembers: Filebeat writes seven.
const repeatSlots = 8

// skipRepeated is skipValue for the object or array at rec[i], the nth
// top-level member whose value is one. Kafka Connect repeats the same
// schema in every record, and shippers the same metadata in the same
// order, so the last value found valid in each position is kept: the same
// bytes are valid again and end at the same offset, since what surrounds a
// value has no bearing on either. Comparing costs far less than validating.
func (d *Decoder) skipRepeated(rec []byte, i, n int) (int, jsonError) {
	if n >= repeatSlots {
		return skipValue(rec, i, recordDepth)
	}
	seen := d.repeated[n]
	if len(seen) > 0 && bytes.HasPrefix(rec[i:], seen) {
		return i + len(seen), ""
	}
	end, err := skipValue(rec, i, recordDepth)
	if err == "" {
		d.repeated[n] = append(seen[:0], rec[i:end]...)
	}
	return end, err
}
