package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// FetchBytes bounds each fetch of the committed-record readers. The topics
// they read (the window table, the parse stage's changelog) hold per-window
// values, so a few tail records fit in one fetch.
const FetchBytes = 1 << 20

// LastCommitted finds a partition's last committed data record, as a
// read-committed consumer would see it: its offset and value, or offset -1
// when the partition holds none. It reads back from the last stable offset
// (the first offset of the oldest transaction still open, or the high-water
// mark) in windows that double until one holds such a record or the log
// start is reached: the tail of a transactional topic is commit markers, and
// after a crash perhaps an aborted transaction.
func LastCommitted(client sarama.Client, topic string, partition int32) (offset int64, value []byte, err error) {
	return LastCommittedOf(client, topic, partition, nil)
}

// LastCommittedOf is LastCommitted of the records with key, or of any
// record if key is nil: a topic where several keys share a partition (the
// parse stage's changelog after the input gained partitions).
func LastCommittedOf(client sarama.Client, topic string, partition int32, key []byte) (offset int64, value []byte, err error) {
	broker, err := client.Leader(topic, partition)
	if err != nil {
		return -1, nil, fmt.Errorf("leader of %s/%d: %w", topic, partition, err)
	}
	oldest, err := client.GetOffset(topic, partition, sarama.OffsetOldest)
	if err != nil {
		return -1, nil, fmt.Errorf("log start of %s/%d: %w", topic, partition, err)
	}
	lso, err := lastStableOffset(broker, topic, partition)
	if err != nil {
		return -1, nil, err
	}
	span := int64(16)
	for to := lso; to > oldest; span *= 2 {
		from := max(oldest, to-span)
		offset, value, err := lastCommittedIn(broker, topic, partition, from, to, key)
		if err != nil || offset >= 0 {
			return offset, value, err
		}
		to = from
	}
	return -1, nil, nil
}

// lastCommittedIn returns the last committed data record in [from, to)
// with key (any if nil).
func lastCommittedIn(b *sarama.Broker, topic string, partition int32, from, to int64, key []byte) (offset int64, value []byte, err error) {
	offset = -1
	err = committedIn(b, topic, partition, from, to, func(off int64, rec *sarama.Record) {
		if key == nil || bytes.Equal(rec.Key, key) {
			offset, value = off, rec.Value
		}
	})
	if err != nil {
		return -1, nil, err
	}
	return offset, value, nil
}

// committedIn passes each committed data record in [from, to) to each, in
// offset order.
func committedIn(b *sarama.Broker, topic string, partition int32, from, to int64, each func(offset int64, rec *sarama.Record)) error {
	r := newCommittedReader(b, topic, partition, from)
	for past := false; r.reached < to && !past; {
		block, err := r.fetch(FetchBytes)
		if err != nil {
			return err
		}
		before := r.reached
		r.read(block, func(off int64, rec *sarama.Record) bool {
			if past = off >= to; past || rec == nil {
				// Past the range, or a legacy message set: not written
				// by a transactional producer, so not ours.
				return false
			}
			each(off, rec)
			return true
		})
		if r.reached == before && !past {
			if block.LastStableOffset <= r.reached || len(block.RecordsSet) == 0 {
				break // nothing more below the last stable offset
			}
			return fmt.Errorf("reading %s/%d at %d: a record batch larger than %d bytes", topic, partition, r.reached, FetchBytes)
		}
	}
	return nil
}

// LastCommittedBefore returns, for each of keys, the value of its last
// committed record below offset to (nil if none), reading back from there
// once for all of them, in windows that double until every key is found or
// the log start is reached.
func LastCommittedBefore(client sarama.Client, topic string, partition int32, to int64, keys [][]byte) ([][]byte, error) {
	values := make([][]byte, len(keys))
	index := make(map[string]int, len(keys))
	for i, k := range keys {
		index[string(k)] = i
	}
	broker, err := client.Leader(topic, partition)
	if err != nil {
		return nil, fmt.Errorf("leader of %s/%d: %w", topic, partition, err)
	}
	oldest, err := client.GetOffset(topic, partition, sarama.OffsetOldest)
	if err != nil {
		return nil, fmt.Errorf("log start of %s/%d: %w", topic, partition, err)
	}
	missing := len(keys)
	span := int64(max(16, 2*len(keys)))
	for ; to > oldest && missing > 0; span *= 2 {
		from := max(oldest, to-span)
		// The last of each key in [from, to); a later window's wins.
		found := make(map[int][]byte)
		err := committedIn(broker, topic, partition, from, to, func(_ int64, rec *sarama.Record) {
			if i, ok := index[string(rec.Key)]; ok && values[i] == nil {
				found[i] = rec.Value
			}
		})
		if err != nil {
			return nil, err
		}
		for i, v := range found {
			if v == nil {
				v = []byte{} // a tombstone: found, empty
			}
			values[i] = v
			missing--
		}
		to = from
	}
	return values, nil
}

