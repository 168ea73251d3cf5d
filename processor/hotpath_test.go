package processor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/oscheck/oscheck/processor/classify"
	"github.com/oscheck/oscheck/processor/decode"
)

// corpus returns the benchmark lines (testdata/README.md), each as a plain
// record and wrapped as Kafka Connect's JsonConverter writes it.
func corpus(tb testing.TB) (plain, connect [][]byte) {
	f, err := os.Open("testdata/combined-lines.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.Clone(sc.Bytes())
		plain = append(plain, line)
		var env bytes.Buffer
		env.WriteString(`{"schema":{"type":"string","optional":false},"payload":`)
		enc := json.NewEncoder(&env)
		enc.SetEscapeHTML(false) // as Kafka Connect's Jackson writes strings
		if err := enc.Encode(string(line)); err != nil {
			tb.Fatal(err)
		}
		connect = append(connect, append(bytes.TrimSuffix(env.Bytes(), []byte("\n")), '}'))
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return plain, connect
}

// hotPath is the parse stage's per-record work before windowing: decode the
// record, then classify it.
type hotPath struct {
	dec *decode.Decoder
	cls *classify.Classifier
	req decode.Request
}

func newHotPath() *hotPath {
	return &hotPath{dec: decode.NewDecoder("os_type"), cls: classify.New()}
}

func (h *hotPath) line(record []byte) string {
	if h.dec.Decode(record, &h.req) != nil {
		return ""
	}
	return h.cls.OSType(h.req.OSParam, h.req.UserAgent)
}

// allNew returns the plain lines whose User-Agent decides their os_type,
// each with " 00000000" added to its User-Agent, and where those digits
// are, for the benchmark to write a counter there: a hostile client's
// traffic, every User-Agent new, which no cache serves.
func allNew(tb testing.TB, plain [][]byte) (lines [][]byte, at []int) {
	h := newHotPath()
	for _, l := range plain {
		if h.dec.Decode(l, &h.req) != nil || len(h.req.OSParam) > 0 || len(h.req.UserAgent) < 2 {
			continue
		}
		k := bytes.Index(l, h.req.UserAgent)
		if k < 0 {
			continue
		}
		end := k + len(h.req.UserAgent)
		lines = append(lines, slices.Concat(l[:end], []byte(" 00000000"), l[end:]))
		at = append(at, end+1)
	}
	if len(lines) < len(plain)/4 {
		tb.Fatalf("only %d of %d lines have a User-Agent to renew", len(lines), len(plain))
	}
	return lines, at
}

// BenchmarkDecodeClassify is decode+classify per line on one core: ns/op is
// ns/line; lines/s is reported too. plain and connect are the corpus as it
// is, realistic traffic; all-new is its lines that are classified by their
// User-Agent, each User-Agent new.
func BenchmarkDecodeClassify(b *testing.B) {
	plain, connect := corpus(b)
	fresh, at := allNew(b, plain)
	b.Run("all-new", func(b *testing.B) {
		h := newHotPath()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := i % len(fresh)
			n := i
			for d := at[k] + 7; d >= at[k]; d-- {
				fresh[k][d] = byte('0' + n%10)
				n /= 10
			}
			h.line(fresh[k])
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	})
	for _, bc := range []struct {
		name    string
		records [][]byte
	}{{"plain", plain}, {"connect", connect}} {
		b.Run(bc.name, func(b *testing.B) {
			h := newHotPath()
			var size int
			for _, r := range bc.records {
				size += len(r)
			}
			b.SetBytes(int64(size / len(bc.records)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h.line(bc.records[i%len(bc.records)])
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// The hot path allocates nothing per line once the classifier has seen the
// corpus's os_type values.
func TestDecodeClassifyAllocatesNothing(t *testing.T) {
	plain, connect := corpus(t)
	h := newHotPath()
	for _, records := range [][][]byte{plain, connect} {
		decoded := 0
		for _, r := range records {
			if h.line(r) != "" {
				decoded++
			}
		}
		if decoded < len(records)*9/10 {
			t.Fatalf("only %d of %d corpus lines decoded", decoded, len(records))
		}
		i := 0
		allocs := testing.AllocsPerRun(len(records), func() {
			h.line(records[i%len(records)])
			i++
		})
		if allocs != 0 {
			t.Errorf("%.2f allocations per line, want 0", allocs)
		}
	}
}
