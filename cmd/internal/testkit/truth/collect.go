package truth

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/processor/output"
)

// Tail reads a topic from its start, in the background, until Close, and
// keeps what its read function makes of each record.
type Tail[T any] struct {
	mu     sync.Mutex
	items  []T
	cancel context.CancelFunc
	done   chan struct{}
}

// Follow starts reading topic on broker; read turns a record, read at
// arrived, into what the Tail keeps, or reports that it keeps nothing.
//
// It reads read_committed, as a consumer of a transactional writer must:
// records of a transaction count once it commits and never when it aborts,
// and a writer that is not transactional reads the same either way. A broker
// that creates topics on demand creates a missing topic at once, so reading
// starts before its writer does.
func Follow[T any](broker, topic string, read func(r *kgo.Record, arrived time.Time) (T, bool)) (*Tail[T], error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeTopics(topic), kgo.AllowAutoTopicCreation(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", topic, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Tail[T]{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		defer cl.Close()
		for ctx.Err() == nil {
			f := cl.PollFetches(ctx)
			now := time.Now()
			f.EachRecord(func(r *kgo.Record) {
				if v, ok := read(r, now); ok {
					t.mu.Lock()
					t.items = append(t.items, v)
					t.mu.Unlock()
				}
			})
		}
	}()
	return t, nil
}

// Items returns what was kept so far, each partition's records in offset
// order. The caller must not change it.
func (t *Tail[T]) Items() []T {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Capped, so that the reader's next append cannot write into it.
	return t.items[:len(t.items):len(t.items)]
}

// Close stops reading.
func (t *Tail[T]) Close() { t.cancel(); <-t.done }

// Collector reads an os-check topic in the kstreams format from its start,
// in the background, until Close.
type Collector struct {
	tail *Tail[arrival]
}

type arrival struct {
	Record
	at time.Time
}

// Collect starts reading topic on broker, as Follow does; window is the
// window size the records were written with. Records that do not decode
// are left out.
func Collect(broker, topic string, window time.Duration) (*Collector, error) {
	t, err := Follow(broker, topic, func(r *kgo.Record, at time.Time) (arrival, bool) {
		w, err := output.KStreams.Decode(r.Key, r.Value, window)
		return arrival{Record{Key{w.OSType, w.Start}, w.Count}, at}, err == nil
	})
	if err != nil {
		return nil, err
	}
	return &Collector{tail: t}, nil
}

// Records returns a copy of the records read so far and when each arrived.
// Each window's records are in offset order: a key is written to one
// partition.
func (c *Collector) Records() ([]Record, []time.Time) {
	items := c.tail.Items()
	records, arrived := make([]Record, len(items)), make([]time.Time, len(items))
	for i, a := range items {
		records[i], arrived[i] = a.Record, a.at
	}
	return records, arrived
}

// Have counts the wanted windows read so far.
func (c *Collector) Have(want map[Key]int64) int {
	seen := make(map[Key]bool)
	for _, a := range c.tail.Items() {
		if _, ok := want[a.Key]; ok {
			seen[a.Key] = true
		}
	}
	return len(seen)
}

// Close stops reading.
func (c *Collector) Close() { c.tail.Close() }
