package decode

import "testing"

// One benchmark per envelope, over the real lines in testdata, so branch
// prediction sees varied input. Bytes/s is the record throughput.
func benchmarkDecode(b *testing.B, kind string) {
	records := realRecords(b, kind)
	var size int
	for _, r := range records {
		size += len(r)
	}
	d := NewDecoder("os_type")
	var req Request
	b.SetBytes(int64(size / len(records)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := d.Decode(records[i%len(records)], &req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePlain(b *testing.B)   { benchmarkDecode(b, "plain") }
func BenchmarkDecodeConnect(b *testing.B) { benchmarkDecode(b, "connect") }
func BenchmarkDecodeBare(b *testing.B)    { benchmarkDecode(b, "bare") }
func BenchmarkDecodeShipper(b *testing.B) { benchmarkDecode(b, "shipper") }

// A full Filebeat output.kafka record: seven metadata objects to validate.
func BenchmarkDecodeFilebeat(b *testing.B) { benchmarkDecode(b, "filebeat") }

// The real lines' requests as nginx log_format escape=json objects.
func BenchmarkDecodeNginxJSON(b *testing.B) { benchmarkDecode(b, "nginx-json") }

// The spec's own example: a common-format line whose os_type is near the
// end of a long query string.
func BenchmarkDecodeOSParamLine(b *testing.B) {
	record := []byte(commonLine)
	d := NewDecoder("os_type")
	var req Request
	b.SetBytes(int64(len(record)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(record, &req); err != nil {
			b.Fatal(err)
		}
	}
}
