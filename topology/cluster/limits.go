package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/IBM/sarama"
)

// MinRecordLimit is the least max.message.bytes oscheck needs on a topic it
// writes: a dead letter or late copy takes up to 256 KiB of the record
// (processor.MaxCopyBytes) and 4 KiB of its key, with headers; a report
// state.MaxReportBytes, or one window's partial (at most about 234 KiB
// under state.MaxTypeBound and state.MaxKept: TestAttackWorstCaseValuesBounded);
// a part as much; a checkpoint or its piece processor.MaxCheckpointBytes.
const MinRecordLimit = 300_000

// RecordLimit asks the brokers how large a record batch each of the topics
// a service writes takes (max.message.bytes, as the topic has it or the
// broker's default), and returns the smallest, for Clients.RecordLimit: a
// batch the broker refuses fails its transaction, and every retry of it,
// for ever. It fails where a topic takes less than MinRecordLimit. A topic
// whose configuration the principal may not describe is passed over with a
// warning on log (0: none known).
func RecordLimit(admin sarama.ClusterAdmin, topics []string, log *slog.Logger) (int64, error) {
	limit := int64(0)
	for _, topic := range topics {
		entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic,
			ConfigNames: []string{"max.message.bytes"}})
		if errors.Is(err, sarama.ErrTopicAuthorizationFailed) || errors.Is(err, sarama.ErrClusterAuthorizationFailed) {
			// Not a right oscheck needs otherwise: run on unchecked.
			log.Warn("cannot check the largest record a topic takes (max.message.bytes): the principal may not describe its configs",
				"topic", topic, "needed", MinRecordLimit)
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("asking for topic %q's max.message.bytes: %w", topic, err)
		}
		for _, e := range entries {
			if e.Name != "max.message.bytes" {
				continue
			}
			n, err := strconv.ParseInt(e.Value, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("topic %q's max.message.bytes %q: %w", topic, e.Value, err)
			}
			if n < MinRecordLimit {
				return 0, fmt.Errorf("topic %q takes record batches of at most %d bytes (its max.message.bytes), "+
					"and oscheck writes records of up to %d bytes there (a dead letter keeps up to 256 KiB of its record): raise it, "+
					"e.g. kafka-configs --alter --entity-type topics --entity-name %s --add-config max.message.bytes=1048588",
					topic, n, MinRecordLimit, topic)
			}
			if limit == 0 || n < limit {
				limit = n
			}
		}
	}
	return limit, nil
}
