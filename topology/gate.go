package topology

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/oscheck/oscheck/processor"
	"github.com/oscheck/oscheck/topology/cluster"
)

// gate sits between goka and sarama's consumer group. goka commits a record
// by marking offset+1 on the session it was handed as soon as the record's
// emits are acknowledged; the gate hands goka a session whose MarkOffset
// never marks past the CommitFloor's floor, so the committed offset stays at
// the first record whose effect is not yet durable. It also resets the
// CommitFloor at every new session and keeps the session's claims, whose
// high-water marks tell when a partition has caught up.
//
// Under exactly_once_v2 (txn not nil) goka's marks are not passed on at all:
// the gate commits the stage's positions in the stage's Kafka transactions
// instead (commit.go).
//
// The gate serves one input topic, which both processor groups have.
type gate struct {
	floor processor.CommitFloor
	log   *slog.Logger
	txn   *txnCommits // nil under at_least_once
	// restore, if not nil, rebuilds a partition's state from what was
	// committed, or learns what the stage needs of the partition, before
	// any of its records is consumed; initial is the offset the claim
	// starts at, or -1 if the group has none.
	restore func(partition int32, initial int64) error
	// settled, under exactly_once_v2, are the topics the stage restores
	// its claimed partitions' state from, with their partition counts: a
	// claimed partition p keeps its state on partition p mod the count
	// (the input may have gained partitions since the topic was made).
	// Before the stage restores, each must have no transaction open
	// (settle).
	settled map[string]int32
	// setStarts, if not nil, may move where the session's claims without a
	// committed offset start (newPartitionsFromOldest), before any is
	// consumed.
	setStarts func(s sarama.ConsumerGroupSession) error
	// access, if not nil, asks the brokers whether the service may still
	// use its topics: a session that failed on an authorization error
	// (goka's error chain keeps only the text) is retried only if it may.
	access func() error
	// stopped holds a permanent failure met in a session, which ends
	// Consume, and so the stage, once the session is over.
	stopped chan error

	mu      sync.Mutex
	session *gatedSession                // the current one; nil between sessions
	current atomic.Pointer[gatedSession] // the same, for the record path
	claims  map[int32]sarama.ConsumerGroupClaim
	topic   string
	client  sarama.Client             // the consumer group's, for cluster.CaughtUpTo
	probes  map[int32]*partitionProbe // by partition; see position

	sessions atomic.Int64 // consumer-group sessions begun: one per rebalance
	owned    atomic.Int64 // partitions assigned in the current session
	// starts holds, per claimed partition, the offset its claim started at,
	// with sarama's "oldest" and "newest" resolved to real offsets.
	starts map[int32]int64
}

// partitionProbe remembers, per partition, what position last saw, so that
// the broker is asked only about a partition that has stopped moving, and
// asked again about the same spot at most once per probeEvery.
type partitionProbe struct {
	lastNext  int64     // next at the previous call
	movedAt   time.Time // when next last changed
	next, hwm int64     // what the last probe asked about
	at        time.Time
	caughtUp  bool
}

const (
	// probeAfter is how long a partition must have stood still below its
	// high-water mark before the broker is asked about it. A partition
	// that is behind also stands still now and then, while its goroutine
	// waits for a core or for its emits; probing it then costs a fetch.
	probeAfter = 500 * time.Millisecond
	// probeEvery is how often a partition stuck at the same offset is
	// probed again while its high-water mark does not move either: a
	// transaction still open at the last probe may have ended since.
	probeEvery = time.Second
)

func newGate(c processor.CommitFloor, log *slog.Logger) *gate {
	return &gate{floor: c, log: log, stopped: make(chan error, 1)}
}

// stop ends the stage with err (the first such error wins) once the
// session ends.
func (g *gate) stop(err error) {
	select {
	case g.stopped <- err:
	default:
	}
}

