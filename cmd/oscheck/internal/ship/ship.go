package ship

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"

	"github.com/oscheck/oscheck/cmd/oscheck/internal/tail"
	"github.com/oscheck/oscheck/topology/cluster"
)

// Config says what to ship where.
type Config struct {
	Brokers []string
	Topic   string // must exist
	File    string // the log's path, followed across rotations

	// ID names the shipper: its Kafka transactional ID and the consumer
	// group that stores its position. Two shippers must not share one
	// unless the second is meant to replace the first.
	ID string

	BatchLines  int                     // most lines per transaction; at least 1
	Compression sarama.CompressionCodec // of produced batches
	FromEnd     bool                    // with no stored position, skip what the file already holds

	// Sarama is the client configuration to start from (security settings,
	// client ID); nil means sarama's defaults. It is copied, not changed.
	Sarama *sarama.Config

	// Tail holds further options for the file side, such as its poll
	// interval; package tail documents them.
	Tail []tail.Option

	Log *slog.Logger // nil: slog.Default()

	// Committed, when set, is called after each committed batch; it must
	// return quickly.
	Committed func(Batch)
}

// Batch is what one committed transaction shipped.
type Batch struct {
	Lines     int
	Bytes     int
	Partition int32
	Total     int64         // lines this shipper ID has committed in all its runs
	End       tail.Position // where the next run would resume
	File      tail.Stats    // what the file follower has done in this run
}

// positionPartition is where the position is committed: partition 0 of
// the topic shipped to, which always exists. Only the metadata matters; the
// offset stored with it counts the lines shipped.
const positionPartition = 0

// Run ships lines until ctx is done, then returns nil: every line it
// acknowledged is committed, and the rest is shipped by the next run. It
// returns an error when it cannot start (no broker, no topic, unreadable
// file) or when the producer is fenced by a newer shipper with the same ID.
func Run(ctx context.Context, cfg Config) error {
	if cfg.BatchLines < 1 {
		return errors.New("ship: BatchLines must be at least 1")
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	client, err := sarama.NewClient(cfg.Brokers, producerConfig(cfg))
	if err != nil {
		return fmt.Errorf("connecting to brokers %v: %w", cfg.Brokers, err)
	}
	defer client.Close()
	partitions, err := client.Partitions(cfg.Topic)
	if err != nil {
		return fmt.Errorf("partitions of topic %q: %w", cfg.Topic, err)
	}
	// Creating the producer initialises its transactional ID, which fences
	// any older shipper with this ID and resolves the transaction it left
	// open; only then is the stored position final.
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		return fmt.Errorf("transactional producer %q: %w", cfg.ID, err)
	}
	defer producer.Close()
	from, total, err := storedPosition(client, cfg)
	if err != nil {
		return err
	}
	opts := cfg.Tail
	if cfg.FromEnd {
		opts = append(opts[:len(opts):len(opts)], tail.WithStartAtEnd())
	}
	f, err := tail.Follow(cfg.File, from, opts...)
	if err != nil {
		return fmt.Errorf("following %s: %w", cfg.File, err)
	}
	defer f.Close()
	if from != nil {
		log.Info("resuming", "file", cfg.File, "id", cfg.ID, "position", from, "lines_shipped", total)
	} else {
		log.Info("starting without a stored position", "file", cfg.File, "id", cfg.ID, "from_end", cfg.FromEnd)
	}

	s := &sender{cfg: cfg, log: log, producer: producer, partitions: partitions, total: total, follower: f}
	for {
		lines, end, err := f.Next(ctx, cfg.BatchLines)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", cfg.File, err)
		}
		if err := s.send(ctx, lines, end); err != nil {
			return err
		}
	}
}

// producerConfig is cfg.Sarama made transactional.
func producerConfig(cfg Config) *sarama.Config {
	c := sarama.NewConfig()
	if cfg.Sarama != nil {
		copied := *cfg.Sarama
		c = &copied
	}
	if !c.Version.IsAtLeast(sarama.V2_8_0_0) {
		c.Version = sarama.V2_8_0_0 // transactions and stable offset fetches
	}
	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Partitioner = sarama.NewManualPartitioner
	c.Producer.Compression = cfg.Compression
	c.Net.MaxOpenRequests = 1
	c.Producer.Transaction.ID = cfg.ID
	// A shipper that dies with a transaction open holds back every
	// read-committed consumer of the partition until the broker aborts it,
	// or until the shipper restarts and fences itself; keep that short.
	c.Producer.Transaction.Timeout = 10 * time.Second
	return c
}

