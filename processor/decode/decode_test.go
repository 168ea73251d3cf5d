package decode

import (
	"errors"
	"strings"
	"testing"
)

const (
	commonLine = `10.10.13.41 - - [13/Aug/2019:03:46:54 +0800] "GET /v1/open/product_list?user_key=****&user_phone=****&screen_height=1125&screen_width=2436&from_page=1&user_type=2&os_type=ios HTTP/1.0" 200 1321`
	androidUA  = `Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0 Mobile Safari/537.36`
	combined   = `203.0.113.9 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?x=1 HTTP/1.0" 200 2326 "http://www.example.com/start.html" "` + androidUA + `"`
)

var (
	commonWant   = ok("13/Aug/2019:03:46:54 +0800", "ios", "")
	combinedWant = ok("10/Oct/2000:13:55:36 -0700", "", androidUA)
)

// jsonQuote is a JSON string encoder written for the tests, so envelopes
// are built without trusting the decoder's own JSON code.
func jsonQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func connect(line string) string {
	return `{"schema":{"type":"string","optional":false},"payload":` + jsonQuote(line) + `}`
}

var envelopeTests = []struct {
	name   string
	record string
	want   result
}{
	{"plain common", commonLine, commonWant},
	{"plain combined", combined, combinedWant},
	{"plain with CRLF", combined + "\r\n", combinedWant},
	{"plain with surrounding blanks", " \t" + combined + " \n", combinedWant},

	{"connect", connect(combined), combinedWant},
	{"connect common", connect(commonLine), commonWant},
	{"connect payload first", `{"payload":` + jsonQuote(combined) + `,"schema":{"type":"string","optional":false}}`, combinedWant},
	{"connect pretty printed", "{\n  \"schema\" : {\"type\": \"string\"},\n  \"payload\" : " + jsonQuote(combined) + "\n}\n", combinedWant},
	{"connect with tricky other keys",
		`{"a":"}{\"[","b":[1,-2.5e+3,{"c":["]}",null,true,false]}],"d":{},"e":[],"schema":{"type":"string"},"payload":` + jsonQuote(combined) + `,"z":0}`,
		combinedWant},
	{"connect escaped key", `{"pay\u006coad":` + jsonQuote(combined) + `}`, combinedWant},
	{"connect payload preferred over message",
		`{"message":"garbage","payload":` + jsonQuote(combined) + `}`, combinedWant},
	{"connect line with trailing newline", connect(combined + "\n"), combinedWant},
	{"connect escapes undone", `{"payload":"1.2.3.4 - - [13/Aug/2019:03:46:54 +0800] \"GET \/x?os_type=\u0069os HTTP/1.1\" 200 1 \"-\" \"\ud83d\ude00 \u00e9\""}`,
		ok("13/Aug/2019:03:46:54 +0800", "ios", "\U0001F600 é")},

	{"bare string", jsonQuote(combined), combinedWant},
	{"bare string common", jsonQuote(commonLine) + "\n", commonWant},

	{"shipper message", `{"@timestamp":"2019-08-13T03:46:54Z","host":{"name":"web-1"},"message":` + jsonQuote(combined) + `}`, combinedWant},
	{"shipper log (docker)", `{"log":` + jsonQuote(combined+"\n") + `,"stream":"stdout","time":"2019-08-13T03:46:54.1Z"}`, combinedWant},
	{"message preferred over log", `{"log":"x","message":` + jsonQuote(combined) + `}`, combinedWant},
	{"non-string payload skipped", `{"payload":null,"message":` + jsonQuote(combined) + `}`, combinedWant},
	{"first duplicate wins", `{"message":` + jsonQuote(combined) + `,"message":"x"}`, combinedWant},
}

func TestEnvelopes(t *testing.T) {
	d := NewDecoder("os_type")
	for _, tt := range envelopeTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeOne(t, d, tt.record); got != tt.want {
				t.Errorf("Decode(%s)\n got  %+v\n want %+v", tt.record, got, tt.want)
			}
		})
	}
}

