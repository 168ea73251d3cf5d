package cluster

import (
	"testing"

	"github.com/IBM/sarama"
)

// TestWindowStageReadsFromEarliest: offset-reset latest starts the parse
// stage at the input's end, but the window stage always reads the
// repartition topic from its earliest offset when its group has none.
func TestWindowStageReadsFromEarliest(t *testing.T) {
	c := &Clients{OffsetReset: "latest"}
	if got := c.ConsumerGroup(false, 0).Consumer.Offsets.Initial; got != sarama.OffsetNewest {
		t.Errorf("parse stage starts at %d, want the newest offset (%d)", got, sarama.OffsetNewest)
	}
	if got := c.ConsumerGroup(true, 0).Consumer.Offsets.Initial; got != sarama.OffsetOldest {
		t.Errorf("window stage starts at %d, want the oldest offset (%d)", got, sarama.OffsetOldest)
	}
}