// builder is the goka.ConsumerGroupBuilder of a gated processor.
func (g *gate) builder(cfg *sarama.Config) func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
	return func(brokers []string, group, clientID string) (sarama.ConsumerGroup, error) {
		cfg.ClientID = clientID
		client, err := sarama.NewClient(brokers, cfg)
		if err != nil {
			return nil, fmt.Errorf("consumer group client: %w", err)
		}
		cg, err := sarama.NewConsumerGroupFromClient(group, client)
		if err != nil {
			client.Close()
			return nil, fmt.Errorf("consumer group %s: %w", group, err)
		}
		g.mu.Lock()
		g.client = client
		g.mu.Unlock()
		return &gatedGroup{ConsumerGroup: cg, client: client, gate: g}, nil
	}
}

// settleWithin bounds the wait for a previous owner's open transaction:
// the brokers abort it by then.
const settleWithin = transactionTimeout + 5*time.Second

// settle waits until the partitions of the settled topics that claims
// name have no transaction open, all at once. A partition that does not
// settle is logged and restored from what is committed by then.
func (g *gate) settle(claims map[string][]int32) {
	client := g.consumerClient()
	if g.txn == nil || client == nil {
		return
	}
	type statePartition struct {
		topic     string
		partition int32
	}
	waits := make(map[statePartition]bool)
	for _, parts := range claims {
		for _, p := range parts {
			for topic, n := range g.settled {
				waits[statePartition{topic, p % n}] = true
			}
		}
	}
	var wg sync.WaitGroup
	for w := range waits {
		wg.Go(func() {
			if err := cluster.Settle(client, w.topic, w.partition, settleWithin); err != nil {
				g.log.Warn("restoring a partition with a transaction still open", "topic", w.topic, "partition", w.partition, "error", err)
			}
		})
	}
	wg.Wait()
}

// consumerClient returns the consumer group's client, nil before the group
// is built.
func (g *gate) consumerClient() sarama.Client {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.client
}

// abortAfter is how long a stopping consumer group may take to return from
// Consume before its client is closed under it. sarama cannot cancel a
// JoinGroup in flight, which during churn can block for a rebalance timeout
// and more; an instance in a join holds no partitions, so aborting loses
// nothing. A group with partitions drains in well under a second; were it
// aborted, it would lose only its last commit (more replay, never a wrong
// count).
const abortAfter = 10 * time.Second

// gatedGroup owns the client under its consumer group, so it can abort a
// join that would outlast a shutdown.
type gatedGroup struct {
	sarama.ConsumerGroup
	client sarama.Client
	gate   *gate
}

// Close closes the group and its client; a client already closed by an
// aborted shutdown is no error.
func (cg *gatedGroup) Close() error {
	err := errors.Join(cg.ConsumerGroup.Close(), cg.client.Close())
	if errors.Is(err, sarama.ErrClosedClient) {
		return nil
	}
	return err
}

