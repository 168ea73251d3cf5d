package topology

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/processor"
	"github.com/oscheck/oscheck/processor/output"
	"github.com/oscheck/oscheck/state"
)

// slotRecord is the goka.Context of one repartition record, as far as the
// WindowStage reads it; finals counts what it emitted.
type slotRecord struct {
	gokaContext
	table     map[string]any
	key       string
	partition int32
	offset    int64
	finals    *int
}

func (c slotRecord) Key() string                             { return c.key }
func (c slotRecord) Value() any                              { return c.table[c.key] }
func (c slotRecord) SetValue(v any, _ ...goka.ContextOption) { c.table[c.key] = v }
func (c slotRecord) Offset() int64                           { return c.offset }
func (c slotRecord) Partition() int32                        { return c.partition }
func (c slotRecord) Emit(s goka.Stream, _ string, _ any, _ ...goka.ContextOption) {
	if s == "os-check" {
		*c.finals++
	}
}

// TestAttackClaimSwallowsGrowthTheOpenTransactionMissed: under
// exactly_once_v2 the window stage's verify (learnInputGrowth) aborts a
// transaction that may hold finals when the input grew "since the window
// stage last looked". But claimWindow asks too, at every claim, and
// swallows errInputGrew. In one session the window stage claims its
// partitions concurrently: partition 0's claim learned 2 partitions, and
// its reports finalised window 0 for 2 sources in the session's open
// transaction; then the input grew to 3, and partition 1's claim (later:
// three requests on the group's connection, behind the others' claims)
// learned of it. At the commit, verify finds nothing new (the stage
// "knows" 3) and the transaction commits window 0's final, computed for 2
// sources: partition 2's lines in window 0, written after the growth,
// are then late, and the abort that was meant to prevent exactly that
// did not happen.
func TestAttackClaimSwallowsGrowthTheOpenTransactionMissed(t *testing.T) {
	const input, repartition = "access_log", "g-partials-repartition"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, input, repartition))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := cluster.ListenAddrs()
	client, err := sarama.NewClient(brokers, saramaTestConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	inputs, err := sarama.NewClient(brokers, saramaTestConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inputs.Close() })

	m := processor.NewMetrics(prometheus.NewRegistry())
	windows := state.Windows{Size: 2000}
	parts := newSlotStore()
	s := &Service{topics: Topics{Input: input, Repartition: repartition}, log: slog.Default(), inputs: inputs,
		slotKeys: []string{"slot-0", "slot-1"}}
	s.parser = processor.NewParseStage(processor.ParseStageConfig{Windows: windows, Sources: 2, SlotKeys: s.slotKeys}, m)
	s.windower = processor.NewWindowStage(processor.WindowStageConfig{Windows: windows, Retain: 8, Emit: processor.EmitFinal,
		Format: output.KStreams, Output: "os-check", Transactional: true, Parts: "parts",
		PartKey: newPartKeys(2).key, Store: func(int32) storage.Storage { return parts }}, m)
	s.windower.Grow(2)
	s.txnSources.Store(2)
	s.windowGate = newGate(s.windower, slog.Default())
	s.windowGate.client = client

	// The session claims partition 0: 2 sources.
	if err := s.claimWindow(0, -1); err != nil {
		t.Fatal(err)
	}
	// Its reports finalise window 0 in the open transaction.
	table, finals := make(map[string]any), 0
	for i, src := range []int32{0, 1} {
		s.windower.Consume(slotRecord{table: table, key: "slot-0", partition: 0, offset: int64(i), finals: &finals},
			&state.Report{Source: src, Sources: 2, From: state.Unbounded, To: 2000,
				Partials: []state.Partial{{Start: 0, Counts: map[string]int64{"android": 1}}}})
	}
	if finals != 1 {
		t.Fatalf("window 0 emitted %d records, want its final", finals)
	}

	// The input grows; the session's claim of partition 1 comes after.
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kadm.NewClient(cl).CreatePartitions(context.Background(), 1, input); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if err := s.claimWindow(1, -1); err != nil {
		t.Fatal(err)
	}

	// The commit: verify must refuse a transaction whose final was decided
	// for 2 sources when the input has 3.
	if err := s.verifyInput(); !errors.Is(err, errInputGrew) {
		t.Errorf("verify before committing window 0's final (decided for 2 sources, the input has 3): %v, want errInputGrew "+
			"(claimWindow learned of the growth mid-session and swallowed it)", err)
	}
}
