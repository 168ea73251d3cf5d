package traffic

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"
)

type connectRecord struct {
	Schema struct {
		Type     string `json:"type"`
		Optional *bool  `json:"optional"`
	} `json:"schema"`
	Payload *string `json:"payload"`
}

// checkEnvelope asserts that Envelope(prefix, line) keeps prefix and that
// the rest is a Connect string record whose payload is line.
func checkEnvelope(t *testing.T, line []byte) {
	t.Helper()
	prefix := []byte("prefix")
	out := Envelope(append([]byte(nil), prefix...), line)
	if !bytes.HasPrefix(out, prefix) {
		t.Fatalf("Envelope did not keep dst: %q", out)
	}
	out = out[len(prefix):]
	var rec connectRecord
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		t.Fatalf("Envelope(%q) = %s: not JSON: %v", line, out, err)
	}
	if rec.Schema.Type != "string" || rec.Schema.Optional == nil || *rec.Schema.Optional {
		t.Errorf("schema = %+v, want a required string", rec.Schema)
	}
	if rec.Payload == nil {
		t.Fatalf("Envelope(%q) = %s: no payload", line, out)
	}
	want := string(line)
	if !utf8.Valid(line) {
		// Invalid bytes cannot be carried; expect what encoding/json does.
		b, _ := json.Marshal(string(line))
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
	}
	if *rec.Payload != want {
		t.Errorf("payload = %q, want %q", *rec.Payload, want)
	}
}

func TestEnvelopeExactBytes(t *testing.T) {
	got := string(Envelope(nil, []byte(`a "b" \c`+"\n\x01")))
	want := `{"schema":{"type":"string","optional":false},"payload":"a \"b\" \\c\n\u0001"}`
	if got != want {
		t.Errorf("Envelope = %s\nwant       %s", got, want)
	}
}

func TestEnvelopeEscaping(t *testing.T) {
	var controls []byte
	for c := byte(0); c < 0x20; c++ {
		controls = append(controls, c)
	}
	for _, line := range [][]byte{
		nil,
		[]byte(`plain`),
		[]byte(`"quoted" and \backslashed\`),
		controls,
		[]byte("tab\tcr\rlf\ndel\x7f"),
		[]byte("鸿蒙 🤖 \u2028 \u2029"),
		[]byte("bad \xff utf8 \xe4\xb8 truncated"),
		[]byte("\xc0\xaf overlong"),
		[]byte(`</script> & <b>`),
	} {
		checkEnvelope(t, line)
	}
}

func TestEnvelopeOfGeneratedLines(t *testing.T) {
	g := NewGenerator(6)
	var line []byte
	for i := 0; i < 2000; i++ {
		line, _ = g.Append(line[:0], time.Unix(1565639214, 0))
		checkEnvelope(t, line)
	}
}

func FuzzEnvelope(f *testing.F) {
	f.Add([]byte(`10.0.0.1 - - [13/Aug/2019:03:46:54 +0800] "GET / HTTP/1.1" 200 1 "-" "curl/8.5.0"`))
	f.Add([]byte("\x00\"\\\xff\u2028"))
	f.Fuzz(func(t *testing.T, line []byte) {
		checkEnvelope(t, line)
	})
}

func BenchmarkEnvelope(b *testing.B) {
	line, _ := NewGenerator(7).appendBrowserLine(nil, time.Unix(1565639214, 0))
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		buf = Envelope(buf[:0], line)
	}
}