const (
	ts     = "[07/Dec/2016:11:05:07 +0100]"
	tsWant = "07/Dec/2016:11:05:07 +0100"
	tail   = ` "GET /ocelot?os_type=android HTTP/1.1" 200 571 "-" "UA/1.0"`
)

// One case per real-world line variant; testdata/real-lines.txt has real
// samples of most of them.
var lineTests = []struct {
	name string
	line string
	want result
}{
	{"client list", `10.0.0.2, 10.0.0.1 - - ` + ts + tail, ok(tsWant, "android", "UA/1.0")},
	{"quoted client list", `"10.5.102.222, 199.96.1.1" 10.2.1.185 - - ` + ts + tail, ok(tsWant, "android", "UA/1.0")},
	{"IPv6 client", `2a02:cf40:10ff:f00f:0000:0000:0:8000 - - ` + ts + tail, ok(tsWant, "android", "UA/1.0")},
	{"unix: client", `unix: - - ` + ts + tail, ok(tsWant, "android", "UA/1.0")},
	{"host:port prefix", `example.com:443 1.2.3.4 - - ` + ts + tail, ok(tsWant, "android", "UA/1.0")},
	{"host prefix", `example.com 1.2.3.4 - - ` + ts + tail, ok(tsWant, "android", "UA/1.0")},
	{"host:port prefix and unix: client", `example.com:80 unix: - - ` + ts + tail, ok(tsWant, "android", "UA/1.0")},
	{"bracketed IPv6 host:port prefix", `[2001:db8::1]:443 [::1] - - ` + ts + tail, ok(tsWant, "android", "UA/1.0")},
	{"nothing before timestamp", ts + tail, ok(tsWant, "android", "UA/1.0")},

	{"empty request", `127.0.0.1 - - ` + ts + ` "" 400 0 "-" "-"`, ok(tsWant, "", "")},
	{"dash request", `127.0.0.1 - - ` + ts + ` "-" 400 0 "-" "curl/8"`, ok(tsWant, "", "curl/8")},
	{"garbage request", `unix: - - ` + ts + ` "hello" 400 173 "-" "-"`, ok(tsWant, "", "")},
	{"TLS handshake on a plain port", `1.2.3.4 - - ` + ts + ` "\x16\x03\x01\x00\xA5\x01\x00\x00\xA1?os_type=x" 400 157 "-" "-"`, ok(tsWant, "", "")},
	{"no method", `1.2.3.4 - - ` + ts + ` "/x?os_type=ios" 400 1 "-" "-"`, ok(tsWant, "", "")},
	{"HTTP/0.9 request", `1.2.3.4 - - ` + ts + ` "GET /?os_type=ios" 200 1`, ok(tsWant, "ios", "")},
	{"absolute-form target", `1.2.3.4 - - ` + ts + ` "GET http://h/p?os_type=ios HTTP/1.1" 200 1 "-" "UA"`, ok(tsWant, "ios", "UA")},
	{"bracket in request", `1.2.3.4 - - ` + ts + ` "GET /?a[0]=1&os_type=ios HTTP/1.1" 200 1 "-" "UA"`, ok(tsWant, "ios", "UA")},
	{"escaped quote in request", `1.2.3.4 - - ` + ts + ` "GET /a\"?os_type=ios HTTP/1.1" 200 1 "-" "UA"`, ok(tsWant, "ios", "UA")},

	{"extra trailing fields", `1.2.3.4 - - ` + ts + tail + ` "10.0.0.1, 10.0.0.2" "-"`, ok(tsWant, "android", "UA/1.0")},
	{"dash User-Agent", `1.2.3.4 - - ` + ts + ` "GET /?os_type=ios HTTP/1.1" 200 1 "-" "-"`, ok(tsWant, "ios", "")},
	{"empty User-Agent", `1.2.3.4 - - ` + ts + ` "GET / HTTP/1.1" 200 1 "-" ""`, ok(tsWant, "", "")},
	{"common format: no referer or User-Agent", `1.2.3.4 - - ` + ts + ` "GET /?os_type=ios HTTP/1.1" 200 1`, ok(tsWant, "ios", "")},
	{"referer but no User-Agent", `1.2.3.4 - - ` + ts + ` "GET / HTTP/1.1" 200 1 "-"`, ok(tsWant, "", "")},
	{"Apache common with - bytes", `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?os_type=ios HTTP/1.0" 304 -`,
		ok("10/Oct/2000:13:55:36 -0700", "ios", "")},
	{"Apache combined with - bytes", `127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "HEAD /?os_type=ios HTTP/1.0" 304 - "http://a/" "UA"`,
		ok("10/Oct/2000:13:55:36 -0700", "ios", "UA")},
	{"escaped quote in User-Agent", `1.2.3.4 - - ` + ts + ` "GET / HTTP/1.1" 200 1 "-" "Bot \"x\" 1"`, ok(tsWant, "", `Bot \"x\" 1`)},
	{"escaped backslash ends User-Agent", `1.2.3.4 - - ` + ts + ` "GET / HTTP/1.1" 200 1 "-" "Bot\\" "next"`, ok(tsWant, "", `Bot\\`)},
	{"escaped quote in referer", `1.2.3.4 - - ` + ts + ` "GET / HTTP/1.1" 200 1 "http://a/\"b\"" "UA"`, ok(tsWant, "", "UA")},
	{"unterminated User-Agent", `1.2.3.4 - - ` + ts + ` "GET / HTTP/1.1" 200 1 "-" "Mozi`, ok(tsWant, "", "")},
	{"User-Agent with tab and UTF-8", "1.2.3.4 - - " + ts + " \"GET / HTTP/1.1\" 200 1 \"-\" \"A\tB é\"", ok(tsWant, "", "A\tB é")},
	{"lower-case month", `1.2.3.4 - - [07/dec/2016:11:05:07 +0100]` + tail, ok(tsWant, "android", "UA/1.0")},
}

