package topology

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/processor"
	"github.com/oscheck/oscheck/state"
	"github.com/oscheck/oscheck/topology/cluster"
)

// NewProcessID returns a random Config.ProcessID.
func NewProcessID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Service is one oscheck instance: both processor groups and the idle flush.
type Service struct {
	cfg     Config
	topics  Topics
	log     *slog.Logger
	metrics *processor.Metrics
	tmb     goka.TopicManagerBuilder
	// clients configures every sarama client of the service; its
	// RecordLimit is set once the topics are known.
	clients *cluster.Clients

	parser   *processor.ParseStage
	windower *processor.WindowStage
	parse    *goka.Processor
	window   *goka.Processor
	idle     *goka.Emitter
	gate     *gate // the parse stage's
	// windowGate is the window stage's gate.
	windowGate *gate
	// tables is the window stage's local storage of the window table.
	tables   *slotStores
	partKeys *partKeys
	probe    *cluster.Probe
	// inputs asks for the input's partition count (learnInputGrowth)
	// while Run runs: on connections of its own, since a broker answers a
	// connection's requests in order, and the consumers' wait in fetches.
	inputs     sarama.Client
	view       *goka.View
	viewMu     sync.RWMutex
	viewClosed bool // the view is stopping or stopped: no more Gets
	slotKeys   []string
	// txnSources is the number of input partitions the window stage knew
	// of when its current transaction began (verifyInput).
	txnSources atomic.Int32
	// changelogKeys keys each input partition's checkpoint.
	changelogKeys *partitionKeys
	windows       state.Windows
}

