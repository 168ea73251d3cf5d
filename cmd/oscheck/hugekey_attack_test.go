package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/cmd/internal/truth"
	"github.com/oscheck/oscheck/processor/output"
)

// TestOversizedKey is TestOversizedRecord with the size in the key: a record
// whose key is 1.5 MB and whose value is not an access log (the input topic
// allows 3 MB). Its dead letter copies the key whole, so its write fails (1
// MB is the producer's limit), the transaction aborts and every replay fails
// again: the partition stalls for good, and the lines after it never count.
func TestOversizedKey(t *testing.T) {
	brokers := startBroker(t, 1, "access_log")
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	limit := "3000000"
	if _, err := kadm.NewClient(cl).AlterTopicConfigs(context.Background(),
		[]kadm.AlterConfig{{Name: "max.message.bytes", Value: &limit}}, "access_log"); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	at := time.Date(2019, 8, 14, 0, 43, 8, 0, time.UTC)
	line := []byte(strings.Replace(referenceLine, "14/Aug/2019:08:49:48 +0800", at.Format("02/Jan/2006:15:04:05 -0700"), 1))
	hugeKey := bytes.Repeat([]byte("k"), 1_500_000)
	produce(t, brokers, []*kgo.Record{
		{Topic: "access_log", Value: line},
		{Topic: "access_log", Key: hugeKey, Value: []byte("not an access log")},
		{Topic: "access_log", Value: line},
	}, kgo.ProducerBatchMaxBytes(4<<20))
	service(t, "--brokers", brokers[0], "--window", "2s", "--grace", "1s", "--idle-timeout", "500ms", "--format", "kstreams")

	want := map[truth.Key]int64{{OS: "android", Start: at.Truncate(2 * time.Second).UnixMilli()}: 2}
	awaitFinals(t, brokers, output.KStreams, 2*time.Second, want, time.Minute)
	if dead := consume(t, brokers, "os-check-streams-dlq").waitFor(1, 30*time.Second); len(dead) != 1 {
		t.Fatalf("dead-letter topic holds %d records, want 1", len(dead))
	}
}
