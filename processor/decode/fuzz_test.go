package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

var reasons = map[string]bool{
	ReasonEmpty: true, ReasonBadJSON: true, ReasonNoLine: true, ReasonNotText: true,
	ReasonNotAccessLog: true, ReasonNoTimestamp: true, ReasonBadTimestamp: true,
}

// The widest Time range parseTimestamp can produce: the earliest and latest
// dates it accepts, shifted by the largest zone offsets.
var (
	earliest = time.Date(minYear, 1, 1, 0, 0, 0, 0, time.FixedZone("", 23*3600+59*60)).UnixMilli()
	latest   = time.Date(maxYear, 12, 31, 23, 59, 59, 0, time.FixedZone("", -(23*3600+59*60))).UnixMilli()
)

func FuzzDecode(f *testing.F) {
	for _, tt := range envelopeTests {
		f.Add([]byte(tt.record))
	}
	for _, tt := range lineTests {
		f.Add([]byte(tt.line))
	}
	for _, tt := range errorTests {
		f.Add([]byte(tt.record))
	}
	for _, rl := range readRealLines(f) {
		for _, record := range envelopes(rl.line) {
			f.Add([]byte(record))
		}
	}
	d := NewDecoder("os_type")
	f.Fuzz(func(t *testing.T, record []byte) {
		original := bytes.Clone(record)
		var req Request
		err := d.Decode(record, &req)
		if !bytes.Equal(record, original) {
			t.Fatalf("Decode modified its input")
		}
		if err != nil {
			checkFailure(t, record, err, req)
			return
		}
		if rec := trimSpace(record); rec[0] == '{' && !json.Valid(rec) {
			t.Errorf("decoded a JSON object that encoding/json rejects")
		}
		if req.Time < earliest || req.Time > latest {
			t.Errorf("Time %d outside [%d, %d]", req.Time, earliest, latest)
		}
		if req.OSParam != nil && (len(req.OSParam) == 0 ||
			!within(req.OSParam, record) && !within(req.OSParam, d.lineBuf) && !within(req.OSParam, d.paramBuf)) {
			t.Errorf("OSParam %q is empty or outside the record and buffers", req.OSParam)
		}
		if req.UserAgent != nil && (len(req.UserAgent) == 0 || string(req.UserAgent) == "-" ||
			!within(req.UserAgent, record) && !within(req.UserAgent, d.lineBuf)) {
			t.Errorf("UserAgent %q is empty, \"-\" or outside the record and buffer", req.UserAgent)
		}
		// Decoding again after another record must give the same answer:
		// nothing may depend on what the buffers held before.
		want := decodeOne(t, d, string(record))
		decodeOne(t, d, connect(combined+`?os_type=%41`))
		if got := decodeOne(t, d, string(record)); got != want {
			t.Errorf("decoding again gave %+v, first %+v", got, want)
		}
	})
}

func checkFailure(t *testing.T, record []byte, err error, req Request) {
	var de *Error
	if !errors.As(err, &de) {
		t.Fatalf("error %T %v is not an *Error", err, err)
	}
	if !reasons[de.Reason] || de.Detail == "" {
		t.Errorf("error %q: unknown reason or empty detail", de)
	}
	if req.Time != 0 || req.OSParam != nil || req.UserAgent != nil {
		t.Errorf("failed Decode left req = %+v", req)
	}
	// A record that starts like JSON is bad_json exactly when encoding/json
	// rejects it, apart from the nesting limit.
	rec := trimSpace(record)
	if len(rec) > 0 && rec[0] == '{' && de.Detail != "nested too deep" {
		if valid := json.Valid(rec); valid == (de.Reason == ReasonBadJSON) {
			t.Errorf("reason %s but json.Valid = %v", de.Reason, valid)
		}
	}
	if len(rec) > 0 && rec[0] == '"' && de.Reason == ReasonBadJSON && json.Valid(rec) {
		t.Errorf("valid JSON string reported as bad_json")
	}
}
