package topology

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

// caughtUpTo reports whether a read-committed consumer whose next offset is
// next has nothing left to read below the partition's high-water mark.
//
// A consumer's next offset trails the high-water mark for good when the
// partition ends in records it never sees: the commit or abort markers of
// transactional producers (Kafka Connect with exactly-once sources, Kafka
// Streams with exactly-once, oscheck ship), and the records of aborted
// transactions. sarama consumes them silently and does not say how far it
// has read, so the broker is asked, with read-committed fetches from next,
// which return no more than the last stable offset. The partition is caught
// up when that offset is the high-water mark (no transaction is open: its
// records may yet commit) and no committed data record lies between next and
// the high-water mark.
func caughtUpTo(client sarama.Client, topic string, partition int32, next int64) (bool, error) {
	broker, err := client.Leader(topic, partition)
	if err != nil {
		return false, fmt.Errorf("leader of %s/%d: %w", topic, partition, err)
	}
	r := residue{next: next, reached: next, aborting: make(map[int64]bool)}
	for range probeFetches {
		req := &sarama.FetchRequest{Version: 4, MaxBytes: probeFetchBytes, Isolation: sarama.ReadCommitted}
		req.AddBlock(topic, partition, r.reached, probeFetchBytes, -1)
		resp, err := broker.Fetch(req)
		if err != nil {
			return false, fmt.Errorf("probe fetch of %s/%d at %d: %w", topic, partition, r.reached, err)
		}
		block := resp.GetBlock(topic, partition)
		if block == nil {
			return false, fmt.Errorf("probe fetch of %s/%d: no partition in the response", topic, partition)
		}
		if block.Err != sarama.ErrNoError {
			return false, fmt.Errorf("probe fetch of %s/%d at %d: %w", topic, partition, r.reached, block.Err)
		}
		if block.LastStableOffset < block.HighWaterMarkOffset {
			return false, nil
		}
		from := r.reached
		if r.read(block) {
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

// residue reads what a consumer would skip after next, fetch by fetch,
// tracking aborted transactions as a consumer does: a producer's
// transactional batches are aborted from the first offset a response lists
// for it up to its abort marker.
type residue struct {
	next     int64
	reached  int64 // just past the last batch read
	aborting map[int64]bool
}

// read goes through one response's batches and reports whether one holds a
// committed data record at or after next.
func (r *residue) read(block *sarama.FetchResponseBlock) (data bool) {
	aborts := block.AbortedTransactions
	for _, rs := range block.RecordsSet {
		b := rs.RecordBatch
		if b == nil {
			return true // a legacy message set: never transactional, so data
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
				if b.FirstOffset+rec.OffsetDelta >= r.next {
					return true
				}
			}
		}
		r.reached = max(r.reached, b.LastOffset()+1)
	}
	return false
}

// controlType reads a control record's key: a version, then the type, both
// big-endian int16. A key too short to hold one reads as -1, no known type.
func controlType(key []byte) int16 {
	if len(key) < 4 {
		return -1
	}
	return int16(binary.BigEndian.Uint16(key[2:4]))
}
