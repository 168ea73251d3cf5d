package topology

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
)

// transactionTimeout is how long the brokers let a transaction stay open
// before they abort it. Read-committed readers of every partition the
// transaction wrote wait for it, so an instance that dies with one open holds
// them back this long at most (unless it comes back under the same
// transactional id first, which aborts it at once). Kafka Streams sets 10 s
// under exactly-once for the same reason.
const transactionTimeout = 10 * time.Second

// txnProducer is a stage's goka.Producer under exactly_once_v2: one sarama
// transactional producer that carries everything the stage writes (goka's
// emits and table changelog writes, and the parse stage's reports and
// checkpoints) in the transaction of the moment. It is always inside a
// transaction: begun when the producer starts and again at once after each
// commit or abort, so goka can emit at any time the gate lets it.
//
// A promise resolves when the broker has the record, which is not yet a
// commit: what a stage does on a promise (goka marks the record) must not
// be taken as durable. A record the producer fails to write fails its
// promise, which stops goka's processor; the transaction then can only abort.
type txnProducer struct {
	p       sarama.AsyncProducer
	id      string
	sent    atomic.Int64 // records handed over since the last commit or abort
	drained sync.WaitGroup
	// dropping, after an abort and until resume, resolves every emit at
	// once without sending it: it belongs to the session the abort ended.
	dropping atomic.Bool
}

// newTxnProducer starts a producer with transactional id id, fencing any
// older one with the same id (and aborting what it left open).
func newTxnProducer(brokers []string, cfg *sarama.Config, id string) (*txnProducer, error) {
	cfg.Producer.Transaction.ID = id
	cfg.Producer.Transaction.Timeout = transactionTimeout
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Net.MaxOpenRequests = 1
	// A record that cannot be written within a few seconds dooms its
	// transaction: the stage is better off starting over from what was
	// committed than retrying for the 30 s the other clients ride out (a
	// commit, and closing the producer, wait for every record's retries).
	cfg.Producer.Retry.Max = 10
	// No linger: a commit waits for every record sent, and most of a
	// stage's records are sent just before it (the parse stage's reports and
	// checkpoints). Records sent while a request is in flight still batch.
	cfg.Producer.Flush.Frequency, cfg.Producer.Flush.Bytes, cfg.Producer.Flush.Messages = 0, 0, 0
	p, err := sarama.NewAsyncProducer(brokers, cfg)
	if err != nil {
		return nil, fmt.Errorf("transactional producer %q: %w", id, err)
	}
	if err := p.BeginTxn(); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("transactional producer %q: beginning a transaction: %w", id, err)
	}
	tp := &txnProducer{p: p, id: id}
	tp.drained.Add(2)
	go tp.resolve(func(yield func(*sarama.ProducerMessage, error) bool) {
		for m := range p.Successes() {
			if !yield(m, nil) {
				return
			}
		}
	})
	go tp.resolve(func(yield func(*sarama.ProducerMessage, error) bool) {
		for e := range p.Errors() {
			if !yield(e.Msg, e.Err) {
				return
			}
		}
	})
	return tp, nil
}

// resolve finishes the promise of every record that comes back.
func (tp *txnProducer) resolve(results func(func(*sarama.ProducerMessage, error) bool)) {
	defer tp.drained.Done()
	for m, err := range results {
		if finish, ok := m.Metadata.(goka.PromiseFinisher); ok {
			finish(m, err)
		}
	}
}

// Emit implements goka.Producer.
func (tp *txnProducer) Emit(topic, key string, value []byte) *goka.Promise {
	return tp.EmitWithHeaders(topic, key, value, nil)
}

// EmitWithHeaders implements goka.Producer.
func (tp *txnProducer) EmitWithHeaders(topic, key string, value []byte, headers goka.Headers) *goka.Promise {
	promise, finish := goka.NewPromiseWithFinisher()
	if tp.dropping.Load() {
		return finish(nil, nil)
	}
	tp.send(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: valueEncoder(value),
		Headers: headers.ToSarama(), Metadata: finish})
	return promise
}

// send hands m to the current transaction.
func (tp *txnProducer) send(m *sarama.ProducerMessage) {
	tp.sent.Add(1)
	tp.p.Input() <- m
}

// valueEncoder keeps a nil value nil: a table delete is a tombstone.
func valueEncoder(v []byte) sarama.Encoder {
	if v == nil {
		return nil
	}
	return sarama.ByteEncoder(v)
}

// commit adds offsets to the transaction, commits it (sarama first waits
// for every record sent to be acknowledged) and begins the next one. On an
// error nothing of the transaction is visible, or will be once it is
// aborted; abort must be called.
func (tp *txnProducer) commit(offsets map[string][]*sarama.PartitionOffsetMetadata, group *sarama.ConsumerGroupMetadata) error {
	if len(offsets) > 0 {
		if err := tp.p.AddOffsetsToTxnWithGroupMetadata(offsets, group); err != nil {
			return fmt.Errorf("adding offsets to the transaction: %w", err)
		}
	}
	if err := tp.p.CommitTxn(); err != nil {
		return fmt.Errorf("committing the transaction: %w", err)
	}
	tp.sent.Store(0)
	if err := tp.p.BeginTxn(); err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	return nil
}

// abort aborts the transaction and drops what is emitted until resume. It
// fails when the producer can no longer write (fenced by a newer producer
// with its transactional id, or refused by the broker for good): the stage
// must then start again with a new producer.
func (tp *txnProducer) abort() error {
	tp.dropping.Store(true)
	status := tp.p.TxnStatus()
	if status&sarama.ProducerTxnFlagFatalError != 0 {
		return fmt.Errorf("transactional producer %q cannot continue (status %s)", tp.id, status)
	}
	if status&(sarama.ProducerTxnFlagInTransaction|sarama.ProducerTxnFlagInError) != 0 {
		if err := tp.p.AbortTxn(); err != nil {
			return fmt.Errorf("aborting the transaction: %w", err)
		}
	}
	tp.sent.Store(0)
	return nil
}

// resume begins a transaction after an abort, for a new session.
func (tp *txnProducer) resume() error {
	if !tp.dropping.Load() {
		return nil
	}
	if err := tp.p.BeginTxn(); err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	tp.dropping.Store(false)
	return nil
}

// Close aborts what is open (the gate commits what is done before goka
// closes its producer) and closes the producer once every record sent has
// come back.
func (tp *txnProducer) Close() error {
	var errs []error
	if tp.p.TxnStatus()&sarama.ProducerTxnFlagInTransaction != 0 && tp.sent.Load() > 0 {
		if err := tp.p.AbortTxn(); err != nil {
			errs = append(errs, fmt.Errorf("aborting the open transaction: %w", err))
		}
	}
	tp.p.AsyncClose()
	tp.drained.Wait()
	return errors.Join(errs...)
}
