package topology

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/oscheck/oscheck/topology/cluster"
)

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
	client, err := sarama.NewClient(s.cfg.Brokers, s.clients.Sarama())
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
				topic, s.cfg.Security.Principal(), err)
		}
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return 0, 0, fmt.Errorf("creating topic %q: %w", topic, err)
		}
	}
	if s.clients.RecordLimit, err = cluster.RecordLimit(admin, s.writes(), s.log); err != nil {
		return 0, 0, err
	}
	return sources, slots, nil
}

// writes are the topics the service writes.
func (s *Service) writes() []string {
	topics := []string{string(s.topics.Output), string(s.topics.Repartition), string(goka.GroupTable(s.topics.WindowGroup)),
		string(s.topics.Changelog), string(s.topics.DeadLetter)}
	if s.topics.Late != "" {
		topics = append(topics, string(s.topics.Late))
	}
	return topics
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
