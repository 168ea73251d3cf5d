package cluster

import (
	"encoding/binary"
	"fmt"

	"github.com/IBM/sarama"
)

// A probe reads the partition in fetches of up to probeFetchBytes, at most
// probeFetches of them, and stops at the first data record. Markers are a
// few dozen bytes each, so the first fetch decides nearly always; a partition
// whose leftovers outgrow the probe (a large aborted transaction) counts as
// behind, the safe answer, and is probed again later.
const (
	probeFetchBytes = 64 << 10
	probeFetches    = 16
)

// controlAbort is the type of a control record that ends an aborted
// transaction (Kafka's ControlRecordType ABORT; COMMIT is 1).
const controlAbort = 0

// CaughtUpTo reports whether a read-committed consumer whose next offset is
// next has nothing left to read below the partition's high-water mark.
//
// A consumer's next offset trails the high-water mark for good when the
// partition ends in records it never sees: the commit or abort markers of
// transactional producers (Kafka Connect with exactly-once sources, Kafka
// Streams with exactly-once, oscheck ship, oscheck itself), and the records
// of aborted transactions. sarama consumes them silently and does not say how
// far it has read, so the broker is asked, with read-committed fetches from
// next, which return no more than the last stable offset. The partition is
// caught up when that offset is the high-water mark (no transaction is open:
// its records may yet commit) and no committed data record lies between next
// and the high-water mark.
func CaughtUpTo(client sarama.Client, topic string, partition int32, next int64) (bool, error) {
	broker, err := client.Leader(topic, partition)
	if err != nil {
		return false, fmt.Errorf("leader of %s/%d: %w", topic, partition, err)
	}
	r := newCommittedReader(broker, topic, partition, next)
	for range probeFetches {
		block, err := r.fetch(probeFetchBytes)
		if err != nil {
			return false, fmt.Errorf("probe: %w", err)
		}
		if block.LastStableOffset < block.HighWaterMarkOffset {
			return false, nil
		}
		from := r.reached
		data := false
		r.read(block, func(int64, *sarama.Record) bool { data = true; return false })
		if data {
			return false, nil
		}
		if r.reached >= block.HighWaterMarkOffset {
			return true, nil
		}
		if r.reached == from {
			return false, nil // a batch larger than a fetch: not worth reading on
		}
	}
	return false, nil
}

// committedReader reads a partition forward with read-committed fetches and
// tells its committed data records apart from what a consumer skips: control
// markers and the records of aborted transactions. A producer's
// transactional batches are aborted from the first offset a response lists
// for it up to its abort marker, as a Kafka consumer decides it.
type committedReader struct {
	broker    *sarama.Broker
	topic     string
	partition int32
	next      int64 // records below it are not reported
	reached   int64 // just past the last batch read
	aborting  map[int64]bool
	aborts    []*sarama.AbortedTransaction // of the last response, not yet passed
}

func newCommittedReader(b *sarama.Broker, topic string, partition int32, next int64) *committedReader {
	return &committedReader{broker: b, topic: topic, partition: partition, next: next, reached: next,
		aborting: make(map[int64]bool)}
}

// fetch asks for up to maxBytes from where the reader has reached, read
// committed: nothing at or past the last stable offset comes back.
func (r *committedReader) fetch(maxBytes int32) (*sarama.FetchResponseBlock, error) {
	req := &sarama.FetchRequest{Version: 4, MaxBytes: maxBytes, Isolation: sarama.ReadCommitted}
	req.AddBlock(r.topic, r.partition, r.reached, maxBytes, -1)
	resp, err := r.broker.Fetch(req)
	if err != nil {
		return nil, fmt.Errorf("fetch of %s/%d at %d: %w", r.topic, r.partition, r.reached, err)
	}
	block := resp.GetBlock(r.topic, r.partition)
	if block == nil {
		return nil, fmt.Errorf("fetch of %s/%d: no partition in the response", r.topic, r.partition)
	}
	if block.Err != sarama.ErrNoError {
		return nil, fmt.Errorf("fetch of %s/%d at %d: %w", r.topic, r.partition, r.reached, block.Err)
	}
	return block, nil
}

// read passes each committed data record of block at or after next to f, in
// offset order, until f returns false, and advances reached past the batches
// it went through. A legacy message set (never transactional) counts as data
// at reached, without a record.
func (r *committedReader) read(block *sarama.FetchResponseBlock, f func(offset int64, rec *sarama.Record) bool) {
	aborts := block.AbortedTransactions
	for _, rs := range block.RecordsSet {
		b := rs.RecordBatch
		if b == nil {
			f(r.reached, nil)
			return
		}
		for len(aborts) > 0 && aborts[0].FirstOffset <= b.LastOffset() {
			r.aborting[aborts[0].ProducerID] = true
			aborts = aborts[1:]
		}
		switch {
		case b.Control:
			if len(b.Records) > 0 && controlType(b.Records[0].Key) == controlAbort {
				delete(r.aborting, b.ProducerID)
			}
		case b.IsTransactional && r.aborting[b.ProducerID]:
		default:
			for _, rec := range b.Records {
				if off := b.FirstOffset + rec.OffsetDelta; off >= r.next && !f(off, rec) {
					return
				}
			}
		}
		r.reached = max(r.reached, b.LastOffset()+1)
	}
}

// controlType reads a control record's key: a version, then the type, both
// big-endian int16. A key too short to hold one reads as -1, no known type.
func controlType(key []byte) int16 {
	if len(key) < 4 {
		return -1
	}
	return int16(binary.BigEndian.Uint16(key[2:4]))
}