// New validates cfg, checks the input topic, creates the topics the service
// owns and builds both processors. It does not consume yet.
func New(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ProcessID == "" {
		cfg.ProcessID = NewProcessID()
	}
	s := &Service{cfg: cfg, topics: TopicsFor(cfg), log: log}
	var err error
	if s.clients, err = cluster.NewClients(cluster.Clients{Brokers: cfg.Brokers, ClientID: cfg.ClientID,
		InstanceID: cfg.InstanceID, OffsetReset: cfg.OffsetReset, Security: cfg.Security}); err != nil {
		return nil, err
	}
	s.metrics = processor.NewMetrics(reg)
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication = cfg.ReplicationFactor
	tmc.Stream.Replication = cfg.ReplicationFactor
	s.tmb = cluster.StableTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(s.clients.Sarama(), tmc), s.clients.Sarama)

	if err := s.checkCluster(); err != nil {
		return nil, err
	}
	sources, slots, err := s.ensureTopics()
	if err != nil {
		return nil, err
	}
	// Again, for the rights on the topics that did not exist before.
	if err := s.checkCluster(); err != nil {
		return nil, err
	}
	keys := slotKeys(s.topics.Repartition, slots)
	s.changelogKeys = newPartitionKeys(s.topics.Changelog, slots)
	windows := state.Windows{Size: cfg.Window.Milliseconds()}
	s.slotKeys, s.windows = keys, windows
	txn := cfg.Guarantee.Transactional()
	s.parser = processor.NewParseStage(processor.ParseStageConfig{
		Windows:           windows,
		Grace:             cfg.Grace,
		Idle:              cfg.IdleTimeout,
		MaxEventSkew:      cfg.MaxEventSkew,
		ReportEvery:       reportEvery,
		TimeSource:        cfg.TimeSource,
		OSParam:           cfg.OSParam,
		Classify:          cfg.classifyOptions(),
		MaxOSTypes:        cfg.MaxOSTypes,
		Sources:           sources,
		SlotKeys:          keys,
		Repartition:       s.topics.Repartition,
		DeadLetter:        s.topics.DeadLetter,
		Late:              s.topics.Late,
		Transactional:     txn,
		Changelog:         s.topics.Changelog,
		ChangelogKey:      s.changelogKeys.key,
		ChangelogPieceKey: s.changelogKeys.piece,
		Closed:            func() { s.gate.txn.Soon() },
	}, s.metrics)
	s.gate = newGate(s.parser, log)
	s.windowGate = newGate(nil, log)
	s.tables = newSlotStores()
	s.partKeys = newPartKeys(slots)
	s.windower = processor.NewWindowStage(processor.WindowStageConfig{
		Windows:       windows,
		Retain:        cfg.RetainFinals,
		Parts:         partsStream(s.topics.WindowGroup),
		PartKey:       s.partKeys.key,
		Store:         s.tables.get,
		Emit:          cfg.Emit,
		Format:        cfg.Format,
		Output:        s.topics.Output,
		Transactional: txn,
		Committed:     s.windowGate.committedOffset,
		Moved:         s.repartitionMoved,
	}, s.metrics)
	s.windower.Grow(sources)
	s.txnSources.Store(sources)
	s.windowGate.floor = s.windower
	s.gate.restore = s.restoreParse
	s.windowGate.restore = s.claimWindow
	s.gate.settled = map[string]int32{string(s.topics.Changelog): slots}
	s.windowGate.settled = map[string]int32{string(goka.GroupTable(s.topics.WindowGroup)): slots}
	if txn {
		s.gate.txn = newTxnCommits(string(s.topics.ParseGroup), cfg.InstanceID, s.metrics.Transaction("parse"))
		s.gate.txn.precommit = s.precommitParse
		s.gate.txn.metadata = s.checkpointMetadata
		s.windowGate.txn = newTxnCommits(string(s.topics.WindowGroup), cfg.InstanceID, s.metrics.Transaction("window"))
		s.windowGate.txn.urgent = true
		s.windowGate.txn.verify = s.verifyInput
	}
	s.gate.access = s.checkCluster
	if cfg.OffsetReset == "latest" {
		s.gate.setStarts = s.newPartitionsFromOldest
	}
	// goka drops a NULL value (a tombstone) by default, and marks it done:
	// the parse stage must see it, to move it to the dead-letter topic.
	if s.parse, err = s.processor("parse", parseGraph(s.topics, s.gate.wrap(s.parser.Consume)), s.gate,
		goka.WithNilHandling(goka.NilProcess)); err != nil {
		return nil, fmt.Errorf("parse stage: %w", err)
	}
	var windowOpts []goka.ProcessorOption
	if cfg.HotStandby {
		windowOpts = append(windowOpts, goka.WithHotStandby())
	}
	windowOpts = append(windowOpts, goka.WithStorageBuilder(s.tables.builder()))
	s.windowGate.access = s.checkCluster
	if s.window, err = s.processor("window", windowGraph(s.topics, s.windowGate.wrap(s.windower.Consume), observeBytes(s.metrics, "window-table")), s.windowGate, windowOpts...); err != nil {
		return nil, fmt.Errorf("window stage: %w", err)
	}
	if s.view, err = s.newView(); err != nil {
		return nil, err
	}
	s.probe = s.clients.Probe()
	reg.MustRegister(newCollector(s))
	if txn {
		return s, nil
	}
	s.idle, err = goka.NewEmitter(cfg.Brokers, s.topics.Repartition, state.ReportCodec{},
		goka.WithEmitterClientID(cfg.ClientID+"-idle"),
		goka.WithEmitterProducerBuilder(goka.ProducerBuilderWithConfig(s.clients.Producer())),
		goka.WithEmitterTopicManagerBuilder(s.tmb),
		goka.WithEmitterLogger(gokaLogger{log}))
	if err != nil {
		return nil, fmt.Errorf("idle emitter: %w", err)
	}
	return s, nil
}