func TestLineVariants(t *testing.T) {
	d := NewDecoder("os_type")
	for _, tt := range lineTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeOne(t, d, tt.line); got != tt.want {
				t.Errorf("Decode(%s)\n got  %+v\n want %+v", tt.line, got, tt.want)
			}
		})
	}
}

var errorTests = []struct {
	name   string
	record string
	reason string
}{
	{"empty", "", ReasonEmpty},
	{"whitespace", " \r\n\t", ReasonEmpty},
	{"empty payload", `{"payload":""}`, ReasonEmpty},
	{"blank bare string", `"  "`, ReasonEmpty},

	{"truncated connect", connect(combined)[:60], ReasonBadJSON},
	{"connect missing brace", connect(combined)[:len(connect(combined))-1], ReasonBadJSON},
	{"trailing garbage after object", connect(combined) + "x", ReasonBadJSON},
	{"two objects", connect(combined) + connect(combined), ReasonBadJSON},
	{"unterminated bare string", `"1.2.3.4 - - [13/Aug/2019:03:46:54 +0800] \"GET`, ReasonBadJSON},
	{"bad escape", `"\x"`, ReasonBadJSON},
	{"bad unicode escape", `{"payload":"\u12G4"}`, ReasonBadJSON},
	{"raw newline in string", "{\"payload\":\"a\nb\"}", ReasonBadJSON},
	{"missing colon", `{"payload" "x"}`, ReasonBadJSON},
	{"trailing comma", `{"payload":"x",}`, ReasonBadJSON},
	{"bad number", `{"n":01,"payload":"x"}`, ReasonBadJSON},
	{"bad literal", `{"n":tru,"payload":"x"}`, ReasonBadJSON},
	{"too deep", `{"a":` + strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1) + `,"payload":"x"}`, ReasonBadJSON},

	{"no line field", `{"schema":{"type":"string"},"payload":null}`, ReasonNoLine},
	{"empty object", `{}`, ReasonNoLine},
	{"line field not top-level", `{"event":{"message":` + jsonQuote(combined) + `}}`, ReasonNoLine},
	{"Filebeat record without message", filebeat("", `"event":{"dataset":"nginx.access","module":"nginx"}`), ReasonNoLine},
	{"nginx JSON object without a time field", nginxObject(`"remote_port":"51234"`, nginxUA), ReasonNoLine},
	{"bad JSON inside event object", `{"event":{"original":"x",},"message":"y"}`, ReasonBadJSON},
	{"bad escape in event.original", `{"event":{"original":"\x"}}`, ReasonBadJSON},
	{"bad JSON after nginx time field", `{"time_iso8601":"2019-08-13T03:46:54+08:00","request":"GET / HTTP/1.1",}`, ReasonBadJSON},

	{"NUL byte", "\x00\x01\x02", ReasonNotText},
	{"invalid UTF-8", "1.2.3.4 - - [13/Aug/2019:03:46:54 +0800] \"GET / HTTP/1.1\" 200 1 \"-\" \"\xff\xfe\"", ReasonNotText},
	{"control byte in line", "1.2.3.4 - - [13/Aug/2019:03:46:54 +0800] \"GET /\x1b HTTP/1.1\" 200 1", ReasonNotText},
	{"DEL byte", "1.2.3.4 \x7f", ReasonNotText},
	{"two lines in one record", commonLine + "\n" + commonLine, ReasonNotText},
	{"escaped NUL in payload", `{"payload":"a\u0000b"}`, ReasonNotText},

	{"no timestamp", `1.2.3.4 - - "GET / HTTP/1.1" 200 1`, ReasonNoTimestamp},
	{"bracket that is not a timestamp", `[::1]:80 - - "GET / HTTP/1.1" 200 1`, ReasonNoTimestamp},
	{"plain text", `hello world`, ReasonNoTimestamp},

	{"garbage timestamp", `1.2.3.4 - - [yesterday] "GET / HTTP/1.1" 200 1`, ReasonBadTimestamp},
	{"unterminated timestamp", `1.2.3.4 - - [13/Aug/2019:03:46:54 +0800 "GET / HTTP/1.1" 200 1`, ReasonBadTimestamp},
	{"ISO timestamp", `1.2.3.4 - - [2019-08-13T03:46:54+08:00] "GET / HTTP/1.1" 200 1`, ReasonBadTimestamp},
	{"bad month", `1.2.3.4 - - [13/Aux/2019:03:46:54 +0800] "GET / HTTP/1.1" 200 1`, ReasonBadTimestamp},
	{"30 February", `1.2.3.4 - - [30/Feb/2020:03:46:54 +0800] "GET / HTTP/1.1" 200 1`, ReasonBadTimestamp},
	{"hour 24", `1.2.3.4 - - [13/Aug/2019:24:00:00 +0800] "GET / HTTP/1.1" 200 1`, ReasonBadTimestamp},
	{"no zone", `1.2.3.4 - - [13/Aug/2019:03:46:54] "GET / HTTP/1.1" 200 1`, ReasonBadTimestamp},

	{"nothing after timestamp", `1.2.3.4 - - [13/Aug/2019:03:46:54 +0800]`, ReasonNotAccessLog},
	{"unquoted request", `1.2.3.4 - - [13/Aug/2019:03:46:54 +0800] GET / HTTP/1.1 200 1`, ReasonNotAccessLog},
	{"unterminated request", `1.2.3.4 - - [13/Aug/2019:03:46:54 +0800] "GET / HTTP/1.1 200 1`, ReasonNotAccessLog},
	{"error log line", `2019/08/13 03:46:54 [error] 7#7: *1 open() "/x" failed`, ReasonNoTimestamp},
}

