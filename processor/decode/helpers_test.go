package decode

import (
	"errors"
	"testing"
	"time"
	"unsafe"
)

// result is a Request copied out of the Decoder's buffers, comparable with ==.
type result struct {
	time      int64
	osParam   string
	osNil     bool
	userAgent string
	uaNil     bool
	reason    string
}

func decodeOne(t testing.TB, d *Decoder, record string) result {
	t.Helper()
	var req Request
	err := d.Decode([]byte(record), &req)
	if err != nil {
		var de *Error
		if !errors.As(err, &de) {
			t.Fatalf("Decode(%q) returned %T, want *Error", record, err)
		}
		return result{reason: de.Reason, osNil: true, uaNil: true}
	}
	return result{
		time:      req.Time,
		osParam:   string(req.OSParam),
		osNil:     req.OSParam == nil,
		userAgent: string(req.UserAgent),
		uaNil:     req.UserAgent == nil,
	}
}

// ok builds the expected result of a successful decode; "" means nil.
func ok(ts string, osParam, userAgent string) result {
	return result{
		time:      ms(ts),
		osParam:   osParam,
		osNil:     osParam == "",
		userAgent: userAgent,
		uaNil:     userAgent == "",
	}
}

func failed(reason string) result {
	return result{reason: reason, osNil: true, uaNil: true}
}

// ms converts an nginx timestamp with time.Parse, an implementation
// independent of the one under test.
func ms(ts string) int64 {
	tm, err := time.Parse("02/Jan/2006:15:04:05 -0700", ts)
	if err != nil {
		panic(err)
	}
	return tm.UnixMilli()
}

// within reports whether sub lies inside whole's memory, i.e. aliases it.
func within(sub, whole []byte) bool {
	if len(sub) == 0 {
		return true
	}
	if len(whole) == 0 {
		return false
	}
	s := uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	w := uintptr(unsafe.Pointer(unsafe.SliceData(whole)))
	return s >= w && s+uintptr(len(sub)) <= w+uintptr(len(whole))
}
