package decode

import (
	"errors"
	"strings"
	"testing"
)

// nginxObject builds what nginx writes for
//
//	log_format json escape=json '{<time>,"remote_addr":"$remote_addr",...,<tail>}';
//
// with the request fields of commonLine's example.
func nginxObject(time, tail string) string {
	return `{` + time + `,"remote_addr":"10.10.13.41","remote_user":"","request":"GET /v1/open/product_list?user_key=****&os_type=ios HTTP/1.0",` +
		`"status":"200","body_bytes_sent":"1321","request_time":"0.004","http_referer":"",` + tail + `}`
}

const (
	nginxISO    = `"time_iso8601":"2019-08-13T03:46:54+08:00"`
	nginxUA     = `"http_user_agent":"` + androidUA + `"`
	nginxNoUA   = `"http_user_agent":""`
	nginxTSWant = "13/Aug/2019:03:46:54 +0800"
)

var nginxWant = ok(nginxTSWant, "ios", androidUA)

var nginxJSONTests = []struct {
	name   string
	record string
	want   result
}{
	{"time_iso8601", nginxObject(nginxISO, nginxUA), nginxWant},
	{"time_iso8601 UTC as nginx writes it", nginxObject(`"time_iso8601":"2019-08-12T19:46:54+00:00"`, nginxUA), nginxWant},
	{"time_iso8601 Z with fraction", nginxObject(`"time_iso8601":"2019-08-12T19:46:54.987654Z"`, nginxUA),
		result{time: ms(nginxTSWant) + 987, osParam: "ios", userAgent: androidUA}},
	{"time_local", nginxObject(`"time_local":"13/Aug/2019:03:46:54 +0800"`, nginxUA), nginxWant},
	{"msec string", nginxObject(`"msec":"1565639214.123"`, nginxUA),
		result{time: ms(nginxTSWant) + 123, osParam: "ios", userAgent: androidUA}},
	{"msec number", nginxObject(`"msec":1565639214.123`, nginxUA),
		result{time: ms(nginxTSWant) + 123, osParam: "ios", userAgent: androidUA}},
	{"time_iso8601 preferred over msec listed first", nginxObject(`"msec":"1.000","time_local":"01/Jan/2000:00:00:00 +0000",`+nginxISO, nginxUA), nginxWant},
	{"time_local preferred over msec", nginxObject(`"msec":"1.000","time_local":"13/Aug/2019:03:46:54 +0800"`, nginxUA), nginxWant},

	{"args", nginxObject(nginxISO, `"args":"user_key=****&os_type=Windows%20Phone",`+nginxUA), ok(nginxTSWant, "Windows Phone", androidUA)},
	{"args empty wins over request", nginxObject(nginxISO, `"args":"",`+nginxUA), ok(nginxTSWant, "", androidUA)},
	{"request_uri", nginxObject(nginxISO, `"request_uri":"/v1/open?os_type=harmony",`+nginxUA), ok(nginxTSWant, "harmony", androidUA)},
	{"args over request_uri", `{` + nginxISO + `,"request_uri":"/v1?os_type=a","args":"os_type=b"}`, ok(nginxTSWant, "b", "")},
	{"request", nginxObject(nginxISO, nginxUA), nginxWant},
	{"request with JSON escapes", `{` + nginxISO + `,"request":"GET /a\"b?os_type=i\u006fs HTTP/1.1"}`, ok(nginxTSWant, "ios", "")},
	{"TLS junk request", `{` + nginxISO + `,"request":"\u0016\u0003\u0001\u0000\u00a5\u0001?os_type=x","status":"400"}`, ok(nginxTSWant, "", "")},
	{"no request field", `{` + nginxISO + `,"status":"200"}`, ok(nginxTSWant, "", "")},

	{"without UA", nginxObject(nginxISO, nginxNoUA), ok(nginxTSWant, "ios", "")},
	{"dash UA", nginxObject(nginxISO, `"http_user_agent":"-"`), ok(nginxTSWant, "ios", "")},
	{"user_agent", nginxObject(nginxISO, `"user_agent":"curl/8.4.0"`), ok(nginxTSWant, "ios", "curl/8.4.0")},
	{"escaped UA decoded", nginxObject(nginxISO, `"http_user_agent":"Bot \"x\" \\ \u0001 é"`), ok(nginxTSWant, "ios", "Bot \"x\" \\ \x01 é")},
	{"UA bytes nginx passes raw", nginxObject(nginxISO, "\"http_user_agent\":\"A\xff\x7fB\""), ok(nginxTSWant, "ios", "A\xff\x7fB")},
	{"pretty printed", "{\n  \"time_local\": \"13/Aug/2019:03:46:54 +0800\",\n  \"request\": \"GET /?os_type=ios HTTP/1.1\"\n}\n", ok(nginxTSWant, "ios", "")},
}

func TestNginxJSON(t *testing.T) {
	d := NewDecoder("os_type")
	for _, tt := range nginxJSONTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeOne(t, d, tt.record); got != tt.want {
				t.Errorf("Decode(%s)\n got  %+v\n want %+v", tt.record, got, tt.want)
			}
		})
	}
}

