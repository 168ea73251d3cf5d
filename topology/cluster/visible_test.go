package cluster

import (
	"context"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// txnLog writes to a one-partition topic on a real broker, in and out of
// transactions, and returns the offset each write ended at.
type txnLog struct {
	t      *testing.T
	client *kgo.Client
	plain  *kgo.Client
}

// newTxnLog starts a broker with a one-partition topic, and returns a txnLog
// on it and a sarama client of the broker, all closed when the test ends.
func newTxnLog(t *testing.T, topic string) (*txnLog, sarama.Client) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	txn, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic(topic),
		kgo.TransactionalID("writer"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(txn.Close)
	plain, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plain.Close)
	client, err := sarama.NewClient(cluster.ListenAddrs(), saramaTestConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return &txnLog{t: t, client: txn, plain: plain}, client
}

// saramaTestConfig is a client configuration for the test broker.
func saramaTestConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V2_8_0_0
	return c
}

func (l *txnLog) txn(commit bool, values ...string) {
	l.t.Helper()
	ctx := context.Background()
	if err := l.client.BeginTransaction(); err != nil {
		l.t.Fatal(err)
	}
	for _, v := range values {
		if err := l.client.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			l.t.Fatal(err)
		}
	}
	if err := l.client.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		l.t.Fatal(err)
	}
}

func (l *txnLog) write(values ...string) {
	l.t.Helper()
	for _, v := range values {
		if err := l.plain.ProduceSync(context.Background(), &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			l.t.Fatal(err)
		}
	}
}

func TestCaughtUpToSkipsMarkersAndAbortedRecords(t *testing.T) {
	const topic = "in"
	l, client := newTxnLog(t, topic)
	txn := l.client

	check := func(next int64, want bool) {
		t.Helper()
		if err := client.RefreshMetadata(topic); err != nil {
			t.Fatal(err)
		}
		got, err := CaughtUpTo(client, topic, 0, next)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("CaughtUpTo(next=%d) = %v, want %v", next, got, want)
		}
	}

	l.txn(true, "a", "b") // a@0 b@1 commit@2
	check(1, false)       // b is still to read
	check(2, true)        // only the commit marker is left
	l.txn(false, "c")     // c@3 abort@4
	check(2, true)        // an aborted record and its marker
	l.write("d")          // d@5
	check(2, false)
	check(6, true)
	l.txn(false, "e", "f") // e@6 f@7 abort@8
	l.txn(true, "g")       // g@9 commit@10
	check(6, false)        // g committed after the aborted e and f
	check(10, true)

	// A transaction still open may commit: its records are not readable
	// yet, but the partition is not caught up.
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(context.Background(), &kgo.Record{Value: []byte("h")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	check(11, false)
	if err := txn.EndTransaction(context.Background(), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	check(11, false) // h@11 is now readable
	check(12, true)

	// An aborted transaction larger than one probe fetch is read through.
	big := make([]string, 40)
	for i := range big {
		big[i] = strings.Repeat("x", 8<<10)
	}
	l.txn(false, big...) // 13..52, abort@53
	check(13, true)
	l.write("i") // i@54
	check(13, false)
}