func (s *Service) processor(name string, g *goka.GroupGraph, gt *gate, extra ...goka.ProcessorOption) (*goka.Processor, error) {
	producer := goka.ProducerBuilderWithConfig(s.clients.Producer())
	if gt.txn != nil {
		id := s.transactionalID(name)
		producer = gt.txn.producerBuilder(s.clients.Sarama, id, s.clients.TxnAccessError(id, s.txnPrefix()))
	}
	if gt == s.windowGate {
		producer = withParts(producer, s.topics.WindowGroup)
	}
	// Each builder gets a config of its own: goka's builders write the client
	// id and partitioner into the config they are given.
	opts := append([]goka.ProcessorOption{
		goka.WithClientID(s.cfg.ClientID),
		goka.WithTopicManagerBuilder(s.tmb),
		goka.WithConsumerGroupBuilder(gt.builder(s.consumerGroupConfig(gt == s.windowGate))),
		goka.WithConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(s.clients.Sarama())),
		goka.WithProducerBuilder(producer),
		goka.WithStorageBuilder(storage.MemoryBuilder()),
		goka.WithLogger(gokaLogger{s.log}),
		PartitionChannel(),
	}, extra...)
	return goka.NewProcessor(s.cfg.Brokers, g, opts...)
}

// Run consumes until ctx is done or a stage fails. On return, both groups
// have left and committed what was safe to commit.
func (s *Service) Run(ctx context.Context) error {
	stopping := ctx
	var err error
	inputs := s.clients.Sarama()
	// The commit check waits for the answer with every partition stopped:
	// better a failed check (the transaction is aborted, and redone from
	// what was committed) than half a minute of retries.
	inputs.Metadata.Retry.Max = 2
	inputs.Metadata.Retry.Backoff = 250 * time.Millisecond
	if s.inputs, err = sarama.NewClient(s.cfg.Brokers, inputs); err != nil {
		return fmt.Errorf("connecting to brokers %v: %w", s.cfg.Brokers, err)
	}
	defer s.inputs.Close()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	errs := make([]error, 7)
	run := func(i int, name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f(ctx)
			switch {
			case err == nil || errors.Is(err, context.Canceled):
			case stopping.Err() != nil:
				// Leaving the group or the last commit failed while
				// stopping, say with the broker unreachable: nothing is
				// lost, the next owner reads again from the last commit.
				s.log.Warn("stopping", "stage", name, "error", err)
			default:
				errs[i] = fmt.Errorf("%s: %w", name, err)
				cancel(errs[i])
			}
			// One stage stopping stops the service: the others cannot make
			// progress that is safe without it.
			cancel(nil)
		}()
	}
	run(0, "parse stage", s.parse.Run)
	run(1, "window stage", s.window.Run)
	run(2, "window table view", s.runView)
	run(3, "broker probe", s.probe.Run)
	if s.cfg.Guarantee.Transactional() {
		every := func(g *gate) func(context.Context) error {
			return func(ctx context.Context) error { return g.runCommits(ctx, s.cfg.CommitInterval) }
		}
		run(4, "parse stage commits", every(s.gate))
		run(5, "window stage commits", every(s.windowGate))
		run(6, "idle close", s.runIdle)
	} else {
		run(4, "idle flush", s.runIdle)
		run(5, "window stage offsets", func(ctx context.Context) error {
			return s.windowGate.refreshCommitted(ctx, string(s.topics.WindowGroup), committedRefresh)
		})
		run(6, "input partitions", s.watchInput)
	}
	wg.Wait()
	if s.idle != nil {
		if err := s.idle.Finish(); err != nil {
			errs = append(errs, fmt.Errorf("idle emitter: %w", err))
		}
	}
	for _, err := range errs {
		// The other stages fail with this one's consequences.
		var (
			denied *cluster.AccessError
			bad    *KeyError
		)
		if errors.As(err, &denied) {
			return denied
		}
		if errors.As(err, &bad) {
			return bad
		}
	}
	return errors.Join(errs...)
}

// Ready reports whether both stages are running with their tables recovered.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.parse.WaitForReadyContext(ctx); err != nil {
		return err
	}
	return s.window.WaitForReadyContext(ctx)
}

// Recovering reports whether the window stage is restoring a partition of
// its table from the changelog (a moment after it is assigned a partition).
func (s *Service) Recovering(ctx context.Context) bool {
	for _, p := range s.window.StatsWithContext(ctx).Group {
		if t := p.TableStats; t != nil && (t.Status == goka.PartitionRecovering || t.Status == goka.PartitionPreparing) {
			return true
		}
	}
	return false
}

