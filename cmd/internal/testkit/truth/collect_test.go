package truth

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFollowReadsCommitted checks that a Tail sees what a read_committed
// consumer sees: plain and committed records, not aborted ones, and those
// of an open transaction only once it commits.
func TestFollowReadsCommitted(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]
	tail, err := Follow(broker, "t", func(r *kgo.Record, _ time.Time) (string, bool) { return string(r.Value), true })
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()

	ctx := t.Context()
	plain, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	txn, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.DefaultProduceTopic("t"), kgo.TransactionalID("truth-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	begin := func(value string) {
		t.Helper()
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := txn.ProduceSync(ctx, kgo.StringRecord(value)).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	end := func(commit kgo.TransactionEndTry) {
		t.Helper()
		if err := txn.EndTransaction(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
	begin("committed")
	end(kgo.TryCommit)
	begin("aborted")
	end(kgo.TryAbort)
	begin("open")
	if err := plain.ProduceSync(ctx, kgo.StringRecord("plain")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The plain record lies behind the open transaction: a read_committed
	// reader sees neither until it ends.
	wait := func(want []string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !slices.Equal(tail.Items(), want) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // anything more would come now
		if got := tail.Items(); !slices.Equal(got, want) {
			t.Fatalf("read %q, want %q", got, want)
		}
	}
	wait([]string{"committed"})
	end(kgo.TryCommit)
	wait([]string{"committed", "open", "plain"})
}
