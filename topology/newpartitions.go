package topology

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// newPartitionsFromOldest is the parse stage's session setup under
// offset-reset latest. "latest" is for a group that has committed nothing
// yet: it starts at the end of the input, as Kafka's consumers do. But once
// the group has committed offsets, a claimed partition without one is a
// partition added to the input since, and latest would skip every record
// written to it before the group's rebalance onto it (seconds after the
// partition appears): those are read from the partition's start instead,
// as Kafka Streams does for its repartition topics.
//
// It moves the claim's start with MarkOffset, before the session consumes:
// sarama starts a claim at its offset manager's offset, which MarkOffset
// only ever raises, so a partition with a committed offset keeps it.
func (s *Service) newPartitionsFromOldest(sess sarama.ConsumerGroupSession) error {
	client := s.gate.consumerClient()
	input := string(s.topics.Input)
	claimed := sess.Claims()[input]
	if client == nil || len(claimed) == 0 {
		return nil
	}
	parts, err := client.Partitions(input)
	if err != nil {
		return fmt.Errorf("partitions of the input %q: %w", input, err)
	}
	offsets, err := committedOffsets(client, string(s.topics.ParseGroup), input, parts)
	if err != nil {
		return err
	}
	if len(offsets) == 0 {
		return nil // a new group: latest, as asked
	}
	for _, p := range claimed {
		if _, ok := offsets[p]; ok {
			continue
		}
		oldest, err := client.GetOffset(input, p, sarama.OffsetOldest)
		if err != nil {
			return fmt.Errorf("log start of %s/%d: %w", input, p, err)
		}
		s.log.Info("reading a partition added to the input from its start (offset-reset latest applies to a new group only)",
			"topic", input, "partition", p, "offset", oldest)
		sess.MarkOffset(input, p, oldest, "")
	}
	return nil
}

// committed is a partition's committed offset and the metadata committed
// with it.
type committed struct {
	offset   int64
	metadata string
}

// committedOffsets returns the group's committed offsets of topic's
// partitions, by partition; a partition without one is not in it.
func committedOffsets(client sarama.Client, group, topic string, parts []int32) (map[int32]committed, error) {
	coordinator, err := client.Coordinator(group)
	if err != nil {
		return nil, fmt.Errorf("coordinator of group %s: %w", group, err)
	}
	resp, err := coordinator.FetchOffset(sarama.NewOffsetFetchRequest(client.Config().Version, group,
		map[string][]int32{topic: parts}))
	if err != nil {
		return nil, fmt.Errorf("committed offsets of group %s: %w", group, err)
	}
	if !errors.Is(resp.Err, sarama.ErrNoError) {
		return nil, fmt.Errorf("committed offsets of group %s: %w", group, resp.Err)
	}
	out := make(map[int32]committed)
	for _, p := range parts {
		b := resp.GetBlock(topic, p)
		if b == nil {
			continue
		}
		if !errors.Is(b.Err, sarama.ErrNoError) {
			return nil, fmt.Errorf("committed offset of %s/%d in group %s: %w", topic, p, group, b.Err)
		}
		if b.Offset >= 0 {
			out[p] = committed{b.Offset, b.Metadata}
		}
	}
	return out, nil
}
