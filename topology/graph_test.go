package topology

import (
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/storage"
	"github.com/lovoo/goka/tester"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/oscheck/oscheck/processor"
	"github.com/oscheck/oscheck/processor/output"
	"github.com/oscheck/oscheck/state"
)

// stages runs both callbacks in goka's tester (one partition per topic);
// the wire path is tested end to end in cmd/oscheck.
type stages struct {
	tt      *tester.Tester
	topics  Topics
	metrics *processor.Metrics
	out     *tester.QueueTracker
	dlq     *tester.QueueTracker
	late    *tester.QueueTracker
}

func newStages(t *testing.T, ts processor.TimeSource, emit processor.EmitMode) *stages {
	t.Helper()
	cfg := DefaultConfig()
	cfg.LateTopic = "late"
	topics := TopicsFor(cfg)
	m := processor.NewMetrics(prometheus.NewRegistry())
	windows := state.Windows{Size: 2000}
	parser := processor.NewParseStage(processor.ParseStageConfig{
		Windows: windows, Grace: time.Second, Idle: time.Second, TimeSource: ts, OSParam: "os_type",
		Sources: 1, SlotKeys: []string{"slot-0"},
		Repartition: topics.Repartition, DeadLetter: topics.DeadLetter, Late: topics.Late,
	}, m)
	parts := newSlotStore() // goka's tester keeps the table; the parts are the stage's
	windower := processor.NewWindowStage(processor.WindowStageConfig{
		Windows: windows, Retain: 8, Emit: emit, Format: output.JSON, Output: topics.Output,
		Committed: func(int32) int64 { return 0 }, // goka's tester never reads a record again
		Parts:     partsStream(topics.WindowGroup),
		PartKey:   newPartKeys(1).key,
		Store:     func(int32) storage.Storage { return parts },
	}, m)
	tt := tester.New(t)
	for _, g := range []*goka.GroupGraph{parseGraph(topics, parser.Consume), windowGraph(topics, windower.Consume, func(int) {})} {
		p, err := goka.NewProcessor(nil, g, goka.WithTester(tt))
		if err != nil {
			t.Fatal(err)
		}
		go p.Run(t.Context())
	}
	return &stages{tt: tt, topics: topics, metrics: m,
		out: tt.NewQueueTracker(string(topics.Output)), dlq: tt.NewQueueTracker(string(topics.DeadLetter)),
		late: tt.NewQueueTracker(string(topics.Late))}
}

func (s *stages) line(at time.Time, osType string) {
	s.tt.Consume(string(s.topics.Input), "", []byte(fmt.Sprintf(
		`10.0.0.1 - - [%s] "GET /v1?os_type=%s HTTP/1.1" 200 12`, at.UTC().Format("02/Jan/2006:15:04:05 -0700"), osType)))
}

