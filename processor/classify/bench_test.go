package classify

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// realisticMix is browser traffic: the corpus's User-Agents that carry a
// share of real traffic (the latest intoli sample), each repeated in
// proportion to it, about 10,000 in all, shuffled with a fixed seed.
func realisticMix(tb testing.TB) [][]byte {
	const size = 10_000
	var mix [][]byte
	for _, r := range loadCorpus(tb) {
		for range (r.weight*size + 500_000) / 1_000_000 {
			mix = append(mix, []byte(r.ua))
		}
	}
	if len(mix) < size/2 {
		tb.Fatalf("realistic mix has %d User-Agents", len(mix))
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(mix), func(i, j int) { mix[i], mix[j] = mix[j], mix[i] })
	return mix
}

func benchmarkUAs(b *testing.B, c *Classifier, uas [][]byte) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.OSType(nil, uas[i%len(uas)])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "UAs/s")
}

// BenchmarkOSTypeRealistic is the hot path's case: real traffic, which
// repeats a few browsers.
func BenchmarkOSTypeRealistic(b *testing.B) {
	benchmarkUAs(b, New(), realisticMix(b))
}

// BenchmarkOSTypeCorpus takes every corpus User-Agent once in turn: tools,
// bots and rare platforms as often as browsers.
func BenchmarkOSTypeCorpus(b *testing.B) {
	var uas [][]byte
	for _, r := range loadCorpus(b) {
		uas = append(uas, []byte(r.ua))
	}
	benchmarkUAs(b, New(), uas)
}

// BenchmarkOSTypeUnique is the adversary's case: every User-Agent is new,
// the realistic mix with a counter appended, which would defeat any cache.
func BenchmarkOSTypeUnique(b *testing.B) {
	mix := realisticMix(b)
	bufs := make([][]byte, len(mix))
	for i, ua := range mix {
		bufs[i] = append(make([]byte, 0, len(ua)+21), ua...)
		bufs[i] = append(bufs[i], ' ')
	}
	c := New()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf := bufs[i%len(bufs)]
		c.OSType(nil, strconv.AppendUint(buf, uint64(i), 10))
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "UAs/s")
}

// BenchmarkOSTypeUserBuckets is the realistic mix with a user bucket before
// the built-in rules.
func BenchmarkOSTypeUserBuckets(b *testing.B) {
	benchmarkUAs(b, New(WithBuckets(harmonyOS)), realisticMix(b))
}

func BenchmarkOSTypeParam(b *testing.B) {
	params := [][]byte{[]byte("ios"), []byte("android"), []byte("iOS"), []byte("harmony")}
	ua := []byte(userAgents[0].ua)
	c := New()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.OSType(params[i%len(params)], ua)
	}
}
