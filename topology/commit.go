package topology

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/oscheck/oscheck/topology/cluster"
)

// txnCommits is what a gate needs to run its stage under exactly_once_v2:
// the stage's transactional producer and what goes into each transaction
// besides goka's emits.
//
// Every commit interval the gate stops the stage's records at their
// partitions' doors (each record is processed holding its partition's lock;
// the commit takes them all), so that the transaction holds every effect of
// the records its offsets cover and nothing else. It then sends what
// precommit has to send, adds the partitions' positions to the transaction
// with the session's generation and member id (a member that has lost its
// partitions is refused, KIP-447), and commits.
//
// A transaction that fails is aborted and ends the session: the records it
// covered have changed in-memory state (the parse stage's windows, goka's
// table cache) that is now ahead of what is committed, so the session's
// partitions are dropped and the next session rebuilds them from the
// committed changelogs and offsets. A producer that can no longer write at
// all (fenced by a newer one with its transactional id) ends the stage.
type txnCommits struct {
	group      string
	instanceID *string
	// precommit, if not nil, returns records to send in each transaction
	// just before it commits, with every partition's records stopped.
	precommit func() ([]*sarama.ProducerMessage, error)
	// verify, if not nil, is asked before each transaction that holds
	// anything commits: an error aborts it, and a KeyError ends the stage.
	verify func() error
	// metadata, if not nil, gives the metadata committed with a
	// partition's offset.
	metadata func(partition int32) string
	commits  func(committed bool) // counts commits and aborts
	// urgent asks for a commit soon after every record (Soon): the window
	// stage's records are reports, few, and each may finalise windows.
	urgent bool

	producer atomic.Pointer[txnProducer]
	mu       sync.Mutex    // one commit at a time
	fatal    chan error    // the stage cannot go on
	hurry    chan struct{} // see Soon
}

// minCommitGap is the least time between two commits that Soon asks for:
// each commit stops the stage's records for a few milliseconds.
const minCommitGap = 20 * time.Millisecond

func newTxnCommits(group, instanceID string, counted func(committed bool)) *txnCommits {
	t := &txnCommits{group: group, commits: counted, fatal: make(chan error, 1), hurry: make(chan struct{}, 1)}
	if instanceID != "" {
		t.instanceID = &instanceID
	}
	return t
}

// producerBuilder builds the stage's transactional producer for goka; goka
// builds one each time its processor runs. denied is the error to return
// when the ACLs deny the producer its transactional id.
func (t *txnCommits) producerBuilder(cfg func() *sarama.Config, id string, denied error) goka.ProducerBuilder {
	return func(brokers []string, clientID string, hasher func() hash.Hash32) (goka.Producer, error) {
		c := cfg()
		c.ClientID = clientID
		c.Producer.Partitioner = sarama.NewCustomHashPartitioner(hasher)
		tp, err := newTxnProducer(brokers, c, id)
		if errors.Is(err, sarama.ErrTransactionalIDAuthorizationFailed) || errors.Is(err, sarama.ErrClusterAuthorizationFailed) {
			// goka keeps only the text of its builders' errors; the stage
			// ends with this one, which a retry would meet again.
			err = fmt.Errorf("%w (%w)", denied, err)
			t.fail(err)
			return nil, err
		}
		if err != nil {
			return nil, err
		}
		t.producer.Store(tp)
		return tp, nil
	}
}

// wrap returns cb run under its partition's lock, recording the position
// after it. Under at_least_once it returns cb.
func (g *gate) wrap(cb goka.ProcessCallback) goka.ProcessCallback {
	if g.txn == nil {
		return cb
	}
	return func(ctx goka.Context, msg any) {
		s := g.current.Load()
		p := ctx.Partition()
		if s == nil || int(p) >= len(s.parts) {
			// Not a partition of the current session: goka is stopping
			// it, and the partition's next owner reads the record again.
			return
		}
		part := &s.parts[p]
		part.mu.Lock()
		defer part.mu.Unlock()
		if s.failed.Load() {
			// The session's transaction aborted: its state is dropped, and
			// the next session reads this record again.
			return
		}
		cb(ctx, msg)
		part.pos = ctx.Offset() + 1
		if g.txn.urgent {
			g.txn.Soon()
		}
	}
}

