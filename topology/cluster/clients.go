package cluster

import (
	"crypto/tls"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// Clients makes the configuration of every sarama client of one service: its
// processors, view, emitters, topic managers, admin clients and probes. Each
// call returns a new configuration, as goka's builders write into the one
// they are given. Make it with NewClients.
type Clients struct {
	// Brokers are the bootstrap brokers.
	Brokers []string
	// ClientID is Kafka's client.id of every client.
	ClientID string
	// InstanceID is the consumer groups' static membership
	// (group.instance.id); empty: dynamic membership.
	InstanceID string
	// OffsetReset is where a group without committed offsets starts reading
	// the input: "earliest" or "latest".
	OffsetReset string
	// Security is how every client authenticates and encrypts.
	Security Security
	// RecordLimit is the smallest max.message.bytes of the topics the
	// service writes (RecordLimit), within which producers batch; 0 until
	// known. Configurations made after it is set keep within it.
	RecordLimit int64

	tls *tls.Config // read from Security's files once, by NewClients
}

// NewClients reads c.Security's TLS files once, for every configuration
// made from the result. Its errors are those of Security.TLSConfig.
func NewClients(c Clients) (*Clients, error) {
	t, err := c.Security.TLSConfig()
	if err != nil {
		return nil, err
	}
	c.tls = t
	return &c, nil
}

// Sarama returns a new client configuration for one processor, view,
// emitter, admin client or probe, secured as configured.
func (c *Clients) Sarama() *sarama.Config {
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
	if c.RecordLimit > 0 {
		// A batch at most what the smallest topic takes (the broker
		// measures batches, headers included, against it).
		s.Producer.MaxMessageBytes = int(min(int64(s.Producer.MaxMessageBytes), c.RecordLimit-recordBatchOverhead))
	}
	TuneConsumer(s)
	c.Security.apply(s, c.tls)
	return s
}

// recordBatchOverhead is what a record batch's header adds to its records
// (61 bytes in Kafka's v2 format), rounded up.
const recordBatchOverhead = 128

// ConsumerGroup is Sarama for a stage's consumer group. autoCommit is how
// often sarama commits the offsets marked; 0: never (under exactly_once_v2
// they are committed in the stage's transactions only). A group that reads
// a topic the service writes itself (internal: the window stage's
// repartition topic) starts a partition without a committed offset at its
// earliest, whatever OffsetReset says, as Kafka Streams reads its
// repartition topics: "latest" would skip the first reports of windows the
// parse stage counted, and those windows would never complete.
func (c *Clients) ConsumerGroup(internal bool, autoCommit time.Duration) *sarama.Config {
	s := c.Sarama()
	if internal {
		s.Consumer.Offsets.Initial = sarama.OffsetOldest
	} else {
		// sarama notices that the input gained partitions, and rebalances
		// the group onto them, when its metadata, refreshed this often,
		// says so (Kafka's own consumers: metadata.max.age.ms, 5 min). The
		// window stage waits for the new partitions from the moment it
		// learns of them, so every second here is a second of windows held
		// back. Only the topics the group reads are asked for.
		s.Metadata.RefreshFrequency = inputRefresh
		s.Metadata.Full = false
	}
	s.Consumer.Offsets.AutoCommit.Enable = autoCommit > 0
	if autoCommit > 0 {
		s.Consumer.Offsets.AutoCommit.Interval = autoCommit
	}
	return s
}

// inputRefresh is how often the group that reads the input refreshes its
// metadata, and so learns that the input gained partitions.
const inputRefresh = 2 * time.Second

// Producer is Sarama for a producer: idempotent, so that a batch the broker
// appended but whose answer a dropped connection lost is not appended again
// when sarama retries it (Kafka's enable.idempotence, on by default in
// Kafka's own clients since 3.0). Idempotence needs at most one request in
// flight per connection, which only the producer's own client gets: on the
// consumer group's, heartbeats would wait longer behind fetches and commits.
func (c *Clients) Producer() *sarama.Config {
	s := c.Sarama()
	s.Producer.Idempotent = true
	s.Net.MaxOpenRequests = 1
	return s
}

// TuneConsumer sets a sarama consumer's buffering, as measured with
// cmd/bench (README, Performance); exported so the benchmark can give its
// goka baseline the same advantage. sarama sends a broker's next fetch only
// once every partition's part of the previous response has been pushed into
// the partition's message channel; with goka's 256 messages, the callbacks
// sit idle through every fetch round trip. 1024 messages keep them busy
// meanwhile. Fetches of 512 KiB per partition (not 1 MiB) halve the memory
// responses pin at a small cost in CPU.
func TuneConsumer(c *sarama.Config) {
	c.ChannelBufferSize = 1024
	c.Consumer.Fetch.Default = 512 << 10
}
