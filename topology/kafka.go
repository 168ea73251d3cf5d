package topology

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// saramaConfig returns a new client configuration for one processor, view,
// emitter, admin client or probe of the service, secured as configured.
func (svc *Service) saramaConfig() *sarama.Config {
	c := svc.cfg
	s := goka.DefaultConfig()
	s.ClientID = c.ClientID
	s.Version = sarama.V2_8_0_0
	// Topics appear only where the service creates them, with the input's
	// partition count; a broker's auto-creation would pick its own.
	s.Metadata.AllowAutoTopicCreation = false
	s.Consumer.Group.InstanceId = c.InstanceID
	s.Consumer.Offsets.Initial = sarama.OffsetOldest
	// Transactional producers upstream (oscheck ship, Kafka Connect's
	// exactly-once sources) abort batches they retry; counting those would
	// count lines twice.
	s.Consumer.IsolationLevel = sarama.ReadCommitted
	if c.OffsetReset == "latest" {
		s.Consumer.Offsets.Initial = sarama.OffsetNewest
	}
	// A JoinGroup waits up to the rebalance timeout for members that have
	// not rejoined (a killed instance never does), and a broker may restart
	// that wait whenever another member joins. sarama reads every response,
	// JoinGroup's too, under Net.ReadTimeout: if it ran out first, the member
	// would rejoin, restart everyone's wait, and the group could cycle for
	// minutes. Kafka's Java consumer likewise gives joins a longer deadline.
	s.Consumer.Group.Rebalance.Timeout = 10 * time.Second
	s.Net.ReadTimeout = 60 * time.Second
	// Ride out a broker restart or leader change instead of failing the
	// stage: about 30 s of retries for produces and metadata.
	s.Producer.Retry.Max = 60
	s.Producer.Retry.Backoff = 500 * time.Millisecond
	s.Metadata.Retry.Max = 60
	s.Metadata.Retry.Backoff = 500 * time.Millisecond
	// Reports and finals must not be lost to a leader change.
	s.Producer.RequiredAcks = sarama.WaitForAll
	s.Producer.Compression = sarama.CompressionNone
	// A final record passes two producers (the report, then the window);
	// goka's 100 ms linger on each would be most of its latency. The
	// service produces per window, not per event, so batches are small
	// anyway; 5 ms is Kafka's own default linger.
	s.Producer.Flush.Frequency = 5 * time.Millisecond
	if svc.recordLimit > 0 {
		// A batch at most what the smallest topic takes (the broker
		// measures batches, headers included, against it).
		s.Producer.MaxMessageBytes = int(min(int64(s.Producer.MaxMessageBytes), svc.recordLimit-recordBatchOverhead))
	}
	TuneConsumer(s)
	c.Security.apply(s, svc.tls)
	return s
}

// recordBatchOverhead is what a record batch's header adds to its records
// (61 bytes in Kafka's v2 format), rounded up.
const recordBatchOverhead = 128

// consumerGroupConfig is saramaConfig for a stage's consumer group. Under
// exactly_once_v2 its offsets are committed in the stage's transactions
// only; under at_least_once sarama commits what the gate marked, every
// commit interval. A stage that reads a topic oscheck writes itself
// (internal: the window stage's repartition topic) starts a partition
// without a committed offset at its earliest, whatever offset-reset says, as
// Kafka Streams reads its repartition topics: "latest" would skip the first
// reports of windows the parse stage counted, and those windows would
// never complete.
func (svc *Service) consumerGroupConfig(internal bool) *sarama.Config {
	s := svc.saramaConfig()
	if internal {
		s.Consumer.Offsets.Initial = sarama.OffsetOldest
	} else {
		// sarama notices that the input gained partitions, and rebalances
		// the group onto them, when its metadata, refreshed this often,
		// says so (Kafka's own consumers: metadata.max.age.ms, 5 min). The
		// window stage waits for the new partitions from the moment it
		// learns of them (Service.learnInputGrowth), so every second
		// here is a second of windows held back. Only the topics the group
		// reads are asked for.
		s.Metadata.RefreshFrequency = inputRefresh
		s.Metadata.Full = false
	}
	s.Consumer.Offsets.AutoCommit.Enable = !svc.cfg.Guarantee.Transactional()
	s.Consumer.Offsets.AutoCommit.Interval = svc.cfg.CommitInterval
	return s
}

// inputRefresh is how often the parse stage's group refreshes its metadata.
const inputRefresh = 2 * time.Second

// producerConfig is saramaConfig for a producer: idempotent, so that a
// batch the broker appended but whose answer a dropped connection lost is
// not appended again when sarama retries it (Kafka's enable.idempotence,
// on by default in Kafka's own clients since 3.0). Idempotence needs at
// most one request in flight per connection, which only the producer's own
// client gets: on the consumer group's, heartbeats would wait longer
// behind fetches and commits.
func (svc *Service) producerConfig() *sarama.Config {
	s := svc.saramaConfig()
	s.Producer.Idempotent = true
	s.Net.MaxOpenRequests = 1
	return s
}

