package topology

import (
	"encoding/binary"
	"fmt"

	"github.com/IBM/sarama"
)

// probeFetchBytes bounds a probe's response. A probe looks for the first
// data record at or after an offset; when the response is cut short before
// the high-water mark without one, the partition counts as behind, which is
// the safe answer.
const probeFetchBytes = 1 << 20

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
// has read, so the broker is asked: one read-committed fetch from next, which
// returns no more than the last stable offset. The partition is caught up
// when that offset is the high-water mark (no transaction is open: its
// records may yet commit) and the fetch holds no committed data record from
// next on.
func caughtUpTo(client sarama.Client, topic string, partition int32, next int64) (bool, error) {
	broker, err := client.Leader(topic, partition)
	if err != nil {
		return false, fmt.Errorf("leader of %s/%d: %w", topic, partition, err)
	}
	req := &sarama.FetchRequest{Version: 4, MaxBytes: probeFetchBytes, Isolation: sarama.ReadCommitted}
	req.AddBlock(topic, partition, next, probeFetchBytes, -1)
	resp, err := broker.Fetch(req)
	if err != nil {
		return false, fmt.Errorf("probe fetch of %s/%d at %d: %w", topic, partition, next, err)
	}
	block := resp.GetBlock(topic, partition)
	if block == nil {
		return false, fmt.Errorf("probe fetch of %s/%d: no partition in the response", topic, partition)
	}
	if block.Err != sarama.ErrNoError {
		return false, fmt.Errorf("probe fetch of %s/%d at %d: %w", topic, partition, next, block.Err)
	}
	if block.LastStableOffset < block.HighWaterMarkOffset {
		return false, nil
	}
	return noDataBefore(block, next, block.HighWaterMarkOffset), nil
}

// noDataBefore reports whether block's records, read with read-committed
// semantics, reach end without a committed data record at or after next.
// Aborted transactions are tracked the way a consumer does: a producer's
// transactional batches are aborted from the first offset the response lists
// for it up to its abort marker.
func noDataBefore(block *sarama.FetchResponseBlock, next, end int64) bool {
	aborts := block.AbortedTransactions
	aborting := make(map[int64]bool)
	reached := next
	for _, rs := range block.RecordsSet {
		b := rs.RecordBatch
		if b == nil {
			return false // a legacy message set: never transactional, so data
		}
		for len(aborts) > 0 && aborts[0].FirstOffset <= b.LastOffset() {
			aborting[aborts[0].ProducerID] = true
			aborts = aborts[1:]
		}
		switch {
		case b.Control:
			if len(b.Records) > 0 && controlType(b.Records[0].Key) == controlAbort {
				delete(aborting, b.ProducerID)
			}
		case b.IsTransactional && aborting[b.ProducerID]:
		default:
			for _, r := range b.Records {
				if b.FirstOffset+r.OffsetDelta >= next {
					return false
				}
			}
		}
		reached = max(reached, b.LastOffset()+1)
	}
	return reached >= end
}

// controlType reads a control record's key: a version, then the type, both
// big-endian int16. A key too short to hold one reads as -1, no known type.
func controlType(key []byte) int16 {
	if len(key) < 4 {
		return -1
	}
	return int16(binary.BigEndian.Uint16(key[2:4]))
}
