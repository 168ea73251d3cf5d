package decode

import "testing"

// The processor decodes every record on a hot path, so a successful Decode
// must not allocate once the buffers have grown, for every kind of record
// and for fields that need unescaping.
func TestDecodeDoesNotAllocate(t *testing.T) {
	escaped := `{"payload":"1.2.3.4 - - [13/Aug/2019:03:46:54 +0800] \"GET /?os_type=i%6Fs HTTP/1.1\" 200 1 \"-\" \"A\\\"B \u00e9\""}`
	records := map[string]string{
		"plain":              combined,
		"connect":            connect(combined),
		"bare":               jsonQuote(combined),
		"shipper":            `{"log":` + jsonQuote(combined+"\n") + `,"stream":"stdout"}`,
		"escaped":            escaped,
		"escaped key":        `{"pay\u006coad":` + jsonQuote(commonLine) + `}`,
		"quoted prefix":      `"10.5.102.222, 199.96.1.1" 10.2.1.185 - - [22/Jan/2016:13:18:29 +0000] "GET /?os_type=a+b HTTP/1.1" 200 1 "-" "UA"`,
		"nginx JSON escaped": `{"time_iso8601":"\u0032019-08-13T03:46:54+08:00","args":"os_type=i%6Fs\u0026a=1","http_user_agent":"A\"B"}`,
		"nginx JSON msec":    `{"msec":1565639214.123,"request_uri":"/?os_type=ios","user_agent":"UA"}`,
	}
	for _, tt := range shipperTests {
		records[tt.name] = tt.record
	}
	for _, tt := range nginxJSONTests {
		records[tt.name] = tt.record
	}
	for _, tt := range nginxEnvelopes {
		records["nested "+tt.name] = tt.record
	}
	d := NewDecoder("os_type")
	for name, record := range records {
		rec := []byte(record)
		var req Request
		if err := d.Decode(rec, &req); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if err := d.Decode(rec, &req); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per Decode, want 0", name, allocs)
		}
	}
}