// ensureTopics checks the input topic and creates the topics the service owns
// (the output too, if missing); it returns the input's partition count
// (sources) and the number of slots: the partition count of the topics
// that hold the group's state (repartition topic, window table, changelog),
// the input's when it creates them. Those keep their count when the input
// gains partitions; the slots then take reports from more sources.
// Instances starting together race to create them; losing the race is
// success. Topics get the broker's default retention, except the window
// table and the parse stage's changelog, which are compacted: only the last
// value of each key matters.
func (s *Service) ensureTopics() (sources, slots int32, err error) {
	client, err := sarama.NewClient(s.cfg.Brokers, s.saramaConfig())
	if err != nil {
		return 0, 0, fmt.Errorf("connecting to brokers %v (config key \"brokers\"): %w", s.cfg.Brokers, err)
	}
	defer client.Close()
	// The topic list, not a lookup of the one topic: that would retry a
	// missing topic for as long as the metadata retries allow.
	topics, err := client.Topics()
	if err != nil {
		return 0, 0, fmt.Errorf("listing topics: %w", err)
	}
	if !slices.Contains(topics, string(s.topics.Input)) {
		return 0, 0, &KeyError{Key: "input", Reason: fmt.Sprintf("topic %q does not exist on brokers %v", s.topics.Input, s.cfg.Brokers)}
	}
	parts, err := client.Partitions(string(s.topics.Input))
	if err != nil {
		return 0, 0, fmt.Errorf("reading partitions of input topic %q: %w", s.topics.Input, err)
	}
	sources = int32(len(parts))
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return 0, 0, fmt.Errorf("cluster admin: %w", err)
	}
	existing, err := admin.ListTopics()
	if err != nil {
		return 0, 0, fmt.Errorf("listing topics: %w", err)
	}
	if slots, err = s.slotCount(existing, sources); err != nil {
		return 0, 0, err
	}
	compact := "compact"
	owned := map[string]map[string]*string{
		string(s.topics.Repartition):                  nil,
		string(s.topics.DeadLetter):                   nil,
		string(s.topics.Output):                       nil,
		string(goka.GroupTable(s.topics.WindowGroup)): {"cleanup.policy": &compact},
		string(s.topics.Changelog):                    {"cleanup.policy": &compact},
	}
	if s.topics.Late != "" {
		owned[string(s.topics.Late)] = nil
	}
	for topic, conf := range owned {
		if _, ok := existing[topic]; ok {
			continue
		}
		err := admin.CreateTopic(topic, &sarama.TopicDetail{
			NumPartitions:     slots,
			ReplicationFactor: int16(s.cfg.ReplicationFactor),
			ConfigEntries:     conf,
		}, false)
		if errors.Is(err, sarama.ErrTopicAuthorizationFailed) || errors.Is(err, sarama.ErrClusterAuthorizationFailed) {
			return 0, 0, fmt.Errorf("creating topic %q: %s may not create topics (Kafka ACLs): create it in advance or grant Create: %w",
				topic, s.principal(), err)
		}
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return 0, 0, fmt.Errorf("creating topic %q: %w", topic, err)
		}
	}
	if err := s.checkRecordLimits(admin); err != nil {
		return 0, 0, err
	}
	return sources, slots, nil
}

// MinRecordLimit is the least max.message.bytes oscheck needs on a topic it
// writes: a dead letter or late copy takes up to 256 KiB of the record
// (processor.MaxCopyBytes) and 4 KiB of its key, with headers; a report
// state.MaxReportBytes, or one window's partial (at most about 234 KiB
// under state.MaxTypeBound and state.MaxKept: TestAttackWorstCaseValuesBounded);
// a part as much; a checkpoint or its piece processor.MaxCheckpointBytes.
const MinRecordLimit = 300_000

// checkRecordLimits asks the brokers how large a record batch each topic
// the service writes takes (max.message.bytes, as the topic has it or the
// broker's default), refuses to start where that is below MinRecordLimit,
// and keeps the producers' batches within the smallest: a batch the broker
// refuses fails its transaction, and every retry of it, for ever.
func (s *Service) checkRecordLimits(admin sarama.ClusterAdmin) error {
	topics := []string{string(s.topics.Output), string(s.topics.Repartition), string(goka.GroupTable(s.topics.WindowGroup)),
		string(s.topics.Changelog), string(s.topics.DeadLetter)}
	if s.topics.Late != "" {
		topics = append(topics, string(s.topics.Late))
	}
	limit := int64(0)
	for _, topic := range topics {
		entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic,
			ConfigNames: []string{"max.message.bytes"}})
		if errors.Is(err, sarama.ErrTopicAuthorizationFailed) || errors.Is(err, sarama.ErrClusterAuthorizationFailed) {
			// Not a right oscheck needs otherwise: run on unchecked.
			s.log.Warn("cannot check the largest record a topic takes (max.message.bytes): the principal may not describe its configs",
				"topic", topic, "needed", MinRecordLimit)
			continue
		}
		if err != nil {
			return fmt.Errorf("asking for topic %q's max.message.bytes: %w", topic, err)
		}
		for _, e := range entries {
			if e.Name != "max.message.bytes" {
				continue
			}
			n, err := strconv.ParseInt(e.Value, 10, 64)
			if err != nil {
				return fmt.Errorf("topic %q's max.message.bytes %q: %w", topic, e.Value, err)
			}
			if n < MinRecordLimit {
				return fmt.Errorf("topic %q takes record batches of at most %d bytes (its max.message.bytes), "+
					"and oscheck writes records of up to %d bytes there (a dead letter keeps up to 256 KiB of its record): raise it, "+
					"e.g. kafka-configs --alter --entity-type topics --entity-name %s --add-config max.message.bytes=1048588",
					topic, n, MinRecordLimit, topic)
			}
			if limit == 0 || n < limit {
				limit = n
			}
		}
	}
	s.recordLimit = limit
	return nil
}

