package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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
	for _, tt := range shipperTests {
		f.Add([]byte(tt.record))
	}
	for _, tt := range nginxJSONTests {
		f.Add([]byte(tt.record))
	}
	for _, tt := range nginxEnvelopes {
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
		if req.OSParam != nil && (len(req.OSParam) == 0 || !within(req.OSParam, record) &&
			!within(req.OSParam, d.lineBuf) && !within(req.OSParam, d.outerBuf) && !within(req.OSParam, d.targetBuf) &&
			!within(req.OSParam, d.paramBuf)) {
			t.Errorf("OSParam %q is empty or outside the record and buffers", req.OSParam)
		}
		if req.UserAgent != nil && (len(req.UserAgent) == 0 || string(req.UserAgent) == "-" ||
			!within(req.UserAgent, record) && !within(req.UserAgent, d.lineBuf) && !within(req.UserAgent, d.outerBuf) &&
				!within(req.UserAgent, d.uaBuf)) {
			t.Errorf("UserAgent %q is empty, \"-\" or outside the record and buffers", req.UserAgent)
		}
		// Decoding again after another record must give the same answer:
		// nothing may depend on what the buffers held before.
		want := decodeOne(t, d, string(record))
		decodeOne(t, d, connect(combined+`?os_type=%41`))
		decodeOne(t, d, `{"msec":"1.5","request_uri":"/?os_type=%41\u0041","http_user_agent":"\u0041"}`)
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
	// rejects it, apart from the nesting limit and from errors in a line
	// that is itself JSON.
	rec := trimSpace(record)
	if len(rec) > 0 && rec[0] == '{' && de.Detail != "nested too deep" && !strings.HasPrefix(de.Detail, nestedDetail) {
		if valid := json.Valid(rec); valid == (de.Reason == ReasonBadJSON) {
			t.Errorf("reason %s but json.Valid = %v", de.Reason, valid)
		}
	}
	if len(rec) > 0 && rec[0] == '"' && de.Reason == ReasonBadJSON && json.Valid(rec) && !strings.HasPrefix(de.Detail, nestedDetail) {
		t.Errorf("valid JSON string reported as bad_json")
	}
}

// scanString must accept the strings encoding/json accepts, decode them as
// it does, claim text only where firstNonText agrees, and agree with itself
// when asked only to validate, whatever the alignment of escapes and ends.
func FuzzScanString(f *testing.F) {
	for _, s := range []string{
		`""`, `"\\"`, `"\u00e9\ud83d\ude00"`, `"\ud83d\u0041"`, `"a\nb"`, `"tab\tend"`,
		`"\"GET /x HTTP/1.1\" 200"`, `"\u0000"`, `"\u007f"`, "\"\x7f\"", "\"\xff\"", `"é"`,
		`"0123456\"`, `"01234567\"89abcdef0123456\"x"`, `"abc`, `"\q"`, `"\u12"`, "\"a\nb\"",
		`"short" tail`, strings.Repeat(`\"x`, 20),
	} {
		f.Add([]byte(s))
	}
	for _, rl := range readRealLines(f) {
		f.Add([]byte(jsonQuote(rl.line)))
	}
	var buf []byte
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || data[0] != '"' {
			data = append([]byte{'"'}, data...)
		}
		end, got, err := scanString(data, 0, &buf)
		vEnd, vGot, vErr := scanString(data, 0, nil)
		sEnd, sEscaped, sErr := skipString(data, 0)
		// text may be false for text: a word read near the end can flag
		// bytes after the closing quote, and decoding a surrogate pair
		// ends the string on a different word than validating it does
		// (testdata/fuzz/FuzzScanString/8f84b204cbb61d0e). So the two
		// need not agree on text; a claim of text is checked below.
		if vEnd != end || vErr != err || vGot.escaped != got.escaped ||
			sEnd != end || sErr != err || sEscaped != got.escaped {
			t.Fatalf("decoding gave %d %+v %q, validating %d %+v %q, skipping %d %v %q",
				end, got, err, vEnd, vGot, vErr, sEnd, sEscaped, sErr)
		}
		if err != "" {
			if json.Valid(data) {
				t.Errorf("rejected (%s) a string encoding/json accepts", err)
			}
			return
		}
		if !json.Valid(data[:end]) {
			t.Fatalf("accepted %q, which encoding/json rejects", data[:end])
		}
		if got.escaped != (bytes.IndexByte(data[1:end-1], '\\') >= 0) {
			t.Errorf("escaped = %v", got.escaped)
		}
		if !got.escaped && !within(got.content, data) {
			t.Errorf("unescaped content does not alias the record")
		}
		if (got.text || vGot.text) && firstNonText(got.content) >= 0 {
			t.Errorf("claims text for %q (decoding: %v, validating: %v)", got.content, got.text, vGot.text)
		}
		var want string
		if err := json.Unmarshal(data[:end], &want); err != nil {
			t.Fatal(err)
		}
		// encoding/json replaces invalid UTF-8 where scanString keeps it.
		if utf8.Valid(data[:end]) && string(got.content) != want {
			t.Errorf("content %q, encoding/json says %q", got.content, want)
		}
	})
}