func (s *stages) windows(t *testing.T) []output.Window {
	t.Helper()
	var ws []output.Window
	for {
		k, v, ok := s.out.Next()
		if !ok {
			return ws
		}
		w, err := output.JSON.Decode([]byte(k), v.([]byte), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
}

var t0 = time.Date(2019, 8, 14, 0, 49, 48, 0, time.UTC) // a window start

func TestStagesFinalMode(t *testing.T) {
	s := newStages(t, processor.TimeFromLog, processor.EmitFinal)
	s.line(t0, "android")
	s.line(t0.Add(time.Second), "ios")
	s.line(t0.Add(time.Second), "android")
	s.line(t0.Add(2*time.Second), "android") // next window
	s.line(t0.Add(time.Second), "ios")       // out of order, within grace
	if ws := s.windows(t); len(ws) != 0 {
		t.Fatalf("emitted before the window closed: %v", ws)
	}
	s.line(t0.Add(3*time.Second), "ios") // watermark = end + grace: closes [t0, t0+2s)
	s.line(t0, "android")                // late
	got := s.windows(t)
	want := []output.Window{
		{OSType: "android", Start: t0.UnixMilli(), End: t0.UnixMilli() + 2000, Count: 2},
		{OSType: "ios", Start: t0.UnixMilli(), End: t0.UnixMilli() + 2000, Count: 2},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if n := testutil.ToFloat64(s.metrics.RecordsLate); n != 1 {
		t.Errorf("late records %v, want 1", n)
	}
	if _, v, ok := s.late.Next(); !ok || string(v.([]byte))[:8] != "10.0.0.1" {
		t.Errorf("late topic: %v %v, want the late line", v, ok)
	}
}

func TestStagesUpdateMode(t *testing.T) {
	s := newStages(t, processor.TimeFromLog, processor.EmitUpdate)
	s.line(t0, "android")
	s.line(t0.Add(3*time.Second), "ios") // closes the first window at the only source
	got := s.windows(t)
	if len(got) != 1 || got[0].OSType != "android" || got[0].Count != 1 {
		t.Errorf("got %v, want one update android=1", got)
	}
}

func TestStagesRecordTime(t *testing.T) {
	s := newStages(t, processor.TimeFromRecord, processor.EmitFinal)
	// The lines' own timestamps disagree; the record timestamps decide.
	for i, at := range []time.Time{t0, t0.Add(500 * time.Millisecond), t0.Add(3 * time.Second)} {
		s.tt.Consume(string(s.topics.Input), "", []byte(fmt.Sprintf(
			`10.0.0.1 - - [01/Jan/2001:00:00:0%d +0000] "GET /?os_type=ios HTTP/1.1" 200 1`, i)), tester.WithTime(at))
	}
	got := s.windows(t)
	if len(got) != 1 || got[0].Start != t0.UnixMilli() || got[0].Count != 2 {
		t.Errorf("got %v, want ios=2 in the window of the record timestamps", got)
	}
}

func TestStagesDeadLetters(t *testing.T) {
	s := newStages(t, processor.TimeFromLog, processor.EmitFinal)
	bad := [][]byte{{0xff, 0x00, 0xfe}, []byte(`{"payload":"10.0.0.1 - -`), []byte("no timestamp in this line")}
	for _, b := range bad {
		s.tt.Consume(string(s.topics.Input), "k", b)
	}
	for i := range bad {
		k, v, ok := s.dlq.Next()
		if !ok {
			t.Fatalf("dead letter %d missing", i)
		}
		if k != "k" || string(v.([]byte)) != string(bad[i]) {
			t.Errorf("dead letter %d: %q=%q, want the original record", i, k, v)
		}
	}
	if n := testutil.CollectAndCount(s.metrics.RecordsMalformed); n != 3 {
		t.Errorf("%d malformed reasons, want 3 distinct", n)
	}
	if n := testutil.ToFloat64(s.metrics.RecordsConsumed); n != 3 {
		t.Errorf("consumed %v, want 3", n)
	}
}

func TestStagesRejectTimeOutOfRange(t *testing.T) {
	s := newStages(t, processor.TimeFromRecord, processor.EmitFinal)
	s.tt.Consume(string(s.topics.Input), "", []byte(`10.0.0.1 - - [14/Aug/2019:00:49:48 +0000] "GET / HTTP/1.1" 200 1`),
		tester.WithTime(time.UnixMilli(-5)))
	if _, v, ok := s.dlq.Next(); !ok || len(v.([]byte)) == 0 {
		t.Fatal("record with a negative timestamp did not reach the dead-letter topic")
	}
	if n := testutil.ToFloat64(s.metrics.RecordsMalformed.WithLabelValues(processor.ReasonTimeOutOfRange)); n != 1 {
		t.Errorf("malformed{reason=%s} = %v, want 1", processor.ReasonTimeOutOfRange, n)
	}
}

func TestSlotKeysSpreadOverPartitions(t *testing.T) {
	keys := slotKeys("x-repartition", 12)
	part := sarama.NewCustomHashPartitioner(goka.DefaultHasher())("x-repartition")
	for i, k := range keys {
		p, err := part.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(k)}, 12)
		if err != nil || p != int32(i) {
			t.Errorf("slot %d: key %q goes to partition %d (%v)", i, k, p, err)
		}
	}
}

// TestPartitionKeysBeyondPartitions: with more sources than partitions
// (the input grew), every source gets a key of its own on partition
// source mod n, and the first n are the slot keys, which checkpoints
// written before the growth are stored under.
func TestPartitionKeysBeyondPartitions(t *testing.T) {
	const n = 4
	keys := newPartitionKeys("x-changelog", n)
	part := sarama.NewCustomHashPartitioner(goka.DefaultHasher())("x-changelog")
	seen := make(map[string]int32)
	for s := int32(n*3 - 1); s >= 0; s-- { // out of order: later keys first
		k := keys.key(s)
		if other, dup := seen[k]; dup {
			t.Fatalf("sources %d and %d share key %q", s, other, k)
		}
		seen[k] = s
		if p, _ := part.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(k)}, n); p != s%n {
			t.Errorf("source %d: key %q goes to partition %d, want %d", s, k, p, s%n)
		}
	}
	for i, k := range slotKeys("x-changelog", n) {
		if got := keys.key(int32(i)); got != k {
			t.Errorf("source %d: key %q, slot key %q", i, got, k)
		}
	}
}

// TestKeysOnTheirPartition: the keys of a checkpoint's pieces go to the
// partition of the checkpoint's key, and a part's key to its slot's
// partition, each distinct.
func TestKeysOnTheirPartition(t *testing.T) {
	const n = 6
	part := sarama.NewCustomHashPartitioner(goka.DefaultHasher())("x")
	on := func(key string) int32 {
		p, _ := part.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, n)
		return p
	}
	seen := make(map[string]bool)
	distinct := func(key string) {
		if seen[key] {
			t.Fatalf("key %q given twice", key)
		}
		seen[key] = true
	}
	keys := newPartitionKeys("x", n)
	for s := range int32(2 * n) {
		for piece := 1; piece <= 4; piece++ {
			k := keys.piece(s, piece)
			distinct(k)
			if on(k) != s%n {
				t.Errorf("source %d piece %d: key %q on partition %d, want %d", s, piece, k, on(k), s%n)
			}
		}
	}
	parts := newPartKeys(n)
	for p := range int32(n) {
		for w := range int64(5) {
			for src := state.Carried; src < 3; src++ {
				k := parts.key(p, state.PartID{Window: w * 2000, Source: src})
				distinct(k)
				if on(k) != p {
					t.Errorf("part %d/%d of partition %d: key %q on partition %d", w, src, p, k, on(k))
				}
			}
		}
	}
}