// committedRefresh is how often, under at_least_once, the window stage
// learns its committed offsets, below which a slot need not keep what a
// replay would emit again (state.SlotConfig).
const committedRefresh = time.Second

// restoreParse restores a parse-stage partition from its last committed
// checkpoint (processor.ParseStage.Restore).
func (s *Service) restoreParse(partition int32, initial int64) error {
	client := s.gate.consumerClient()
	if client == nil {
		return errors.New("no consumer group client")
	}
	// Its reports make the slots wait for every partition the input has.
	if err := s.learnInputGrowth(); err != nil && !errors.Is(err, errInputGrew) {
		return err
	}
	// The changelog has a partition per slot; the input may have more.
	value, piece, err := readCheckpoint(client, string(s.topics.Changelog), partition%int32(len(s.slotKeys)),
		s.changelogKeys.key(partition), func(n int) string { return s.changelogKeys.piece(partition, n) })
	if err != nil {
		return err
	}
	restored, err := s.parser.Restore(partition, value, initial, piece)
	if err == nil && !restored && initial >= 0 && s.cfg.Guarantee.Transactional() {
		err = s.checkChangelog(client, partition)
	}
	var mismatch *state.MismatchError
	if errors.As(err, &mismatch) {
		key, unit := "input", " partitions"
		switch mismatch.Field {
		case "window size":
			key, unit = "window", " ms"
		case "grace":
			key, unit = "grace", " ms"
		}
		return &KeyError{Key: key, Reason: fmt.Sprintf("input partition %d's windows were committed (on %s) with %s %d%s, and this instance runs with %d%s: "+
			"set it back, or start over on a new group (key \"group\")", partition, s.topics.Changelog, mismatch.Field,
			mismatch.Checkpoint, unit, mismatch.Configured, unit)}
	}
	var future *processor.FutureStateError
	if errors.As(err, &future) {
		return &KeyError{Key: "max-event-skew", Reason: fmt.Sprintf("%v by more than %v: a line from the future counted "+
			"before (with max-event-skew 0, or an oscheck without it), and every later record of the partition would be late; "+
			"start over on a new group (key \"group\"), or set max-event-skew 0 to carry on as is", err, s.cfg.MaxEventSkew)}
	}
	if err != nil {
		return err
	}
	s.log.Debug("parse stage partition claimed", "partition", partition, "offset", initial, "checkpoint restored", restored)
	return nil
}

// readCheckpoint reads, from partition at of the changelog topic, the last
// committed checkpoint under key, and returns it with what reads its pieces
// (processor.ParseStage.Restore), the nth under pieceKey(n). A checkpoint's
// pieces precede it in the transaction that wrote it, and no later one
// writes them without a later checkpoint: they are read back from the
// checkpoint's offset, all in one pass, not each from the partition's end
// (which read the changelog's tail once for every piece).
func readCheckpoint(client sarama.Client, topic string, at int32, key string, pieceKey func(n int) string) (
	value []byte, pieces func(n int) ([][]byte, error), err error) {
	offset, value, err := cluster.LastCommittedOf(client, topic, at, []byte(key))
	if err != nil {
		return nil, nil, err
	}
	pieces = func(n int) ([][]byte, error) {
		keys := make([][]byte, n)
		for i := range keys {
			keys[i] = []byte(pieceKey(i + 1))
		}
		values, err := cluster.LastCommittedBefore(client, topic, at, offset, keys)
		if err != nil {
			return nil, err
		}
		for i, v := range values {
			if v == nil {
				return nil, fmt.Errorf("no record under key %q of %s/%d before the checkpoint's offset %d", keys[i], topic, at, offset)
			}
		}
		return values, nil
	}
	return value, pieces, nil
}

// checkpointMark is the metadata committed, under exactly_once_v2, with
// the offset of an input partition whose position has a checkpoint.
const checkpointMark = "oscheck:checkpointed"

// checkpointMetadata is the metadata of partition's committed offset.
func (s *Service) checkpointMetadata(partition int32) string {
	if s.parser.Checkpointed(partition) {
		return checkpointMark
	}
	return ""
}

