package topology

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// saramaConfig returns a new client configuration for one processor, view or
// emitter of the service.
func saramaConfig(c Config) *sarama.Config {
	s := goka.DefaultConfig()
	s.ClientID = c.ClientID
	s.Version = sarama.V2_8_0_0
	// Topics appear only where the service creates them, with the input's
	// partition count; a broker's auto-creation would pick its own.
	s.Metadata.AllowAutoTopicCreation = false
	s.Consumer.Offsets.Initial = sarama.OffsetOldest
	if c.OffsetReset == "latest" {
		s.Consumer.Offsets.Initial = sarama.OffsetNewest
	}
	// Reports and finals must not be lost to a leader change.
	s.Producer.RequiredAcks = sarama.WaitForAll
	s.Producer.Compression = sarama.CompressionNone
	return s
}

// ensureTopics checks the input topic and creates the topics the service owns
// (the output too, if missing) with the input's partition count, which it
// returns.
func (s *Service) ensureTopics() (int32, error) {
	client, err := sarama.NewClient(s.cfg.Brokers, saramaConfig(s.cfg))
	if err != nil {
		return 0, fmt.Errorf("connecting to brokers %v (config key \"brokers\"): %w", s.cfg.Brokers, err)
	}
	defer client.Close()
	parts, err := client.Partitions(string(s.topics.Input))
	if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		return 0, &KeyError{Key: "input", Reason: fmt.Sprintf("topic %q does not exist on brokers %v", s.topics.Input, s.cfg.Brokers)}
	}
	if err != nil {
		return 0, fmt.Errorf("reading partitions of input topic %q: %w", s.topics.Input, err)
	}
	tm, err := s.tmb(s.cfg.Brokers)
	if err != nil {
		return 0, fmt.Errorf("topic manager: %w", err)
	}
	defer tm.Close()
	owned := []goka.Stream{s.topics.Repartition, s.topics.DeadLetter, s.topics.Output}
	if s.topics.Late != "" {
		owned = append(owned, s.topics.Late)
	}
	for _, t := range owned {
		if err := tm.EnsureStreamExists(string(t), len(parts)); err != nil {
			return 0, fmt.Errorf("creating topic %q: %w", t, err)
		}
	}
	return int32(len(parts)), nil
}

// slotKeys picks, for each of n slots, a repartition key that goka's
// partitioner sends to partition i of the n-partition repartition topic, so
// consecutive windows spread evenly over the window stage's partitions.
func slotKeys(topic goka.Stream, n int32) ([]string, error) {
	part := sarama.NewCustomHashPartitioner(goka.DefaultHasher())(string(topic))
	keys := make([]string, n)
	found := int32(0)
	for i := 0; found < n && i < 1<<20; i++ {
		k := fmt.Sprintf("slot-%d", i)
		p, err := part.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(k)}, n)
		if err != nil {
			return nil, fmt.Errorf("partitioning slot keys: %w", err)
		}
		if keys[p] == "" {
			keys[p] = k
			found++
		}
	}
	if found < n {
		return nil, fmt.Errorf("no slot keys found for %d partitions", n)
	}
	return keys, nil
}

// gokaLogger sends goka's and sarama's chatter to slog at debug level; what
// matters to an operator the service logs itself.
type gokaLogger struct{ log *slog.Logger }

func (l gokaLogger) Print(v ...any)   { l.log.Debug(fmt.Sprint(v...), "source", "goka") }
func (l gokaLogger) Println(v ...any) { l.log.Debug(fmt.Sprint(v...), "source", "goka") }
func (l gokaLogger) Printf(format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...), "source", "goka")
}
