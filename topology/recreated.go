package topology

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// claimWindow tells the window stage, before it reads a repartition
// partition it has been given, the topic's ID and the partition's end, with
// which each slot tells a repartition topic deleted and created again
// (state.Slot.Track): its offsets start over, and the slot's last applied
// offset would make every new report look like one applied before.
func (s *Service) claimWindow(partition int32, _ int64) error {
	client := s.windowGate.consumerClient()
	if client == nil {
		return errors.New("no consumer group client")
	}
	topic := string(s.topics.Repartition)
	id, err := topicID(client, topic, partition)
	if err != nil {
		return err
	}
	end, err := client.GetOffset(topic, partition, sarama.OffsetNewest)
	if err != nil {
		return fmt.Errorf("end offset of %s/%d: %w", topic, partition, err)
	}
	s.windower.Claimed(partition, id, end)
	// The slots read from here on wait for every partition the input has.
	if err := s.learnInputGrowth(); err != nil && !errors.Is(err, errInputGrew) {
		return err
	}
	return nil
}

// topicID asks the leader of one of topic's partitions for the topic's ID:
// "" from brokers before Kafka 2.8, which have none.
func topicID(client sarama.Client, topic string, partition int32) (string, error) {
	broker, err := client.Leader(topic, partition)
	if err != nil {
		return "", fmt.Errorf("leader of %s/%d: %w", topic, partition, err)
	}
	md, err := broker.GetMetadata(sarama.NewMetadataRequest(client.Config().Version, []string{topic}))
	if err != nil {
		return "", fmt.Errorf("metadata of %s: %w", topic, err)
	}
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if !errors.Is(t.Err, sarama.ErrNoError) {
			return "", fmt.Errorf("metadata of %s: %w", topic, t.Err)
		}
		if t.Uuid == (sarama.Uuid{}) {
			return "", nil
		}
		return t.Uuid.String(), nil
	}
	return "", fmt.Errorf("metadata of %s: no such topic in the answer", topic)
}

// repartitionMoved logs a slot that found its repartition partition
// replaced.
func (s *Service) repartitionMoved(partition int32, key string, applied int64) {
	s.log.Warn("repartition topic was deleted and created again, or lost its records: "+
		"its reports are read from its start as new (a report the old topic held that the window stage had not applied is lost)",
		"topic", string(s.topics.Repartition), "partition", partition, "slot", key, "last offset applied", applied)
}