// checkChangelog fails when partition's committed offset says its position
// has a checkpoint (checkpointMark) and the changelog holds none for it: the
// changelog was deleted and created again, or lost its records. Starting
// the partition empty there would lose the counts of its open windows.
func (s *Service) checkChangelog(client sarama.Client, partition int32) error {
	input := string(s.topics.Input)
	offsets, err := committedOffsets(client, string(s.topics.ParseGroup), input, []int32{partition})
	if err != nil {
		return err
	}
	if c := offsets[partition]; c.metadata != checkpointMark {
		return nil
	}
	return &KeyError{Key: "group", Reason: fmt.Sprintf("the changelog %q holds no checkpoint of input partition %d, yet group %q "+
		"committed its offset %d with one: the changelog was deleted and created again, or lost its records, and the counts "+
		"of the partition's open windows are gone. Start a new group (--group), which reads the input again",
		s.topics.Changelog, partition, s.topics.ParseGroup, offsets[partition].offset)}
}

// precommitParse is the parse stage's part of each transaction
// (processor.ParseStage.Precommit).
func (s *Service) precommitParse() ([]*sarama.ProducerMessage, error) {
	recs, err := s.parser.Precommit()
	if err != nil {
		return nil, err
	}
	msgs := make([]*sarama.ProducerMessage, len(recs))
	checkpoint := observeBytes(s.metrics, "parse-checkpoint")
	for i, r := range recs {
		msgs[i] = &sarama.ProducerMessage{Topic: string(r.Topic), Key: sarama.StringEncoder(r.Key), Value: sarama.ByteEncoder(r.Value)}
		if r.Topic == s.topics.Changelog && r.Value == nil {
			msgs[i].Value = nil // a stale piece deleted: a tombstone
			continue
		}
		if r.Topic == s.topics.Changelog {
			checkpoint(len(r.Value))
		}
	}
	return msgs, nil
}

// transactionalID names a stage's transactional producer: unique per stage
// and instance, and the same when the instance comes back (its instance id,
// or else its process id), so that its producer fences the previous one and
// aborts what that left open, rather than leave readers waiting for the
// brokers to time it out.
func (s *Service) transactionalID(stage string) string {
	id := s.cfg.InstanceID
	if id == "" {
		id = s.cfg.ProcessID
	}
	return fmt.Sprintf("%s-%s-%s", s.cfg.Group, stage, id)
}

// consumerGroupConfig configures a stage's consumer group: sarama commits
// the offsets the gate marked every commit interval, except under
// exactly_once_v2, where the stage's transactions commit them.
func (s *Service) consumerGroupConfig(window bool) *sarama.Config {
	autoCommit := s.cfg.CommitInterval
	if s.cfg.Guarantee.Transactional() {
		autoCommit = 0
	}
	return s.clients.ConsumerGroup(window, autoCommit)
}

// transactionalIDs are both stages' transactional ids.
func (s *Service) transactionalIDs() []string {
	return []string{s.transactionalID("parse"), s.transactionalID("window")}
}

// reportEvery is the parse stage's least time between a partition's reports
// (processor.ParseStageConfig.ReportEvery): short against any window, long
// against the records a catching-up partition reads meanwhile.
const reportEvery = 10 * time.Millisecond

// runIdle closes the windows of idle partitions on a timer and sends the
// reports that reportEvery held back; under exactly_once_v2 the next commit
// sends them, and is asked for at once. The tick is a fraction of the idle
// timeout, so a window closes within about a tenth of it after its
// deadline, and at most 50 ms, so held-back reports wait no longer.
func (s *Service) runIdle(ctx context.Context) error {
	tick := min(max(s.cfg.IdleTimeout/10, reportEvery), 50*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	failed := make(chan error, 1)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-failed:
			return err
		case now := <-t.C:
			if s.cfg.Guarantee.Transactional() {
				// Closed here, reported with the next commit.
				if s.parser.CloseIdle(now, s.gate.position) {
					s.gate.txn.Soon()
				}
				continue
			}
			for _, f := range s.parser.IdleFlushes(now, s.gate.position) {
				s.sendIdle(f, failed)
			}
		}
	}
}

