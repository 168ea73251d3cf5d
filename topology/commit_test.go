package topology

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/oscheck/oscheck/topology/cluster"
)

// inAndOut starts a broker with one-partition topics "in" and "out", closed
// when the test ends.
func inAndOut(t *testing.T) (*kfake.Cluster, []string) {
	t.Helper()
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	return kc, kc.ListenAddrs()
}

// txnGate returns a gate of group "g" under exactly_once_v2 and its
// transactional producer with id, on brokers, closed when the test ends.
func txnGate(t *testing.T, brokers []string, id string) (*gate, goka.Producer) {
	t.Helper()
	g := newGate(&floors{}, slog.Default())
	g.txn = newTxnCommits("g", "", func(bool) {})
	tp, err := g.txn.producerBuilder(saramaTestConfig, id, errors.New("denied"))(brokers, id, goka.DefaultHasher())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Close() })
	return g, tp
}

// zombieSession is a consumer-group session the group has moved on from:
// its member has been expired, and the group is at a later generation with
// other members, but nothing has told this process yet (it was paused, or
// its heartbeats were lost).
type zombieSession struct {
	sarama.ConsumerGroupSession
	ctx context.Context
}

func (s zombieSession) Claims() map[string][]int32 { return map[string][]int32{"in": {0}} }
func (s zombieSession) Context() context.Context   { return s.ctx }
func (s zombieSession) GenerationID() int32        { return 1 }
func (s zombieSession) MemberID() string           { return "expired-member" }

// TestZombieTransactionIsFenced: a parse-stage instance is paused (GC,
// SIGSTOP, a frozen VM) for longer than its session timeout; the group gives
// its partitions to another member. When it resumes, its commit loop fires
// before it learns of the rebalance. It has consumed nothing since its last
// commit, but its idle closes have reports and a checkpoint to commit. With
// no position moved, its transaction used to commit without AddOffsetsToTxn:
// no TxnOffsetCommit carried the stale generation, so KIP-447's fencing
// never ran and the zombie's transaction committed. Its reports race the new owner's to the window stage,
// where the first report of a window from a source wins, so a zombie report
// that lacks the records the new owner has read since counts the window
// short; and its checkpoint (Next = its stale position) lands after the new
// owner's, so the partition's next owner finds a checkpoint that does not
// match the committed offset and starts from an empty aggregator, losing the
// open windows' earlier records.
//
// The test plays the zombie against a real broker: a group "g" whose live
// member is another client, and a gate whose session is from generation 1
// with a member id the group does not know. Its precommit returns one record
// (an idle close's report). Nothing the zombie sends may become visible.
func TestZombieTransactionIsFenced(t *testing.T) {
	_, brokers := inAndOut(t)

	// The group's live member: the group is at a generation the zombie is
	// not part of.
	member, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("in"))
	if err != nil {
		t.Fatal(err)
	}
	defer member.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if _, gen := member.GroupMetadata(); gen >= 1 {
			break
		}
		poll, stop := context.WithTimeout(ctx, 100*time.Millisecond)
		member.PollRecords(poll, 1) // joins the group
		stop()
		if ctx.Err() != nil {
			t.Fatal("the live member never joined")
		}
	}

	g, _ := txnGate(t, brokers, "g-parse-zombie")
	g.txn.precommit = func() ([]*sarama.ProducerMessage, error) {
		return []*sarama.ProducerMessage{{Topic: "out", Key: sarama.StringEncoder("slot-0"),
			Value: sarama.StringEncoder(`{"report":"an idle close"}`)}}, nil
	}
	gs := g.begin(zombieSession{ctx: context.Background()})
	if err := g.claimed(claim{partition: 0, initial: 0, highWater: 0}); err != nil {
		t.Fatal(err)
	}
	if err := g.commitTxn(gs); err != nil {
		t.Logf("commit: %v", err)
	}

	// Wait until the zombie's transaction is decided (committed, or
	// aborted), then look for a committed record, as a read_committed reader
	// would see it.
	client := settledClient(t, brokers, "out")
	last, _, err := cluster.LastCommitted(client, "out", 0)
	if err != nil {
		t.Fatal(err)
	}
	visible := last + 1
	if visible > 0 {
		t.Errorf("a session the group had moved on from committed %d record(s): its transaction carried no offsets, "+
			"so the brokers never checked its generation (KIP-447 fencing)", visible)
	}
}

