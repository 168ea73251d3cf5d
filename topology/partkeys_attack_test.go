package topology

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/oscheck/oscheck/state"
)

// referencePartKey is a part's key as the window stage has always named it
// (tables written before hold these keys): the first part/<window>/<source>/<i>,
// i = 0, 1, ..., that goka's partitioner (sarama's hash partitioner over
// goka's hasher, as the stage's producers use) sends to partition p of n.
func referencePartKey(p, n int32, id state.PartID) string {
	part := sarama.NewCustomHashPartitioner(goka.DefaultHasher())("table")
	for i := 0; ; i++ {
		key := fmt.Sprintf("part/%d/%d/%d", id.Window, id.Source, i)
		if at, _ := part.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, n); at == p {
			return key
		}
	}
}

// TestAttackPartKeysUnchanged: a part's key is searched for by trying nonces
// until goka's partitioner sends one to the slot's partition, about n tries
// for n partitions. Each try was a Sprintf and a sarama Partition call,
// under one mutex for the whole window stage, and every part is named when
// written and again when deleted: with 128 partitions about 77 µs a key
// (BenchmarkPartKey, 4 µs with 12). A report of a partition catching up that
// finalises 1,000 windows deletes the parts of some 900 of them
// (retain-finals 64), 128 each: 115,000 keys, about 9 s in one callback,
// against a transaction timeout of 10 s. Each try now hashes the nonce's
// digits on from the hash of the rest (2 µs a key with 128 partitions, 0.2
// with 12).
//
// The keys must stay what they were (the tables hold them): this checks
// them against the search as it was, for partition counts up to 256. No
// timing is asserted; the cost is BenchmarkPartKey's.
func TestAttackPartKeysUnchanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int32{1, 2, 3, 5, 7, 12, 16, 64, 100, 128, 255, 256} {
		keys := newPartKeys(n)
		for range 200 {
			id := state.PartID{Window: rng.Int64N(4e12) - 1e12, Source: rng.Int32N(300) - 1}
			if rng.IntN(10) == 0 {
				id.Window = rng.Int64() - rng.Int64()
			}
			p := rng.Int32N(n)
			if got, want := keys.key(p, id), referencePartKey(p, n, id); got != want {
				t.Fatalf("n %d, partition %d, part %+v: key %q, want %q", n, p, id, got, want)
			}
		}
	}
}

func BenchmarkPartKey(b *testing.B) {
	for _, n := range []int32{12, 128} {
		keys := newPartKeys(n)
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) {
			for i := range b.N {
				keys.key(int32(i)%n, state.PartID{Window: int64(i) * 1000, Source: 3})
			}
		})
	}
}