func (s *Service) sendIdle(f processor.IdleFlush, failed chan<- error) {
	var (
		mu      sync.Mutex
		pending int
		errs    []error
	)
	for _, rs := range f.Reports {
		pending += len(rs)
	}
	done := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
		}
		if pending--; pending > 0 {
			return
		}
		if len(errs) > 0 {
			// The flushed windows stay held below the commit: a restart
			// rebuilds and reports them again.
			select {
			case failed <- fmt.Errorf("reporting idle partition %d: %w", f.Partition, errors.Join(errs...)):
			default:
			}
			return
		}
		f.Release()
		s.gate.remark(f.Partition)
	}
	// A key's reports go in order: one producer, one partition.
	for key, rs := range f.Reports {
		for _, r := range rs {
			p, err := s.idle.Emit(key, r)
			if err != nil {
				done(err)
				continue
			}
			p.Then(done)
		}
	}
}

// watchInput, under at_least_once, asks every inputCheck whether the input
// gained partitions (learnInputGrowth). The window stage emits finals as it
// goes, with no commit to check before: a window final between the growth
// and the next ask misses the new partitions' records for it, which count
// as late (oscheck_records_late_joined_total).
func (s *Service) watchInput(ctx context.Context) error {
	return onTicks(ctx, inputCheck, func() error {
		if err := s.learnInputGrowth(); err != nil && !errors.Is(err, errInputGrew) {
			s.log.Debug("asking for the input's partitions", "error", err)
		}
		return nil // a failed ask is asked again
	})
}

// inputCheck is how often watchInput asks.
const inputCheck = 250 * time.Millisecond

// errInputGrew is what learnInputGrowth returns when the input has more
// partitions than the window stage knew of.
var errInputGrew = errors.New("the input gained partitions")

// learnInputGrowth asks the brokers for the input's partition count and,
// if it grew, tells both stages (which never shrink it) and returns
// errInputGrew. Both stages ask when they claim a partition, and
// under exactly_once_v2 before each transaction that may hold finals
// commits (verifyInput), under at_least_once every inputCheck.
func (s *Service) learnInputGrowth() error {
	input := string(s.topics.Input)
	if err := s.inputs.RefreshMetadata(input); err != nil {
		return fmt.Errorf("checking the input's partitions: %w", err)
	}
	parts, err := s.inputs.Partitions(input)
	if err != nil {
		return fmt.Errorf("checking the input's partitions: %w", err)
	}
	n, known := int32(len(parts)), s.windower.Sources()
	if n <= known {
		return nil
	}
	s.windower.Grow(n)
	s.parser.Grow(n)
	s.log.Info("the input topic gained partitions: windows not final yet wait for them too; "+
		"their records for windows already final count as late", "topic", input, "partitions", n, "before", known)
	return fmt.Errorf("%w: %d, not %d", errInputGrew, n, known)
}

// verifyInput is the window stage's check before each transaction that may
// hold finals commits, under exactly_once_v2: it fails if the input has
// more partitions than the stage knew of when the transaction began, so
// that the transaction is aborted and its reports applied again waiting
// for the new partitions. Who learned of them first (this check, or a
// claim of a partition in the meantime) does not matter.
func (s *Service) verifyInput() error {
	began := s.txnSources.Load()
	err := s.learnInputGrowth()
	now := s.windower.Sources()
	// Whatever is decided, the next transaction begins knowing now.
	s.txnSources.Store(now)
	if err != nil && !errors.Is(err, errInputGrew) {
		return err
	}
	if now > began {
		return fmt.Errorf("%w: %d partitions, where the transaction's work knew %d", errInputGrew, now, began)
	}
	return nil
}

// observeBytes returns what records the size of a value written to store.
func observeBytes(m *processor.Metrics, store string) func(bytes int) {
	h := m.StateValueBytes.WithLabelValues(store)
	return func(bytes int) { h.Observe(float64(bytes)) }
}