// adminSession is a session whose commits the brokers do not check against
// a generation (generation -1, no member id), so a test decides with a
// fault which of its commits fail.
type adminSession struct {
	sarama.ConsumerGroupSession
	ctx context.Context
}

func (s adminSession) Claims() map[string][]int32 { return map[string][]int32{"in": {0}} }
func (s adminSession) Context() context.Context   { return s.ctx }
func (s adminSession) GenerationID() int32        { return -1 }
func (s adminSession) MemberID() string           { return "" }

type gokaContext = goka.Context

// recordContext is the goka.Context of one input record, as far as the
// gate's wrap reads it.
type recordContext struct {
	gokaContext
	partition int32
	offset    int64
}

func (c recordContext) Partition() int32 { return c.partition }
func (c recordContext) Offset() int64    { return c.offset }

// TestStragglerAfterAbortIsDropped is the gate-level form of cmd/oscheck's
// TestAbortedCommitStragglersDropped: a record that goka's partition
// processor took before its session's transaction aborted (it waited at the
// partition's lock) must leave nothing in the next transaction. It emitted
// into the transaction the abort began, and the next session's first commit
// committed it although its offset was never committed: the next session
// read the record again and its effect doubled (in the window stage, the
// aborted reports were skipped as already applied and their finals lost).
func TestStragglerAfterAbortIsDropped(t *testing.T) {
	kc, brokers := inAndOut(t)
	refused := kc.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.TxnOffsetCommit}, Err: kerr.IllegalGeneration})

	g, tp := txnGate(t, brokers, "g-window-x")
	process := g.wrap(func(ctx goka.Context, _ any) {
		tp.Emit("out", "slot-0", fmt.Appendf(nil, "effect of offset %d", ctx.Offset()))
	})

	s1 := g.begin(adminSession{ctx: context.Background()})
	if err := g.claimed(claim{partition: 0, initial: 0, highWater: 10}); err != nil {
		t.Fatal(err)
	}
	process(recordContext{partition: 0, offset: 0}, nil)
	if err := g.commitTxn(s1); err != nil {
		t.Fatal(err)
	}
	if refused.Hits() != 1 || !s1.failed.Load() {
		t.Fatalf("the first commit was not refused (%d refusals): the attack did not happen", refused.Hits())
	}
	// The straggler: goka's partition processor had taken offset 1 before
	// it saw the session's context end.
	process(recordContext{partition: 0, offset: 1}, nil)
	g.end(s1)

	s2 := g.begin(adminSession{ctx: context.Background()})
	if err := g.claimed(claim{partition: 0, initial: 0, highWater: 10}); err != nil {
		t.Fatal(err)
	}
	if err := g.commitTxn(s2); err != nil {
		t.Fatal(err)
	}

	client := settledClient(t, brokers, "out")
	if last, value, err := cluster.LastCommitted(client, "out", 0); err != nil {
		t.Fatal(err)
	} else if last >= 0 {
		t.Errorf("committed %q although the input offset it came from was never committed: the next session reads "+
			"that record again", value)
	}
}

// settledClient returns a client of brokers once no transaction is open on
// topic's partition 0, so that what it reads there is decided.
func settledClient(t *testing.T, brokers []string, topic string) sarama.Client {
	t.Helper()
	client, err := sarama.NewClient(brokers, saramaTestConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	if err := cluster.Settle(client, topic, 0, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	return client
}

// saramaTestConfig is a client configuration for the test broker.
func saramaTestConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V2_8_0_0
	return c
}