func TestErrorReasons(t *testing.T) {
	d := NewDecoder("os_type")
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Time: 1, OSParam: []byte("x"), UserAgent: []byte("y")}
			err := d.Decode([]byte(tt.record), &req)
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%q) = %v, want *Error with reason %s", tt.record, err, tt.reason)
			}
			if de.Reason != tt.reason {
				t.Errorf("Decode(%q) reason = %s (%v), want %s", tt.record, de.Reason, de, tt.reason)
			}
			if de.Detail == "" || de.Error() != de.Reason+": "+de.Detail {
				t.Errorf("Error() = %q, want reason: detail", de.Error())
			}
			if req.Time != 0 || req.OSParam != nil || req.UserAgent != nil {
				t.Errorf("failed Decode left req = %+v, want zero", req)
			}
		})
	}
}

// A Decoder is reused across records; nothing from one may leak into the next.
func TestDecoderReuse(t *testing.T) {
	d := NewDecoder("os_type")
	withBoth := `{"payload":"1.2.3.4 - - [13/Aug/2019:03:46:54 +0800] \"GET /?os_type=i%6Fs HTTP/1.1\" 200 1 \"-\" \"A\\\"B\""}`
	if got, want := decodeOne(t, d, withBoth), ok("13/Aug/2019:03:46:54 +0800", "ios", `A\"B`); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got := decodeOne(t, d, commonLine); got != commonWant {
		t.Fatalf("after an escaped record: got %+v, want %+v", got, commonWant)
	}
	if got := decodeOne(t, d, `1.2.3.4 - - [13/Aug/2019:03:46:54 +0800] "GET / HTTP/1.1" 200 1`); !got.osNil || !got.uaNil {
		t.Fatalf("fields leaked from the previous record: %+v", got)
	}
}