// storedPosition reads the position the last committed batch stored, nil
// when this shipper ID has never committed one, and the lines shipped so far.
func storedPosition(client sarama.Client, cfg Config) (*tail.Position, int64, error) {
	coordinator, err := client.Coordinator(cfg.ID)
	if err != nil {
		return nil, 0, fmt.Errorf("coordinator of shipper group %q: %w", cfg.ID, err)
	}
	req := &sarama.OffsetFetchRequest{Version: 7, ConsumerGroup: cfg.ID, RequireStable: true}
	req.AddPartition(cfg.Topic, positionPartition)
	resp, err := coordinator.FetchOffset(req)
	if err != nil {
		return nil, 0, fmt.Errorf("reading the stored position of %q: %w", cfg.ID, err)
	}
	if resp.Err == sarama.ErrGroupIDNotFound {
		return nil, 0, nil // some brokers say so of a group that never committed
	}
	if resp.Err != sarama.ErrNoError {
		return nil, 0, fmt.Errorf("reading the stored position of %q: %w", cfg.ID, resp.Err)
	}
	block := resp.GetBlock(cfg.Topic, positionPartition)
	if block == nil || block.Offset < 0 || block.Metadata == "" {
		return nil, 0, nil
	}
	if block.Err != sarama.ErrNoError {
		return nil, 0, fmt.Errorf("reading the stored position of %q: %w", cfg.ID, block.Err)
	}
	var p tail.Position
	if err := p.UnmarshalText([]byte(block.Metadata)); err != nil {
		return nil, 0, fmt.Errorf("stored position of %q: %w", cfg.ID, err)
	}
	return &p, block.Offset, nil
}

// sender produces batches, each in its own transaction.
type sender struct {
	cfg        Config
	log        *slog.Logger
	producer   sarama.SyncProducer
	partitions []int32
	total      int64
	follower   *tail.Follower
}

// send commits lines and end in one transaction, trying again until it
// commits, ctx ends (nil: the lines are left for the next run), or the
// producer fails for good.
func (s *sender) send(ctx context.Context, lines [][]byte, end tail.Position) error {
	partition := s.partitions[int(s.total%int64(len(s.partitions)))]
	meta, err := end.MarshalText()
	if err != nil {
		return fmt.Errorf("encoding position %v: %w", end, err)
	}
	retry := cluster.NewBackoff(100*time.Millisecond, 5*time.Second)
	for {
		err := s.commit(lines, partition, string(meta))
		if err == nil {
			break
		}
		status := s.producer.TxnStatus()
		if status&sarama.ProducerTxnFlagFatalError != 0 {
			return fmt.Errorf("shipper %q stopped: %w", s.cfg.ID, err)
		}
		if status&(sarama.ProducerTxnFlagInTransaction|sarama.ProducerTxnFlagAbortableError) != 0 {
			if aerr := s.producer.AbortTxn(); aerr != nil {
				return fmt.Errorf("shipper %q: aborting after %v: %w", s.cfg.ID, err, aerr)
			}
		}
		wait := retry.NextBackOff()
		s.log.Warn("shipping a batch failed; sending it again", "lines", len(lines), "partition", partition, "error", err, "backoff", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
	s.total += int64(len(lines))
	if s.cfg.Committed != nil {
		n := 0
		for _, l := range lines {
			n += len(l)
		}
		s.cfg.Committed(Batch{Lines: len(lines), Bytes: n, Partition: partition, Total: s.total, End: end,
			File: s.follower.Stats()})
	}
	return nil
}

func (s *sender) commit(lines [][]byte, partition int32, meta string) error {
	if err := s.producer.BeginTxn(); err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	// New messages on every attempt: sarama annotates the ones it sends.
	msgs := make([]*sarama.ProducerMessage, len(lines))
	for i, l := range lines {
		msgs[i] = &sarama.ProducerMessage{Topic: s.cfg.Topic, Partition: partition, Value: sarama.ByteEncoder(l)}
	}
	if err := s.producer.SendMessages(msgs); err != nil {
		return fmt.Errorf("producing %d lines to %s/%d: %w", len(lines), s.cfg.Topic, partition, err)
	}
	offsets := map[string][]*sarama.PartitionOffsetMetadata{
		s.cfg.Topic: {{Partition: positionPartition, Offset: s.total + int64(len(lines)), Metadata: &meta}},
	}
	if err := s.producer.AddOffsetsToTxn(offsets, s.cfg.ID); err != nil {
		return fmt.Errorf("storing the position: %w", err)
	}
	if err := s.producer.CommitTxn(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}