// Soon asks for a commit within minCommitGap rather than at the next tick:
// the transaction holds what a reader waits for (a window's report, a final),
// and nothing is visible to read_committed readers before it commits.
func (t *txnCommits) Soon() {
	select {
	case t.hurry <- struct{}{}:
	default:
	}
}

// runCommits commits the current session's transaction every interval, and
// sooner when asked (Soon), until ctx is done; it returns an error only when
// the stage cannot go on.
func (g *gate) runCommits(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-g.txn.fatal:
			return err
		case <-t.C:
		case <-g.txn.hurry:
			if wait := time.Until(last.Add(minCommitGap)); wait > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(wait):
				}
			}
		}
		last = time.Now()
		if s := g.current.Load(); s != nil {
			if err := g.commitTxn(s); err != nil {
				return err
			}
		}
	}
}

// commitTxn commits what session s has done since its last commit. It
// returns an error only when the producer cannot go on; a transaction that
// fails is aborted and ends the session instead.
func (g *gate) commitTxn(s *gatedSession) error {
	t := g.txn
	t.mu.Lock()
	defer t.mu.Unlock()
	tp := t.producer.Load()
	if tp == nil || s.failed.Load() {
		return nil
	}
	for i := range s.parts {
		s.parts[i].mu.Lock()
	}
	defer func() {
		for i := range s.parts {
			s.parts[i].mu.Unlock()
		}
	}()
	err := t.prepare(tp)
	// Every transaction that holds a record carries the offsets of every
	// partition the session has claimed, moved or not: its TxnOffsetCommit
	// is where the brokers check the session's generation, so a session the
	// group has moved on from (it was frozen, its heartbeats were lost)
	// cannot commit what its idle closes wrote.
	var offsets []*sarama.PartitionOffsetMetadata
	moved := false
	for i := range s.parts {
		part := &s.parts[i]
		committed := part.committed.Load()
		offset := committed
		if part.pos > committed {
			moved, offset = true, part.pos
		} else if !part.claimed.Load() {
			continue
		}
		o := &sarama.PartitionOffsetMetadata{Partition: int32(i), Offset: offset, LeaderEpoch: -1}
		if t.metadata != nil {
			meta := t.metadata(int32(i))
			o.Metadata = &meta
		}
		offsets = append(offsets, o)
	}
	if err == nil && !moved && tp.sent.Load() == 0 {
		return nil
	}
	if err == nil && t.verify != nil {
		err = t.verify()
	}
	if err == nil {
		g.mu.Lock()
		topic := g.topic
		g.mu.Unlock()
		meta := &sarama.ConsumerGroupMetadata{GroupID: t.group, GenerationID: s.GenerationID(), MemberID: s.MemberID(),
			GroupInstanceID: t.instanceID}
		err = tp.commit(map[string][]*sarama.PartitionOffsetMetadata{topic: offsets}, meta)
	}
	if err == nil {
		for _, o := range offsets {
			s.parts[o.Partition].committed.Store(o.Offset)
		}
		t.commits(true)
		return nil
	}
	t.commits(false)
	s.failed.Store(true)
	s.cancel()
	if g.access != nil && (errors.Is(err, sarama.ErrTopicAuthorizationFailed) || errors.Is(err, sarama.ErrGroupAuthorizationFailed) ||
		errors.Is(err, sarama.ErrTransactionalIDAuthorizationFailed)) {
		// The ACLs changed under the running service: if the brokers now
		// deny what it must do, no new session can do better.
		if denied := g.access(); cluster.Permanent(denied) {
			t.fail(denied)
			return denied
		}
	}
	// Until the next session begins, what the session's records still emit
	// (goka's partitions finish the record at hand) is dropped: it is
	// redone from what was committed.
	if aerr := tp.abort(); aerr != nil {
		err = fmt.Errorf("%w; then %w", err, aerr)
		t.fail(err)
		return err
	}
	// What verify refused (the input grew) no new session can cure.
	if key := (*KeyError)(nil); errors.As(err, &key) {
		t.fail(err)
		return err
	}
	level := slog.LevelWarn
	if errors.Is(err, sarama.ErrIllegalGeneration) || errors.Is(err, sarama.ErrUnknownMemberId) ||
		errors.Is(err, sarama.ErrFencedInstancedId) || errors.Is(err, sarama.ErrRebalanceInProgress) {
		level = slog.LevelInfo // the partitions have moved on: their new owner carries on
	}
	g.log.Log(context.Background(), level, "transaction aborted; the session's partitions restart from what was committed",
		"group", t.group, "generation", s.GenerationID(), "error", err)
	return nil
}

