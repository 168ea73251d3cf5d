package processor

import (
	"fmt"
	"testing"
	"time"

	"github.com/lovoo/goka"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/state"
)

type gokaContext = goka.Context

// recordContext is the goka.Context of one record. With parser set, each
// Emit is acknowledged at once, on the caller's goroutine: the acknowledgement
// commits the record, which asks the ParseStage (Done) as goka's producer
// goroutine does. Without, the emits wait for the test to acknowledge the
// record, in whatever order it likes.
type recordContext struct {
	gokaContext // the methods Consume does not call: nil
	parser      *ParseStage
	offset      int64
	partition   int32
	timestamp   time.Time
	emitted     []goka.Stream
	values      []any // of each emit, in emitted's order
}

func (c *recordContext) Offset() int64        { return c.offset }
func (c *recordContext) Partition() int32     { return c.partition }
func (c *recordContext) Key() string          { return "" }
func (c *recordContext) Timestamp() time.Time { return c.timestamp }
func (c *recordContext) Emit(topic goka.Stream, _ string, value any, _ ...goka.ContextOption) {
	c.emitted = append(c.emitted, topic)
	c.values = append(c.values, value)
	if c.parser != nil {
		c.parser.Done(c.partition, c.offset+1)
	}
}

// An emit must never wait on what its acknowledgement needs: once goka's
// producer queue is full, an emit blocks until acknowledgements drain it, and
// acknowledgements take the partition's lock. Emitting under that lock
// deadlocked the parse stage on a flood of reports. Here the acknowledgement
// comes inside Emit, so emitting under the lock hangs at once.
func TestParserEmitsOutsideItsLock(t *testing.T) {
	p := NewParseStage(ParseStageConfig{
		Windows: state.Windows{Size: 2000}, Sources: 1, SlotKeys: []string{"slot-0"},
		Repartition: "reports", DeadLetter: "dlq", Late: "late", OSParam: "os_type",
	}, NewMetrics(prometheus.NewRegistry()))
	records := []string{
		`10.0.0.1 - - [14/Aug/2019:00:00:01 +0000] "GET /?os_type=ios HTTP/1.1" 200 1`, // a first claim: a report
		`10.0.0.1 - - [14/Aug/2019:00:00:05 +0000] "GET /?os_type=ios HTTP/1.1" 200 1`, // closes the first window: a report
		`not an access log`, // the dead-letter topic
		`10.0.0.1 - - [14/Aug/2019:00:00:00 +0000] "GET /?os_type=ios HTTP/1.1" 200 1`, // late
	}
	done := make(chan []goka.Stream)
	go func() {
		var emitted []goka.Stream
		for i, r := range records {
			ctx := &recordContext{parser: p, offset: int64(i)}
			p.Consume(ctx, []byte(r))
			emitted = append(emitted, ctx.emitted...)
		}
		done <- emitted
	}()
	select {
	case emitted := <-done:
		if got := fmt.Sprint(emitted); got != "[reports reports dlq late]" {
			t.Errorf("emitted %s, want [reports reports dlq late]", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Consume hung: it emits while holding the lock its acknowledgements need")
	}
}
