package processor

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oscheck/oscheck/state"
)

// TestAttackPreviousReleaseRefusesPiecedCheckpoint: in a rolling update an
// instance of the release before pieces (9f070b2) may claim a partition
// whose last checkpoint this release wrote in pieces. That release's Restore
// decodes the record as below and restores the aggregator from the
// "aggregator" field; the pieced checkpoint has none, and the restore must
// fail (that release then retries the claim and never counts the
// partition) rather than decode an empty aggregator and start the
// partition's open windows from nothing.
func TestAttackPreviousReleaseRefusesPiecedCheckpoint(t *testing.T) {
	cfg := piecesConfig()
	p := NewParseStage(cfg, NewMetrics(prometheus.NewRegistry()))
	in := new(piecesInput)
	in.fill(p, piecesStart)
	recs, err := p.Precommit()
	if err != nil {
		t.Fatal(err)
	}
	var value []byte
	pieces := 0
	for _, r := range recs {
		switch r.Key {
		case "c0":
			value = r.Value
		case "c0#1", "c0#2", "c0#3", "c0#4":
			pieces++
		}
	}
	if value == nil || pieces < 2 {
		t.Fatalf("checkpoint %d bytes, %d pieces: want one in pieces", len(value), pieces)
	}
	// 9f070b2's checkpoint and Restore, as they were.
	var old struct {
		Next       int64           `json:"next"`
		Aggregator json.RawMessage `json:"aggregator"`
		Checked    bool            `json:"checked,omitempty"`
	}
	if err := json.Unmarshal(value, &old); err != nil {
		return // refused: the claim fails
	}
	if old.Next != in.offset {
		t.Fatalf("checkpoint at %d, want %d: the previous release would start the partition empty for another reason", old.Next, in.offset)
	}
	agg, err := state.RestoreAggregator(p.aggregatorConfig(0), old.Aggregator)
	if err == nil {
		t.Fatalf("the previous release restores the pieced checkpoint as %d open windows, not the %d it holds",
			agg.OpenWindows(), 40)
	}
	t.Logf("the previous release refuses it: %v", err)
}

// TestAttackStalePiecesDeleted: a checkpoint written in fewer pieces than
// the partition's one before (or in none) deletes the pieces beyond its
// count in its transaction (tombstones), whether the parser wrote the
// earlier checkpoint or restored it. Compaction keeps a key's last value
// for ever: without them, every piece a burst of open windows once took
// stays in the changelog for as long as the group lives.
//
// Observed: the later checkpoint wrote only its own record; the changelog
// kept every piece of the earlier one.
func TestAttackStalePiecesDeleted(t *testing.T) {
	cfg := piecesConfig()
	at := piecesStart
	in := new(piecesInput)
	changelog := map[string][]byte{}
	commit := func(p *ParseStage) {
		t.Helper()
		recs, err := p.Precommit()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Topic != "changelog" {
				continue
			}
			if r.Value == nil {
				delete(changelog, r.Key)
			} else {
				changelog[r.Key] = r.Value
			}
		}
	}
	stale := func(when string) {
		t.Helper()
		var cp checkpoint
		if err := json.Unmarshal(changelog["c0"], &cp); err != nil {
			t.Fatal(err)
		}
		for key := range changelog {
			var n int
			if _, err := fmt.Sscanf(key, "c0#%d", &n); err == nil && n > cp.Pieces {
				t.Errorf("%s: piece %q is still in the changelog beside a checkpoint of %d pieces", when, key, cp.Pieces)
			}
		}
	}
	pieces := func(n int) ([][]byte, error) {
		var out [][]byte
		for i := 1; i <= n; i++ {
			out = append(out, changelog[fmt.Sprintf("c0#%d", i)])
		}
		return out, nil
	}

	// Written by the parser.
	p := NewParseStage(cfg, NewMetrics(prometheus.NewRegistry()))
	in.fill(p, at)
	commit(p)
	if len(changelog) < 3 {
		t.Fatalf("changelog %d records: want a checkpoint in pieces", len(changelog))
	}
	at = at.Add(2 * time.Hour)
	in.line(p, at, "ios") // closes every window
	commit(p)
	stale("after the parser's smaller checkpoint")

	// Restored: a checkpoint in pieces, then a new owner's smaller one.
	in.fill(p, at)
	commit(p)
	after := NewParseStage(cfg, NewMetrics(prometheus.NewRegistry()))
	if restored, err := after.Restore(0, changelog["c0"], in.offset, pieces); !restored || err != nil {
		t.Fatalf("restore: %v, %v", restored, err)
	}
	at = at.Add(2 * time.Hour)
	in.line(after, at, "ios")
	commit(after)
	stale("after a restored partition's smaller checkpoint")
}