// begin readies the producer for a new session: after an abort it has
// dropped what the failed session emitted, and begins a transaction now.
func (t *txnCommits) begin() {
	if tp := t.producer.Load(); tp != nil {
		if err := tp.resume(); err != nil {
			t.fail(err)
		}
	}
}

// fail ends the stage with err (the first such error wins).
func (t *txnCommits) fail(err error) {
	select {
	case t.fatal <- err:
	default:
	}
}

// prepare sends what precommit has for the transaction.
func (t *txnCommits) prepare(tp *txnProducer) error {
	if t.precommit == nil {
		return nil
	}
	msgs, err := t.precommit()
	if err != nil {
		return fmt.Errorf("preparing the transaction: %w", err)
	}
	for _, m := range msgs {
		tp.send(m)
	}
	return nil
}

// refreshCommitted keeps, under at_least_once, each claimed partition's
// committed offset up to date (sarama commits goka's marks in the
// background and does not say when they arrive): every interval it asks the
// group coordinator. Until it first answers, a partition's committed offset
// is where its claim started, which is never above the truth.
func (g *gate) refreshCommitted(ctx context.Context, group string, every time.Duration) error {
	return onTicks(ctx, every, func() error {
		g.mu.Lock()
		s, client, topic := g.session, g.client, g.topic
		g.mu.Unlock()
		if s == nil || client == nil || topic == "" {
			return nil
		}
		if err := fetchCommitted(client, group, topic, s); err != nil {
			g.log.Debug("reading committed offsets", "group", group, "error", err)
		}
		return nil
	})
}

// onTicks calls f every d until ctx is done (nil) or f fails (its error).
func onTicks(ctx context.Context, d time.Duration, f func() error) error {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := f(); err != nil {
				return err
			}
		}
	}
}

// fetchCommitted reads the committed offsets of s's partitions into s.
func fetchCommitted(client sarama.Client, group, topic string, s *gatedSession) error {
	coordinator, err := client.Coordinator(group)
	if err != nil {
		return fmt.Errorf("coordinator of %s: %w", group, err)
	}
	parts := s.Claims()[topic]
	req := sarama.NewOffsetFetchRequest(client.Config().Version, group, map[string][]int32{topic: parts})
	resp, err := coordinator.FetchOffset(req)
	if err != nil {
		_ = client.RefreshCoordinator(group)
		return fmt.Errorf("fetching offsets of %s: %w", group, err)
	}
	for _, p := range parts {
		b := resp.GetBlock(topic, p)
		if b == nil || b.Err != sarama.ErrNoError || b.Offset < 0 || int(p) >= len(s.parts) {
			continue
		}
		raise(&s.parts[p].committed, b.Offset)
	}
	return nil
}

// committedOffset returns partition's committed offset in the current
// session as last known, or 0 outside a session.
func (g *gate) committedOffset(partition int32) int64 {
	s := g.current.Load()
	if s == nil || int(partition) >= len(s.parts) {
		return 0
	}
	return s.parts[partition].committed.Load()
}
