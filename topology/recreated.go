package topology

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/oscheck/oscheck/topology/cluster"
)

// claimWindow tells the window stage, before it reads a repartition
// partition it has been given, the topic's ID and the partition's end, with
// which each slot tells a repartition topic deleted and created again
// (state.Slot.Track): its offsets start over, and the slot's last applied
// offset would make every new report look like one applied before.
//
// It also stops the stage (a KeyError) when the window table lost the
// partition's slot: initial, the group's committed offset there, says it
// applied reports whose claims and counts the table no longer holds.
func (s *Service) claimWindow(partition int32, initial int64) error {
	client := s.windowGate.consumerClient()
	if client == nil {
		return errors.New("no consumer group client")
	}
	topic := string(s.topics.Repartition)
	if err := s.checkWindowTable(client, partition, initial); err != nil {
		return err
	}
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

// checkWindowTable fails when the group has applied reports of repartition
// partition p (its committed offset initial is past the partition's start)
// but the window table holds no value there: every report writes its slot,
// and compaction keeps a key's last value, so the table was deleted and
// created again, or lost its records. Carrying on would complete the
// windows then open without the counts they had.
func (s *Service) checkWindowTable(client sarama.Client, p int32, initial int64) error {
	topic := string(s.topics.Repartition)
	if initial < 0 {
		return nil
	}
	oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest)
	if err != nil {
		return fmt.Errorf("log start of %s/%d: %w", topic, p, err)
	}
	if initial <= oldest {
		return nil
	}
	table := string(goka.GroupTable(s.topics.WindowGroup))
	last, _, err := cluster.LastCommitted(client, table, p)
	if err != nil || last >= 0 {
		return err
	}
	return &KeyError{Key: "group", Reason: fmt.Sprintf("the window table %q holds nothing for partition %d, yet group %q "+
		"has applied the reports of %s/%d up to offset %d: the table was deleted and created again, or lost its records, "+
		"and the counts of the windows open then are gone. Start a new group (--group), which reads the input again",
		table, p, s.topics.WindowGroup, topic, p, initial)}
}
