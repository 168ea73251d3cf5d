package processor

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/state"
)

// TestCheckpointInPieces: a partition whose open windows take more than
// MaxCheckpointBytes (a long grace, hundreds of os types a window) is
// checkpointed in pieces of at most that size, the checkpoint itself last,
// and restored from them exactly; pieces that are not the checkpoint's are
// refused; a later checkpoint that fits one record restores from it alone.
func TestCheckpointInPieces(t *testing.T) {
	cfg := piecesConfig()
	before := NewParseStage(cfg, NewMetrics(prometheus.NewRegistry()))
	in := new(piecesInput)
	in.fill(before, piecesStart)
	changelog := map[string][]byte{}
	commit := func(p *ParseStage) (keys []string) {
		t.Helper()
		recs, err := p.Precommit()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Topic == "changelog" {
				changelog[r.Key] = r.Value
				keys = append(keys, r.Key)
				if len(r.Value) > MaxCheckpointBytes {
					t.Errorf("changelog record %s is %d bytes, over %d", r.Key, len(r.Value), MaxCheckpointBytes)
				}
			}
		}
		return keys
	}
	keys := commit(before)
	if len(keys) < 3 || keys[len(keys)-1] != "c0" {
		t.Fatalf("changelog records %v: want pieces, then the checkpoint", keys)
	}
	piece := func(n int) ([][]byte, error) {
		var out [][]byte
		for i := 1; i <= n; i++ {
			v, ok := changelog[fmt.Sprintf("c0#%d", i)]
			if !ok {
				return nil, fmt.Errorf("no piece %d", i)
			}
			out = append(out, v)
		}
		return out, nil
	}
	restore := func() (*ParseStage, error) {
		after := NewParseStage(cfg, NewMetrics(prometheus.NewRegistry()))
		restored, err := after.Restore(0, changelog["c0"], in.offset, piece)
		if err == nil && !restored {
			t.Fatal("the checkpoint was not restored")
		}
		return after, err
	}
	after, err := restore()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := before.partition(0).agg.Checkpoint()
	if got, _ := after.partition(0).agg.Checkpoint(); !bytes.Equal(got, want) {
		t.Fatalf("restored windows differ from the checkpointed ones (%d and %d bytes)", len(got), len(want))
	}

	good := changelog["c0#2"]
	changelog["c0#2"] = bytes.Repeat([]byte("x"), len(good))
	if _, err := restore(); err == nil || !strings.Contains(err.Error(), "pieces") {
		t.Fatalf("restored from a piece that is not the checkpoint's: %v", err)
	}
	changelog["c0#2"] = good

	// Everything closes: the next checkpoint fits one record, deletes the
	// pieces of the one before (TestAttackStalePiecesDeleted), and pieces
	// left in the changelog are not read.
	pieces := len(keys) - 1
	in.line(before, piecesStart.Add(2*time.Hour), "ios")
	if keys := commit(before); len(keys) != pieces+1 || keys[pieces] != "c0" || changelog["c0#1"] != nil {
		t.Fatalf("changelog records %v: want the deletion of %d pieces, then the checkpoint", keys, pieces)
	}
	changelog["c0#1"] = nil
	if _, err := restore(); err != nil {
		t.Fatal(err)
	}
}

// piecesConfig is a parse stage whose checkpoints go in pieces once it
// holds many windows open: a long grace, hundreds of os types a window.
func piecesConfig() ParseStageConfig {
	return ParseStageConfig{
		Windows: state.Windows{Size: 1000}, Grace: time.Hour, Idle: time.Hour, OSParam: "os_type", MaxOSTypes: 300,
		Sources: 1, SlotKeys: []string{"s0"}, Repartition: "reports", DeadLetter: "dlq", Transactional: true,
		Changelog: "changelog", ChangelogKey: func(int32) string { return "c0" },
		ChangelogPieceKey: func(_ int32, n int) string { return fmt.Sprintf("c0#%d", n) },
	}
}

// piecesStart is a window start for piecesInput.fill.
var piecesStart = time.Date(2019, 8, 14, 0, 0, 0, 0, time.UTC)

// piecesInput gives parse stages lines at consecutive offsets.
type piecesInput struct{ offset int64 }

func (in *piecesInput) line(p *ParseStage, t time.Time, osType string) {
	p.Consume(&recordContext{offset: in.offset, timestamp: time.Now()}, []byte(fmt.Sprintf(
		`10.0.0.1 - - [%s] "GET /?os_type=%s HTTP/1.1" 200 1`, t.Format("02/Jan/2006:15:04:05 -0700"), osType)))
	in.offset++
}

// fill gives p 40 windows of 250 os types each from start on, all held
// open: a checkpoint in pieces.
func (in *piecesInput) fill(p *ParseStage, start time.Time) {
	for w := range 40 {
		for i := range 250 {
			in.line(p, start.Add(time.Duration(w)*time.Second), fmt.Sprintf("scanner.os-%06d", i))
		}
	}
}