// lastStableOffset asks the partition's leader for its last stable offset
// (ListOffsets, latest, isolation read_committed).
func lastStableOffset(b *sarama.Broker, topic string, partition int32) (int64, error) {
	req := &sarama.OffsetRequest{Version: 2, IsolationLevel: sarama.ReadCommitted}
	req.AddBlock(topic, partition, sarama.OffsetNewest, 1)
	resp, err := b.GetAvailableOffsets(req)
	if err != nil {
		return -1, fmt.Errorf("last stable offset of %s/%d: %w", topic, partition, err)
	}
	block := resp.GetBlock(topic, partition)
	if block == nil {
		return -1, fmt.Errorf("last stable offset of %s/%d: no partition in the response", topic, partition)
	}
	if !errors.Is(block.Err, sarama.ErrNoError) {
		return -1, fmt.Errorf("last stable offset of %s/%d: %w", topic, partition, block.Err)
	}
	return block.Offset, nil
}

// Settle waits until no transaction is open on a partition: its last
// stable offset has reached its high-water mark. A stage that takes over a
// partition asks it of the changelog it restores from: the previous owner,
// if it lost the partition without knowing (a zombie), may have a
// transaction open there that will still commit, or abort when the brokers
// time it out. Restoring before it is decided could miss state that the
// offsets the stage starts from already count. It gives up after within and
// says so; the restore then reads what is committed by then.
func Settle(client sarama.Client, topic string, partition int32, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		broker, err := client.Leader(topic, partition)
		if err != nil {
			return fmt.Errorf("leader of %s/%d: %w", topic, partition, err)
		}
		lso, err := lastStableOffset(broker, topic, partition)
		if err != nil {
			return err
		}
		hwm, err := client.GetOffset(topic, partition, sarama.OffsetNewest)
		if err != nil {
			return fmt.Errorf("high-water mark of %s/%d: %w", topic, partition, err)
		}
		if lso >= hwm {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/%d still has a transaction open at offset %d after %v", topic, partition, lso, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stableTopicManager is goka's topic manager with one answer changed: the
// newest offset of a partition is one past its last committed data record.
// goka restores a table (and a view catches up) until it has read the record
// just below the newest offset. Under read_committed that is never the
// high-water mark's: a transactional partition ends in a commit marker, and
// perhaps an open or aborted transaction, none of which a consumer is ever
// handed; a restore to the high-water mark would wait for ever.
type stableTopicManager struct {
	goka.TopicManager
	client sarama.Client
}

// StableTopicManagerBuilder wraps inner's topic managers; each gets a client
// of its own from cfg.
func StableTopicManagerBuilder(inner goka.TopicManagerBuilder, cfg func() *sarama.Config) goka.TopicManagerBuilder {
	return func(brokers []string) (goka.TopicManager, error) {
		tm, err := inner(brokers)
		if err != nil {
			return nil, err
		}
		client, err := sarama.NewClient(brokers, cfg())
		if err != nil {
			_ = tm.Close()
			return nil, fmt.Errorf("topic manager client: %w", err)
		}
		return &stableTopicManager{TopicManager: tm, client: client}, nil
	}
}

// GetOffset answers OffsetNewest with the stable end; other times as goka
// does.
func (m *stableTopicManager) GetOffset(topic string, partition int32, time int64) (int64, error) {
	if time != sarama.OffsetNewest {
		return m.TopicManager.GetOffset(topic, partition, time)
	}
	last, _, err := LastCommitted(m.client, topic, partition)
	if err != nil {
		return 0, err
	}
	if last < 0 {
		return m.TopicManager.GetOffset(topic, partition, sarama.OffsetOldest)
	}
	return last + 1, nil
}

// Close closes the topic manager and its client.
func (m *stableTopicManager) Close() error {
	return errors.Join(m.TopicManager.Close(), m.client.Close())
}
