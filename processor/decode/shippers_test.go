package decode

import (
	"strings"
	"testing"
)

// shipperLine is an nginx combined line as each shipper below forwards it.
const shipperLine = `10.0.0.1 - - [22/Nov/2026:10:00:00 +0000] "GET /v1/open/product_list?user_type=2&os_type=android HTTP/1.1" 200 1321 "-" "` + androidUA + `"`

var shipperWant = ok("22/Nov/2026:10:00:00 +0000", "android", androidUA)

// Records as the real tools write them, with their own metadata around
// the line, one per way a line reaches the topic.
var shipperTests = []struct {
	name   string
	record string
}{
	{"Connect JsonConverter with schema",
		`{"schema":{"type":"string","optional":false},"payload":` + jsonQuote(shipperLine) + `}`},
	{"Connect JsonConverter schemas.enable=false", jsonQuote(shipperLine)},
	{"Connect StringConverter", shipperLine},

	{"Filebeat message", filebeat(`"message":`+jsonQuote(shipperLine)+`,`, `"event":{"dataset":"nginx.access","module":"nginx"}`)},
	// A rename processor (message to event.original), as ECS pipelines do.
	{"Filebeat event.original nested", filebeat("", `"event":{"dataset":"nginx.access","module":"nginx","original":`+jsonQuote(shipperLine)+`}`)},
	{"Filebeat event.original dotted", filebeat("", `"event.original":`+jsonQuote(shipperLine)+`,"event.dataset":"nginx.access"`)},

	{"Logstash ECS", `{"@timestamp":"2026-11-22T10:00:00.412Z","@version":"1","event":{"original":` + jsonQuote(shipperLine) +
		`},"host":{"name":"web-1"},"log":{"file":{"path":"/var/log/nginx/access.log"}},"message":` + jsonQuote(shipperLine) + `}`},
	{"Logstash legacy", `{"@timestamp":"2026-11-22T10:00:00.412Z","@version":"1","host":"web-1","path":"/var/log/nginx/access.log","message":` + jsonQuote(shipperLine) + `}`},

	{"Fluent Bit tail", `{"@timestamp":1795341600.412345,"log":` + jsonQuote(shipperLine) + `}`},
	{"Fluent Bit tail json_date_key", `{"date":1795341600.412345,"log":` + jsonQuote(shipperLine) + `}`},
	{"Fluent Bit docker", `{"@timestamp":1795341600.412345,"log":` + jsonQuote(shipperLine+"\n") +
		`,"stream":"stdout","time":"2026-11-22T10:00:00.412345678Z","kubernetes":{"pod_name":"nginx-7c5d8b9f4-x2x9q",` +
		`"namespace_name":"web","pod_id":"3f1c9a2e-8d1b-4c1e-9a55-0b7e2f6d1c3a","labels":{"app":"nginx","pod-template-hash":"7c5d8b9f4"},` +
		`"host":"node-1","container_name":"nginx","docker_id":"4b1e0f7c2a","container_image":"nginx:1.25"}}`},

	{"Vector file source", `{"file":"/var/log/nginx/access.log","host":"web-1","message":` + jsonQuote(shipperLine) +
		`,"source_type":"file","timestamp":"2026-11-22T10:00:00.412345678Z"}`},

	// rsyslog's JSON escaping writes '/' as "\/"; msg keeps the space
	// after the syslog tag.
	{"rsyslog JSON msg", `{"timestamp":"2026-11-22T10:00:00+00:00","host":"web-1","severity":"info","facility":"local7",` +
		`"syslog-tag":"nginx:","msg":` + strings.ReplaceAll(jsonQuote(" "+shipperLine), "/", `\/`) + `}`},
	{"syslog RFC 3164 plain", `<190>Nov 22 10:00:00 web-1 nginx: ` + shipperLine},
	{"syslog RFC 3164 plain, one-digit day and pid", `<190>Nov  2 10:00:00 web-1 nginx[1234]: ` + shipperLine},
	{"syslog RFC 5424 plain", `<190>1 2026-11-22T10:00:00.000Z web-1 nginx - - - ` + shipperLine},
	{"syslog RFC 5424 plain with structured data", `<190>1 2026-11-22T10:00:00.000Z web-1 nginx 1234 - [origin ip="10.0.0.1"][meta sequenceId="7"] ` + shipperLine},
}