// slotCount returns the partition count of the group's state topics that
// exist (one slot each), or sources when none does. They must agree: slot
// keys, the window table and the checkpoints all assume one count, and any
// other (a topic created by hand, or deleted and created again) would
// misroute reports and state without a word.
func (s *Service) slotCount(existing map[string]sarama.TopicDetail, sources int32) (int32, error) {
	slots, from := int32(0), ""
	for _, topic := range []string{string(s.topics.Repartition), string(goka.GroupTable(s.topics.WindowGroup)), string(s.topics.Changelog)} {
		d, ok := existing[topic]
		switch {
		case !ok:
		case slots == 0:
			slots, from = d.NumPartitions, topic
		case d.NumPartitions != slots:
			return 0, &KeyError{Key: "group", Reason: fmt.Sprintf("topic %q, which group %q keeps its state in, has %d partitions, "+
				"but %q has %d: they must agree (was one created by hand, or deleted and created again?): start a new group (--group), "+
				"which reads the input again, or delete the group's topics (%s-*) and consumer groups and start again",
				topic, s.cfg.Group, d.NumPartitions, from, slots, s.cfg.Group)}
		}
	}
	if slots == 0 {
		slots = sources
	}
	return slots, nil
}

// slotKeys picks, for each of n slots, a repartition key that goka's
// partitioner sends to partition i of the n-partition repartition topic, so
// consecutive windows spread evenly over the window stage's partitions.
func slotKeys(topic goka.Stream, n int32) []string {
	keys := newPartitionKeys(topic, n)
	out := make([]string, n)
	for i := range out {
		out[i] = keys.key(int32(i))
	}
	return out
}

// partitionKeys gives each source s a key of its own that goka's
// partitioner sends to partition s mod n of an n-partition topic: for
// s < n the key slotKeys picks for partition s, then the next one found
// for the same partition, and so on. The parse stage keys its checkpoints
// so, as the input may have more partitions than its changelog.
type partitionKeys struct {
	part sarama.Partitioner
	n    int32

	mu     sync.Mutex
	tried  int
	byPart [][]string // keys found so far, per partition, in search order
}

func newPartitionKeys(topic goka.Stream, n int32) *partitionKeys {
	return &partitionKeys{part: sarama.NewCustomHashPartitioner(goka.DefaultHasher())(string(topic)), n: n,
		byPart: make([][]string, n)}
}

// key returns source s's key. goka's hash partitioner spreads keys evenly
// and cannot fail on a key, so the search ends after about n*(s/n+1) tries.
func (k *partitionKeys) key(s int32) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, nth := s%k.n, int(s/k.n)
	for len(k.byPart[p]) <= nth {
		key := fmt.Sprintf("slot-%d", k.tried)
		k.tried++
		at, _ := k.part.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, k.n)
		k.byPart[at] = append(k.byPart[at], key)
	}
	return k.byPart[p][nth]
}

// piece returns the key of the nth piece of source s's checkpoint, when it
// is written in pieces: the first of <key>#<n>/<k>, k = 0, 1, ..., that
// goka's partitioner sends to the partition of s's key.
func (k *partitionKeys) piece(s int32, n int) string {
	base := k.key(s)
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := 0; ; i++ {
		key := fmt.Sprintf("%s#%d/%d", base, n, i)
		if at, _ := k.part.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, k.n); at == s%k.n {
			return key
		}
	}
}

// GokaLogger returns a goka.Logger that writes to log at debug level: goka
// logs its routine steps (partitions starting, recovering, stopping) through
// it, with the errors that matter returned to the service as well.
func GokaLogger(log *slog.Logger) goka.Logger { return gokaLogger{log} }

// gokaLogger sends goka's and sarama's chatter to slog at debug level; what
// matters to an operator the service logs itself.
type gokaLogger struct{ log *slog.Logger }

func (l gokaLogger) Print(v ...any)   { l.log.Debug(fmt.Sprint(v...), "source", "goka") }
func (l gokaLogger) Println(v ...any) { l.log.Debug(fmt.Sprint(v...), "source", "goka") }
func (l gokaLogger) Printf(format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...), "source", "goka")
}
