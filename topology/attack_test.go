package topology

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

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

// TestAttackZombieIdleCloseCommitsUnfenced: a parse-stage instance is paused
// (GC, SIGSTOP, a frozen VM) for longer than its session timeout; the group
// gives its partitions to another member. When it resumes, its commit loop
// fires before it learns of the rebalance. It has consumed nothing since its
// last commit, but Precommit closes the windows of the partitions it still
// believes it owns (quiet for longer than the idle timeout: it was paused)
// and returns their reports and a checkpoint. With no position to add,
// commitTxn commits them without AddOffsetsToTxn: no TxnOffsetCommit carries
// the stale generation, so KIP-447's fencing never runs and the zombie's
// transaction commits. Its reports race the new owner's to the window stage,
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
func TestAttackZombieIdleCloseCommitsUnfenced(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

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

	g := newGate(&floors{}, slog.Default())
	g.txn = newTxnCommits("g", "", func(bool) {})
	g.txn.precommit = func(time.Time) ([]*sarama.ProducerMessage, error) {
		return []*sarama.ProducerMessage{{Topic: "out", Key: sarama.StringEncoder("slot-0"),
			Value: sarama.StringEncoder(`{"report":"an idle close"}`)}}, nil
	}
	cfg := func() *sarama.Config {
		c := sarama.NewConfig()
		c.Version = sarama.V2_8_0_0
		return c
	}
	tp, err := g.txn.producerBuilder(cfg, "g-parse-zombie", errors.New("denied"))(brokers, "zombie", goka.DefaultHasher())
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
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
	client, err := sarama.NewClient(brokers, cfg())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := settle(client, "out", 0, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	last, _, err := lastCommitted(client, "out", 0)
	if err != nil {
		t.Fatal(err)
	}
	visible := last + 1
	if visible > 0 {
		t.Errorf("a session the group had moved on from committed %d record(s): its transaction carried no offsets, "+
			"so the brokers never checked its generation (KIP-447 fencing)", visible)
	}
}