// nginxEnvelopes are nginx JSON objects as they reach Kafka when nginx logs
// to a container's stdout and a shipper collects that.
var nginxEnvelopes = []struct {
	name   string
	record string
	want   result
}{
	{"Fluent Bit docker", `{"log":` + jsonQuote(nginxObject(nginxISO, nginxUA)+"\n") + `,"stream":"stdout","time":"2019-08-12T19:46:54.412Z"}`, nginxWant},
	{"Filebeat message", filebeat(`"message":`+jsonQuote(nginxObject(nginxISO, nginxUA))+`,`, `"event":{"module":"nginx"}`), nginxWant},
	{"Connect payload", connect(nginxObject(`"msec":"1565639214.000"`, nginxUA)), nginxWant},
	{"Connect bare string", jsonQuote(nginxObject(nginxISO, nginxUA)), nginxWant},
	{"escapes at both levels", `{"log":` + jsonQuote(nginxObject(nginxISO, `"http_user_agent":"A\"B \u00e9"`)) + `}`, ok(nginxTSWant, "ios", "A\"B é")},
	// One level only: an envelope inside the line is read for its line.
	{"envelope inside the line", `{"log":` + jsonQuote(`{"message":`+jsonQuote(combined)+`}`) + `}`, combinedWant},
}

func TestNginxJSONInsideEnvelopes(t *testing.T) {
	d := NewDecoder("os_type")
	for _, tt := range nginxEnvelopes {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeOne(t, d, tt.record); got != tt.want {
				t.Errorf("Decode(%s)\n got  %+v\n want %+v", tt.record, got, tt.want)
			}
		})
	}
	failures := []struct{ name, record, reason string }{
		{"line is broken JSON", `{"log":` + jsonQuote(`{"time_iso8601":"2019-`) + `}`, ReasonBadJSON},
		{"line is JSON without nginx fields", `{"log":` + jsonQuote(`{"level":"info"}`) + `}`, ReasonNoLine},
		{"nested twice", `{"log":` + jsonQuote(`{"log":`+jsonQuote(nginxObject(nginxISO, nginxUA))+`}`) + `}`, ReasonNoTimestamp},
	}
	for _, tt := range failures {
		if got := decodeOne(t, d, tt.record); got != failed(tt.reason) {
			t.Errorf("%s: got %+v, want reason %s", tt.name, got, tt.reason)
		}
	}
}

// Unescaped values alias the record; escaped ones are decoded into the
// Decoder's buffers, which must not clobber each other.
func TestNginxJSONBuffers(t *testing.T) {
	d := NewDecoder("os_type")
	rec := []byte(`{"time_iso8601":"2019-08-13T03:46:54+08:00","request":"GET /?os_type=ios HTTP/1.1","http_user_agent":"UA"}`)
	var req Request
	if err := d.Decode(rec, &req); err != nil {
		t.Fatal(err)
	}
	if !within(req.OSParam, rec) || !within(req.UserAgent, rec) {
		t.Errorf("unescaped fields do not alias the record: %+v", req)
	}
	rec = []byte(`{"time_iso8601":"\u0032019-08-13T03:46:54+08:00","request":"GET /?os_type=\u0069os HTTP/1.1","http_user_agent":"U\u0041"}`)
	if err := d.Decode(rec, &req); err != nil {
		t.Fatal(err)
	}
	if string(req.OSParam) != "ios" || string(req.UserAgent) != "UA" || req.Time != ms(nginxTSWant) {
		t.Errorf("escaped fields decoded as %+v", req)
	}
	if !within(req.OSParam, d.targetBuf) || !within(req.UserAgent, d.uaBuf) {
		t.Errorf("escaped fields are not in their own buffers")
	}
}

// Each way an nginx JSON object's time can be unusable has its reason and
// a detail naming the field.
func TestNginxJSONTimeErrors(t *testing.T) {
	for _, tt := range []struct {
		time   string
		reason string
		detail string
	}{
		{`"time_iso8601":null`, ReasonNoTimestamp, "time_iso8601 is null"},
		{`"time_local":""`, ReasonNoTimestamp, "time_local is empty"},
		{`"msec":"-"`, ReasonNoTimestamp, "msec is empty"},
		{`"time_iso8601":1565639214`, ReasonBadTimestamp, "time_iso8601 is not a string"},
		{`"msec":{"s":1}`, ReasonBadTimestamp, "msec is not a string"},
		{`"time_iso8601":"2019-08-13 03:46:54+08:00"`, ReasonBadTimestamp, "time_iso8601 is not RFC 3339"},
		{`"time_iso8601":"1969-12-31T23:59:59Z"`, ReasonBadTimestamp, "time_iso8601 is not RFC 3339"},
		{`"time_iso8601":"2019-08-13T03:46:54+0800"`, ReasonBadTimestamp, "time_iso8601 is not RFC 3339"},
		{`"time_local":"2019-08-13T03:46:54+08:00"`, ReasonBadTimestamp, "time_local is not dd/Mon/yyyy"},
		{`"msec":-1.000`, ReasonBadTimestamp, "msec is not Unix seconds"},
		{`"msec":1.565639214123e9`, ReasonBadTimestamp, "msec is not Unix seconds"},
		{`"msec":"253402300800.000"`, ReasonBadTimestamp, "msec is not Unix seconds"},
		// The field present first in preference decides, even when broken.
		{`"msec":"1565639214.123","time_iso8601":"yesterday"`, ReasonBadTimestamp, "time_iso8601 is not RFC 3339"},
	} {
		record := nginxObject(tt.time, nginxUA)
		var req Request
		err := NewDecoder("os_type").Decode([]byte(record), &req)
		var de *Error
		if !errors.As(err, &de) || de.Reason != tt.reason || !strings.HasPrefix(de.Detail, tt.detail) {
			t.Errorf("Decode(%s) = %v, want %s: %s...", record, err, tt.reason, tt.detail)
		}
	}
}
