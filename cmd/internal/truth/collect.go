package truth

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oscheck/oscheck/processor/output"
)

// Collector reads an os-check topic in the kstreams format from its start,
// in the background, until Close.
type Collector struct {
	mu      sync.Mutex
	records []Record
	arrived []time.Time // when each record was read
	cancel  context.CancelFunc
	done    chan struct{}
}

// Collect starts reading topic on broker; window is the window size the
// records were written with. A broker that creates topics on demand creates
// a missing topic at once, so reading starts before its writer does.
func Collect(broker, topic string, window time.Duration) (*Collector, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeTopics(topic), kgo.AllowAutoTopicCreation(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Collector{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer cl.Close()
		for ctx.Err() == nil {
			f := cl.PollFetches(ctx)
			now := time.Now()
			f.EachRecord(func(r *kgo.Record) {
				w, err := output.KStreams.Decode(r.Key, r.Value, window)
				if err != nil {
					return
				}
				c.mu.Lock()
				c.records = append(c.records, Record{Key{w.OSType, w.Start}, w.Count})
				c.arrived = append(c.arrived, now)
				c.mu.Unlock()
			})
		}
	}()
	return c, nil
}

// Records returns a copy of the records read so far and when each arrived.
func (c *Collector) Records() ([]Record, []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Record(nil), c.records...), append([]time.Time(nil), c.arrived...)
}

// Have counts the wanted windows read so far.
func (c *Collector) Have(want map[Key]int64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := make(map[Key]bool)
	for _, r := range c.records {
		if _, ok := want[r.Key]; ok {
			seen[r.Key] = true
		}
	}
	return len(seen)
}

// Close stops reading.
func (c *Collector) Close() { c.cancel(); <-c.done }