// filebeat builds a Filebeat output.kafka record; line and event are its
// line member(s) and its event member.
func filebeat(line, event string) string {
	return `{"@timestamp":"2026-11-22T10:00:00.412Z","@metadata":{"beat":"filebeat","type":"_doc","version":"8.11.0"},` +
		`"log":{"offset":12,"file":{"path":"/var/log/nginx/access.log","device_id":"64768","inode":"1048602"}},` + line +
		`"input":{"type":"filestream"},"ecs":{"version":"8.0.0"},"host":{"name":"web-1"},` +
		`"agent":{"ephemeral_id":"6f1f8c52-2c4e-4f7c-9a2b-1b6f3f6e5d4c","id":"0b7e7e46-8f38-4b7a-a2f4-9c1b0a2d9e11",` +
		`"name":"web-1","type":"filebeat","version":"8.11.0"},` + event + `}`
}

func TestShipperRecords(t *testing.T) {
	d := NewDecoder("os_type")
	for _, tt := range shipperTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeOne(t, d, tt.record); got != shipperWant {
				t.Errorf("Decode(%s)\n got  %+v\n want %+v", tt.record, got, shipperWant)
			}
		})
	}
}

// Which field is the line when a record holds several, and what does not
// count as one.
func TestLineFieldPreference(t *testing.T) {
	other := `1.2.3.4 - - [01/Jan/2020:00:00:00 +0000] "GET /?os_type=ios HTTP/1.1" 200 1 "-" "other"`
	otherWant := ok("01/Jan/2020:00:00:00 +0000", "ios", "other")
	for _, tt := range []struct {
		name   string
		record string
		want   result
	}{
		// Logstash's json codec keeps the received document in event.original.
		{"message over event.original", `{"event":{"original":"{\"a\":1}"},"message":` + jsonQuote(shipperLine) + `}`, shipperWant},
		{"message over dotted event.original", `{"event.original":"{\"a\":1}","message":` + jsonQuote(shipperLine) + `}`, shipperWant},
		{"event.original over log", `{"log":"x","event":{"original":` + jsonQuote(shipperLine) + `}}`, shipperWant},
		{"log over msg", `{"msg":"x","log":` + jsonQuote(shipperLine) + `}`, shipperWant},
		{"msg when alone", `{"msg":` + jsonQuote(shipperLine) + `}`, shipperWant},
		{"first event.original wins", `{"event.original":` + jsonQuote(shipperLine) + `,"event":{"original":` + jsonQuote(other) + `}}`, shipperWant},
		{"nested after dotted loses", `{"event":{"original":` + jsonQuote(other) + `},"event.original":` + jsonQuote(shipperLine) + `}`, otherWant},
		{"log object is not a line", `{"log":{"offset":0,"file":{"path":"/x"}},"msg":` + jsonQuote(shipperLine) + `}`, shipperWant},
		{"event.original object is not a line", `{"event":{"original":{"a":"b"}},"msg":` + jsonQuote(shipperLine) + `}`, shipperWant},
		{"event string is not a line", `{"event":` + jsonQuote(other) + `,"msg":` + jsonQuote(shipperLine) + `}`, shipperWant},
		{"escaped original key", `{"event":{"origin\u0061l":` + jsonQuote(shipperLine) + `}}`, shipperWant},
		{"nested message is not a line", `{"event":{"message":` + jsonQuote(shipperLine) + `}}`, failed(ReasonNoLine)},
		{"line field beats nginx fields", `{"time_iso8601":"2019-08-13T03:46:54+08:00","request":"GET /?os_type=x HTTP/1.1","message":` + jsonQuote(shipperLine) + `}`, shipperWant},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeOne(t, NewDecoder("os_type"), tt.record); got != tt.want {
				t.Errorf("Decode(%s)\n got  %+v\n want %+v", tt.record, got, tt.want)
			}
		})
	}
}
