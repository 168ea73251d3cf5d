package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestLastCommitted reads back the last committed data record of a
// partition on a real broker, past commit markers, aborted transactions
// longer than the first look-back window, and a transaction still open.
func TestLastCommitted(t *testing.T) {
	const topic = "table"
	l, client := newTxnLog(t, topic)
	txn := l.client
	tm := &stableTopicManager{TopicManager: nopTopicManager{}, client: client}

	check := func(wantOffset int64, wantValue string) {
		t.Helper()
		if err := client.RefreshMetadata(topic); err != nil {
			t.Fatal(err)
		}
		offset, value, err := LastCommitted(client, topic, 0)
		if err != nil {
			t.Fatal(err)
		}
		if offset != wantOffset || string(value) != wantValue {
			t.Errorf("LastCommitted = %d %q, want %d %q", offset, value, wantOffset, wantValue)
		}
		end, err := tm.GetOffset(topic, 0, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		if want := max(wantOffset+1, 0); end != want {
			t.Errorf("stable end = %d, want %d", end, want)
		}
	}

	check(-1, "")         // empty
	l.txn(false, "a")     // a@0 abort@1
	check(-1, "")         // nothing committed yet
	l.txn(true, "b", "c") // b@2 c@3 commit@4
	check(3, "c")
	l.write("d") // d@5, not transactional
	check(5, "d")
	aborted := make([]string, 100)
	for i := range aborted {
		aborted[i] = strings.Repeat("x", 1<<10)
	}
	l.txn(false, aborted...) // 6..105, abort@106
	check(5, "d")            // back through 101 offsets of aborted records

	// A transaction still open holds the stable end at its first record.
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(context.Background(), &kgo.Record{Value: []byte("e")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	l.write("f") // f@108, after the open transaction's e@107
	check(5, "d")
	if err := Settle(client, topic, 0, 200*time.Millisecond); err == nil {
		t.Error("settle returned with a transaction open")
	}
	ended := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		ended <- txn.EndTransaction(context.Background(), kgo.TryCommit)
	}()
	if err := Settle(client, topic, 0, time.Minute); err != nil {
		t.Errorf("settle: %v", err)
	}
	if err := <-ended; err != nil {
		t.Fatal(err)
	}
	check(108, "f")
}

// nopTopicManager answers what stableTopicManager passes on: the log starts
// at 0.
type nopTopicManager struct{ goka.TopicManager }

func (nopTopicManager) GetOffset(string, int32, int64) (int64, error) { return 0, nil }
