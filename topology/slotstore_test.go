package topology

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/state"
)

// TestSlotStorageRestoreKeepsNewerSlot restores the window table's changelog
// into a goka view, as an instance does when it takes the table over. The
// changelog of key "3" ends with a previous owner's late write of an older
// slot (Applied 6, after the new owner's 9). With goka's own memory storage,
// the control, the restored slot is the stale one; with slotStorage it is the
// one that applied furthest.
func TestSlotStorageRestoreKeepsNewerSlot(t *testing.T) {
	const table = "oscheck-window-table"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, table))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

	writes := []struct {
		key     string
		applied int64
	}{{"3", 5}, {"7", 2}, {"3", 9}, {"3", 6}}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(table))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, w := range writes {
		s := state.NewSlot()
		s.Applied = w.applied
		v, err := state.SlotCodec{}.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Key: []byte(w.key), Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	for _, tt := range []struct {
		name    string
		builder storage.Builder
		want    map[string]int64 // key -> Applied of the restored slot
	}{
		{"goka memory storage (control)", storage.MemoryBuilder(), map[string]int64{"3": 6, "7": 2}},
		{"slotStorage", slotStorage(), map[string]int64{"3": 9, "7": 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := restore(t, brokers, table, tt.builder); !maps.Equal(got, tt.want) {
				t.Errorf("restored slots' Applied by key %v, want %v", got, tt.want)
			}
		})
	}
}

// restore reads table's changelog into a goka view built on builder and
// returns the Applied of each slot it holds.
func restore(t *testing.T, brokers []string, table string, builder storage.Builder) map[string]int64 {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	view, err := goka.NewView(brokers, goka.Table(table), state.SlotCodec{},
		goka.WithViewStorageBuilder(builder),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(cfg)),
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(cfg, goka.NewTopicManagerConfig())))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- view.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("view: %v", err)
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); !view.Recovered(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("view not recovered after 10s")
		}
	}
	got := map[string]int64{}
	it, err := view.Iterator()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Release()
	for it.Next() {
		v, err := it.Value()
		if err != nil {
			t.Fatal(err)
		}
		got[it.Key()] = v.(*state.Slot).Applied
	}
	return got
}

// TestSlotStoreSet: the first value of a key is stored as it is; a value
// that is not a slot is refused, naming the key; Delete is the wrapped
// storage's.
func TestSlotStoreSet(t *testing.T) {
	st, err := slotStorage()("table", 0)
	if err != nil {
		t.Fatal(err)
	}
	get := func(key string) string {
		t.Helper()
		v, err := st.Get(key)
		if err != nil {
			t.Fatal(err)
		}
		return string(v)
	}
	if err := st.Set("k", []byte(`{"applied":4}`)); err != nil || get("k") != `{"applied":4}` {
		t.Fatalf("first Set: %v, stored %q", err, get("k"))
	}
	err = st.Set("k", []byte(`garbage`))
	if err == nil || !strings.Contains(err.Error(), `"k"`) {
		t.Fatalf("Set of a value that is not a slot: %v, want an error naming the key", err)
	}
	if get("k") != `{"applied":4}` {
		t.Fatalf("a refused value was stored: %q", get("k"))
	}
	if err := st.Delete("k"); err != nil || get("k") != "" {
		t.Fatalf("Delete: %v, left %q", err, get("k"))
	}
	if err := st.Set("k", []byte(`{"applied":1}`)); err != nil || get("k") != `{"applied":1}` {
		t.Fatalf("Set after Delete: %v, stored %q", err, get("k"))
	}
}
