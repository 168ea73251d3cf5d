package tail

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkFollowerRead reads a 100 MB file of 200-byte lines from its
// start to its end, in batches of 1000 lines, as a catching-up shipper
// does. Bytes/s is the file's throughput; lines/s is reported too.
func BenchmarkFollowerRead(b *testing.B) {
	const lineLen, lines = 200, 500_000 // 100 MB
	path := filepath.Join(b.TempDir(), "access.log")
	file, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(file)
	line := strings.Repeat("x", lineLen-1) + "\n"
	for range lines {
		w.WriteString(line)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := file.Close(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(lineLen * lines)
	b.ReportAllocs()
	for b.Loop() {
		f, err := Follow(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; n < lines; {
			got, _, err := f.Next(ctx, 1000)
			if err != nil {
				b.Fatal(err)
			}
			n += len(got)
		}
		f.Close()
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