// Consume joins session after session until ctx is done. goka would sleep
// five seconds after each session before joining the next, which turns every
// rebalance into a five-second stall and, while other members rejoin, into
// another rebalance; sarama's own advice is to call Consume in a tight loop.
// A failed session (the broker restarting, a connection reset, emits that ran
// out of retries) is retried with backoff: the committed offsets are safe,
// so trying again is always right. A failure no retry can cure (the ACLs
// deny a topic or the group) ends Consume, and so the stage, with it.
func (cg *gatedGroup) Consume(ctx context.Context, topics []string, h sarama.ConsumerGroupHandler) error {
	returned := make(chan struct{})
	defer close(returned)
	go func() {
		select {
		case <-returned:
		case <-ctx.Done():
			select {
			case <-returned:
			case <-time.After(abortAfter):
				_ = cg.client.Close()
			}
		}
	}()
	retry := cluster.NewBackoff(100*time.Millisecond, 5*time.Second)
	for {
		err := cg.ConsumerGroup.Consume(ctx, topics, &gatedHandler{inner: h, gate: cg.gate})
		if ctx.Err() != nil {
			return nil // stopping: an aborted join's error is expected
		}
		select {
		case err := <-cg.gate.stopped:
			return err
		default:
		}
		if errors.Is(err, sarama.ErrClosedConsumerGroup) || cluster.Permanent(err) {
			return err
		}
		if err != nil && cg.gate.access != nil && strings.Contains(strings.ToLower(err.Error()), "authoriz") {
			if denied := cg.gate.access(); cluster.Permanent(denied) {
				return denied
			}
		}
		if err == nil {
			retry.Reset()
			continue
		}
		wait := retry.NextBackOff()
		cg.gate.log.Warn("consumer group session failed; retrying", "topics", topics, "error", err, "backoff", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

type gatedHandler struct {
	inner   sarama.ConsumerGroupHandler
	gate    *gate
	session *gatedSession
}

func (h *gatedHandler) Setup(s sarama.ConsumerGroupSession) error {
	if h.gate.setStarts != nil {
		if err := h.gate.setStarts(s); err != nil {
			return err
		}
	}
	h.session = h.gate.begin(s)
	h.gate.settle(s.Claims())
	return h.inner.Setup(h.session)
}

func (h *gatedHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	if err := h.gate.claimed(c); err != nil {
		if cluster.Permanent(err) {
			// A session would fail the same way for ever (a partition's
			// state cannot be restored as configured): the stage ends.
			h.gate.stop(err)
			h.session.cancel()
		}
		return err
	}
	return h.inner.ConsumeClaim(h.session, c)
}

func (h *gatedHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	err := h.inner.Cleanup(h.session)
	if h.gate.txn != nil {
		// goka has stopped the session's partitions: commit what they did,
		// while the session's generation is still the group's.
		if cerr := h.gate.commitTxn(h.session); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	h.gate.end(h.session)
	return err
}

// gatedSession is the session goka sees. Its MarkOffset runs once per
// record, so it takes no lock of its own: the offsets it tracks per
// partition are atomics, and it passes a mark on to sarama only when the
// clamped offset has risen (while a window is open, the floor holds it
// still for thousands of records).
//
// Its context ends with sarama's session, or earlier when a transaction of
// the session aborts: goka then stops the session's partitions, and the next
// session rebuilds their state from what was committed.
type gatedSession struct {
	sarama.ConsumerGroupSession
	gate   *gate
	ctx    context.Context
	cancel context.CancelFunc
	parts  []sessionPartition // by partition number
	// ended is set when the session is over; marking counts the
	// MarkOffsets under way. goka's stopping partitions may mark records
	// whose emits are acknowledged after the session ended: passed to the
	// CommitFloor after the next session's Reset, such a mark would release
	// that session's hold on the same offset. end sets ended, then waits
	// for the marks under way, so none reaches the CommitFloor after Reset.
	ended   atomic.Bool
	marking atomic.Int64
	// failed is set when a transaction of the session aborted: nothing
	// more of it may commit.
	failed atomic.Bool
}

type sessionPartition struct {
	requested atomic.Int64 // highest offset goka asked to mark
	marked    atomic.Int64 // highest offset passed on to sarama
	// committed is the partition's committed offset as last known: where
	// a crash would make the stage read again from. claimed tells that it
	// is known: the partition's claim has started.
	committed atomic.Int64
	claimed   atomic.Bool

	// Under exactly_once_v2: held while a record of the partition is
	// processed, and by the gate around a commit, so that a transaction
	// holds every effect of the records its offsets cover and no other.
	mu  sync.Mutex
	pos int64 // offset after the last record processed; 0 before any
}

// Context is the session's, ended early by an aborted transaction.
func (s *gatedSession) Context() context.Context { return s.ctx }

func (s *gatedSession) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	if s.gate.txn != nil {
		// The record is acknowledged, not committed: its transaction
		// commits its position. Kept for the lag metric only.
		if int(partition) < len(s.parts) {
			raise(&s.parts[partition].requested, offset)
		}
		return
	}
	s.marking.Add(1)
	defer s.marking.Add(-1)
	if s.ended.Load() {
		return // its records are read again from the last commit
	}
	floor := s.gate.floor.Done(partition, offset)
	if int(partition) >= len(s.parts) {
		// Not a partition of this session's claims; sarama ignores it too.
		s.ConsumerGroupSession.MarkOffset(topic, partition, min(offset, floor), metadata)
		return
	}
	// goka marks records as their emits are acknowledged, in any order:
	// the highest offset it asked for, not this one, is where the commit
	// may go once the floor allows. A record below it whose effect is not
	// durable holds the floor.
	raise(&s.parts[partition].requested, offset)
	s.markTo(topic, partition, min(s.parts[partition].requested.Load(), floor), metadata)
}

func (s *gatedSession) MarkMessage(msg *sarama.ConsumerMessage, metadata string) {
	s.MarkOffset(msg.Topic, msg.Partition, msg.Offset+1, metadata)
}

// markTo passes offset on to sarama if it is higher than any passed before.
// sarama ignores a mark below its current one, so racing calls cannot move
// the commit back.
func (s *gatedSession) markTo(topic string, partition int32, offset int64, metadata string) {
	if raise(&s.parts[partition].marked, offset) {
		s.ConsumerGroupSession.MarkOffset(topic, partition, offset, metadata)
	}
}

// raise sets v to x if x is higher and reports whether it did.
func raise(v *atomic.Int64, x int64) bool {
	for {
		cur := v.Load()
		if x <= cur {
			return false
		}
		if v.CompareAndSwap(cur, x) {
			return true
		}
	}
}

// begin resets the CommitFloor for a new session and returns the session goka
// is to see.
func (g *gate) begin(s sarama.ConsumerGroupSession) *gatedSession {
	g.floor.Reset()
	n := int32(0)
	for _, parts := range s.Claims() {
		for _, p := range parts {
			n = max(n, p+1)
		}
	}
	gs := &gatedSession{ConsumerGroupSession: s, gate: g, parts: make([]sessionPartition, n)}
	gs.ctx, gs.cancel = context.WithCancel(s.Context())
	if g.txn != nil {
		g.txn.begin()
	}
	g.current.Store(gs)
	g.sessions.Add(1)
	owned := 0
	for _, parts := range s.Claims() {
		owned += len(parts)
	}
	g.owned.Store(int64(owned))
	g.mu.Lock()
	defer g.mu.Unlock()
	g.session = gs
	g.claims = make(map[int32]sarama.ConsumerGroupClaim)
	return gs
}

func (g *gate) end(s *gatedSession) {
	s.ended.Store(true)
	s.cancel()
	for s.marking.Load() > 0 {
		time.Sleep(time.Millisecond)
	}
	g.current.CompareAndSwap(s, nil)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.session == s {
		g.session = nil
		g.claims = nil
		g.starts = nil
		g.owned.Store(0)
	}
}

// claimed rebuilds the claim's partition state (restore) and registers the
// claim, so the partition counts as owned from then on.
func (g *gate) claimed(c sarama.ConsumerGroupClaim) error {
	start := c.InitialOffset()
	if g.restore != nil {
		initial := start
		if initial < 0 {
			initial = -1
		}
		if err := g.restore(c.Partition(), initial); err != nil {
			return fmt.Errorf("restoring the state of %s/%d: %w", c.Topic(), c.Partition(), err)
		}
	}
	g.mu.Lock()
	client, s := g.client, g.session
	g.mu.Unlock()
	if start < 0 && client != nil {
		// A group without a committed offset starts at "oldest" or "newest";
		// counted from offset 0, a partition whose log starts later or that
		// gets no record would look behind for ever.
		if off, err := client.GetOffset(c.Topic(), c.Partition(), start); err == nil {
			start = off
		}
	}
	if s != nil && int(c.Partition()) < len(s.parts) {
		s.parts[c.Partition()].committed.Store(max(start, 0))
		s.parts[c.Partition()].claimed.Store(true)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.topic = c.Topic()
	if g.claims != nil {
		g.claims[c.Partition()] = c
		if g.starts == nil {
			g.starts = make(map[int32]int64)
		}
		g.starts[c.Partition()] = max(start, 0)
	}
	return nil
}

// remark marks again what goka last asked for on partition, now that the
// floor may have risen (after an idle flush was acknowledged).
func (g *gate) remark(partition int32) {
	g.mu.Lock()
	s, topic := g.session, g.topic
	g.mu.Unlock()
	if s == nil || int(partition) >= len(s.parts) {
		return
	}
	next := s.parts[partition].requested.Load()
	if next == 0 {
		return
	}
	s.markTo(topic, partition, min(next, g.floor.Floor(partition)), "")
}

// position implements the question processor.ParseStage.IdleFlushes (and
// Precommit) asks. A partition is caught up only if what is left below its
// high-water mark is transaction markers or aborted records and no
// transaction is open, which only the broker can tell (cluster.CaughtUpTo); it is
// asked only once the partition has stopped moving, so a partition that is
// consuming costs nothing, and again at most every probeEvery. The idle loop
// (at_least_once) or the commit loop (exactly_once_v2) is its only caller, so
// the probe state is touched by one goroutine.
func (g *gate) position(partition int32, next int64) (owned, caughtUp bool) {
	g.mu.Lock()
	c, client, start := g.claims[partition], g.client, g.starts[partition]
	if g.probes == nil {
		g.probes = make(map[int32]*partitionProbe)
	}
	p := g.probes[partition]
	if p == nil {
		p = &partitionProbe{lastNext: -2}
		g.probes[partition] = p
	}
	g.mu.Unlock()
	if c == nil {
		return false, false
	}
	pos := next
	if pos < 0 {
		pos = start
	}
	hwm := c.HighWaterMarkOffset()
	now := time.Now()
	if p.lastNext != next {
		p.lastNext, p.movedAt = next, now
	}
	stopped := now.Sub(p.movedAt) >= probeAfter
	if client == nil {
		return true, pos >= hwm
	}
	if !stopped {
		return true, false
	}
	// Even a position at the claim's high-water mark is asked about: sarama
	// updates the mark only from fetches that return records, and a
	// read-committed fetch returns none while a transaction is open, so the
	// mark stays at that transaction's first offset for as long as it is.
	if p.next == pos && p.hwm == hwm && now.Sub(p.at) < probeEvery {
		return true, p.caughtUp
	}
	up, err := cluster.CaughtUpTo(client, c.Topic(), partition, pos)
	if err != nil {
		g.log.Debug("probing whether a partition is caught up", "partition", partition, "error", err)
	}
	p.next, p.hwm, p.at, p.caughtUp = pos, hwm, now, up
	return true, up
}

// partitionLag is how far a stage is behind on one partition it owns.
type partitionLag struct {
	topic     string
	partition int32
	lag       int64 // high-water mark minus the offset after the last record processed
}

// lags returns the lag of every partition claimed in the current session.
// Before a partition's first record is processed its position is where the
// claim started. Transaction markers count: an idle partition written
// transactionally shows a lag of one, as in Kafka's own tools.
func (g *gate) lags() []partitionLag {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]partitionLag, 0, len(g.claims))
	for p, c := range g.claims {
		pos := g.starts[p]
		if g.session != nil && int(p) < len(g.session.parts) {
			pos = max(pos, g.session.parts[p].requested.Load())
		}
		out = append(out, partitionLag{c.Topic(), p, max(c.HighWaterMarkOffset()-pos, 0)})
	}
	return out
}
