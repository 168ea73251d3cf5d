package topology

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/state"
)

// tableWrite is one record of the window table's changelog: a value, or a
// delete (nil).
type tableWrite struct {
	key   string
	value []byte
}

// slotWrites returns the window stage's writes for what slot changed since
// the last call, in its order: parts, slot, deletes.
func slotWrites(t *testing.T, keys *partKeys, partition int32, slotKey string, slot *state.Slot) []tableWrite {
	t.Helper()
	written, deleted := slot.Changes()
	var out []tableWrite
	for _, p := range written {
		v, err := state.SlotCodec{}.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tableWrite{keys.key(partition, state.PartID{Window: p.Window, Source: p.Source}), v})
	}
	v, err := state.SlotCodec{}.Encode(slot)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, tableWrite{slotKey, v})
	for _, id := range deleted {
		out = append(out, tableWrite{key: keys.key(partition, id)})
	}
	return out
}

// advancingStore is a view's slotStore whose first read of the slot key
// applies more of the changelog (then) right after answering it: the
// view's consumer goroutine moving on while a query reads the view.
type advancingStore struct {
	*slotStore
	slotKey string
	once    sync.Once
	then    []tableWrite
}

func (s *advancingStore) Get(key string) ([]byte, error) {
	v, err := s.slotStore.Get(key)
	if key == s.slotKey {
		s.once.Do(func() {
			for _, w := range s.then {
				if w.value == nil {
					_ = s.slotStore.Delete(w.key)
				} else {
					_ = s.slotStore.Set(w.key, w.value)
				}
			}
		})
	}
	return v, err
}

// TestAttackQueryReadsSlotAndPartsTogether: a query (Windows) must not show a
// final count that the window never had. The view answers from its copy of
// the window table, which its consumer keeps writing while a query reads it.
// The changelog holds a slot whose newest final is window 0 (2 android from
// partition 0, 3 from partition 1, final 5) with its two parts; the next
// report finalises window 1000 and, with retain-finals 1, drops window 0:
// its parts, the slot, then the deletes of window 0's two parts. The query
// reads the slot while the view holds the first state, and the view's
// consumer then applies the next report's writes up to the first delete
// (as it may at any moment: records are applied one by one).
//
// Observed: Windows read each slot (Get) before it iterated over the parts,
// so it combined the slot that still keeps window 0 final with the parts
// left after the first delete: window 0 final with 3 android, a count that
// was never in the output. latestFinal (the oscheck_latest_window_* gauges,
// at every scrape) read the slot, then the newest final's parts one by one,
// and gave the same 3 android for window 0.
func TestAttackQueryReadsSlotAndPartsTogether(t *testing.T) {
	const table = "g-window-table"
	windows := state.Windows{Size: 1000}
	cfg := func(offset int64) state.SlotConfig {
		return state.SlotConfig{Windows: windows, Retain: 1, Committed: offset + 1}
	}
	keys := newPartKeys(1)
	slotKey := slotKeys("g-partials-repartition", 1)[0]

	slot := state.NewSlot()
	slot.Apply(&state.Report{Source: 0, Sources: 2, From: state.Unbounded, To: 1000,
		Partials: []state.Partial{{Start: 0, Counts: map[string]int64{"android": 2}}}}, 0, cfg(0))
	slot.Apply(&state.Report{Source: 1, Sources: 2, From: state.Unbounded, To: 1000,
		Partials: []state.Partial{{Start: 0, Counts: map[string]int64{"android": 3}}}}, 1, cfg(1))
	before := slotWrites(t, keys, 0, slotKey, slot)
	slot.Apply(&state.Report{Source: 0, Sources: 2, From: 1000, To: 2000,
		Partials: []state.Partial{{Start: 1000, Counts: map[string]int64{"ios": 1}}}}, 2, cfg(2))
	out := slot.Apply(&state.Report{Source: 1, Sources: 2, From: 1000, To: 2000,
		Partials: []state.Partial{{Start: 1000, Counts: map[string]int64{"ios": 1}}}}, 3, cfg(3))
	if len(out.Finals) != 1 {
		t.Fatalf("test setup: the last report finalised %+v, want window 1000", out.Finals)
	}
	after := slotWrites(t, keys, 0, slotKey, slot)
	last := len(after) - 1
	if after[last].value != nil || after[last-1].value != nil {
		t.Fatalf("test setup: the last report's writes do not end in two deletes: %+v", after)
	}

	for _, read := range []string{"Windows", "latestFinal"} {
		t.Run(read, func(t *testing.T) {
			s := tornView(t, table, slotKey, before, after[:last])
			s.windows, s.partKeys = windows, keys
			finals := map[int64]int64{0: 5, 1000: 2} // the finals the output has
			if read == "latestFinal" {
				f, ok := s.latestFinal()
				if !ok || f.Start != 1000 || f.Counts["ios"] != 2 || len(f.Counts) != 1 {
					t.Errorf("latestFinal = %+v, %v; want window 1000 with 2 ios", f, ok)
				}
				return
			}
			got, err := s.Windows("", 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range got {
				if c.Final && c.Count != finals[c.Start] {
					t.Errorf("query shows window %d final with %d %s; its final count is %d (answer %+v)",
						c.Start, c.Count, c.OSType, finals[c.Start], got)
				}
			}
		})
	}
}

// tornView returns a Service whose view of table holds the writes before,
// and applies the writes then right after a query first reads slotKey.
func tornView(t *testing.T, table, slotKey string, before, then []tableWrite) *Service {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, table))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := cluster.ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(table))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	for _, w := range before {
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Key: []byte(w.key), Value: w.value}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	scfg := sarama.NewConfig()
	scfg.Version = sarama.V2_8_0_0
	builder := func(string, int32) (storage.Storage, error) {
		// The consumer moves on to just before the last delete.
		return &advancingStore{slotStore: newSlotStore(), slotKey: slotKey, then: then}, nil
	}
	view, err := goka.NewView(brokers, goka.Table(table), state.SlotCodec{},
		goka.WithViewStorageBuilder(builder),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(scfg)),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(scfg, goka.NewTopicManagerConfig())))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- view.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("view: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); !view.Recovered(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("view not recovered after 10s")
		}
	}

	return &Service{view: view, slotKeys: []string{slotKey}}
}
