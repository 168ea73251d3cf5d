package topology

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/oscheck/oscheck/processor"
	"github.com/oscheck/oscheck/topology/cluster"
)

// TestAttackCheckpointPiecesReadInOnePass: a changelog partition holds an
// older checkpoint of input partition 0 in 10 pieces, then its current one
// in 8, then 3,000 small checkpoints of another input partition sharing the
// changelog partition (the input grew), then an aborted transaction that
// wrote new pieces of partition 0. readCheckpoint must return the current
// checkpoint and its 8 pieces, and reading the pieces must cost what their
// bytes cost (1 MiB a fetch), not a scan of the changelog per piece.
//
// Observed: each piece was looked up on its own from the last stable offset
// back, through the 3,000 records after the checkpoint: 11 fetches to find
// the checkpoint, then about as many again for every piece (the restore
// reads the changelog's tail once per piece; for a checkpoint of P pieces
// written a long way back in a shared partition, P+1 times what a
// checkpoint in one record cost, and quadratic in P besides).
func TestAttackCheckpointPiecesReadInOnePass(t *testing.T) {
	const (
		topic  = "changelog"
		pieces = 8
	)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	var fetches atomic.Int64
	cluster.ControlKey(kmsg.Fetch.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		fetches.Add(1)
		return nil, nil, false
	})
	w, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic(topic),
		kgo.TransactionalID("writer"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	ctx := context.Background()
	txn := func(commit bool, recs ...*kgo.Record) {
		t.Helper()
		if err := w.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := w.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := w.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	pieceKey := func(n int) string { return fmt.Sprintf("cp0#%d/0", n) }
	checkpoint := func(tag string, n int) (recs []*kgo.Record, want [][]byte) {
		for i := 1; i <= n; i++ {
			v := bytes.Repeat([]byte(fmt.Sprintf("%s-%d.", tag, i)), processor.MaxCheckpointBytes/8)[:processor.MaxCheckpointBytes]
			want = append(want, v)
			recs = append(recs, &kgo.Record{Key: []byte(pieceKey(i)), Value: v})
		}
		return append(recs, &kgo.Record{Key: []byte("cp0"), Value: []byte(tag)}), want
	}
	older, _ := checkpoint("older", pieces+2)
	txn(true, older...)
	current, want := checkpoint("current", pieces)
	txn(true, current...)
	for i := range 30 {
		var recs []*kgo.Record
		for j := range 100 {
			recs = append(recs, &kgo.Record{Key: []byte("cp1"), Value: []byte(fmt.Sprintf("small %d/%d", i, j))})
		}
		txn(true, recs...)
	}
	aborted, _ := checkpoint("aborted", pieces)
	txn(false, aborted...)

	client, err := sarama.NewClient(cluster.ListenAddrs(), saramaTestConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	before := fetches.Load()
	value, piece, err := readCheckpoint(client, topic, 0, "cp0", pieceKey)
	if err != nil {
		t.Fatal(err)
	}
	if string(value) != "current" {
		t.Fatalf("checkpoint %q, want %q", value, "current")
	}
	found := fetches.Load() - before
	before = fetches.Load()
	got, err := piece(pieces)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != pieces {
		t.Fatalf("%d pieces read, want %d", len(got), pieces)
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("piece %d: %.20q…, want %.20q…", i+1, got[i], want[i])
		}
	}
	read := fetches.Load() - before
	// The pieces' bytes take 2 fetches of 1 MiB; a look-back window or two
	// around them may take a few more.
	limit := int64(pieces*processor.MaxCheckpointBytes/fetchBytes + 4)
	t.Logf("%d fetches found the checkpoint, %d read its %d pieces", found, read, pieces)
	if read > limit {
		t.Errorf("reading %d pieces took %d fetches, over %d (finding the checkpoint took %d): the changelog is read again for each piece",
			pieces, read, limit, found)
	}
}

// fetchBytes is what each fetch of the committed-record readers reads.
const fetchBytes = cluster.FetchBytes