func TestOSParamName(t *testing.T) {
	line := `1.2.3.4 - - [13/Aug/2019:03:46:54 +0800] "GET /?platform=web&os_type=ios HTTP/1.1" 200 1`
	if got := decodeOne(t, NewDecoder("platform"), line); got.osParam != "web" {
		t.Errorf("platform: got %q, want web", got.osParam)
	}
	// Searched for naively, "platform=web&os_type" would match "ios".
	for _, name := range []string{"", "platform=web&os_type"} {
		if got := decodeOne(t, NewDecoder(name), line); !got.osNil {
			t.Errorf("name %q: got %q, want nil", name, got.osParam)
		}
	}
}

// A Connect schema or shipper metadata seen before is not validated again,
// which must not let a changed one through or leak into other records.
func TestRepeatedValuesStillChecked(t *testing.T) {
	d := NewDecoder("os_type")
	schema := `{"type":"string","optional":false}`
	for _, tt := range []struct {
		record string
		want   result
	}{
		{connect(combined), combinedWant},
		{connect(combined), combinedWant},
		{`{"schema":` + schema[:len(schema)-1] + `,"payload":` + jsonQuote(combined) + `}`, failed(ReasonBadJSON)},
		{`{"schema":` + schema, failed(ReasonBadJSON)},
		{`{"schema":` + schema + `}`, failed(ReasonNoLine)},
		{`{"schema":` + schema + `x,"payload":` + jsonQuote(combined) + `}`, failed(ReasonBadJSON)},
		{`{"schema":` + schema + `,"payload":` + jsonQuote(commonLine) + `}`, commonWant},
		{`{"schema":[` + schema + `],"payload":` + jsonQuote(combined) + `}`, combinedWant},
		{`{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `,"payload":"x"}`, failed(ReasonBadJSON)},
		{`{"a":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `,"payload":` + jsonQuote(combined) + `}`, combinedWant},
		{`{"b":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `}`, failed(ReasonNoLine)},
	} {
		if got := decodeOne(t, d, tt.record); got != tt.want {
			t.Errorf("Decode(%s)\n got  %+v\n want %+v", tt.record, got, tt.want)
		}
	}
}

// The line of a JSON envelope is checked for text while it is unescaped,
// so that ASCII lines, the usual case, are not read again by firstNonText.
func TestEnvelopeLinesKnownText(t *testing.T) {
	d := NewDecoder("os_type")
	for _, rl := range readRealLines(t) {
		for kind, record := range envelopes(rl.line) {
			rec := []byte(record)
			var text bool
			var err *Error
			switch kind {
			case "plain", "nginx-json":
				continue
			case "bare":
				_, text, err = d.quotedLine(rec)
			default:
				var o object
				err = d.scanObject(rec, &o)
				text = o.text && o.rank < noLine
			}
			if err != nil || !text {
				t.Errorf("%s as %s: text = %v, err = %v", rl.source, kind, text, err)
			}
		}
	}
}
