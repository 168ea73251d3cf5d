package state

import (
	"encoding/json"
	"testing"
)

// previousSlot is the window table's slot value as the release before parts
// decodes it (its state.Slot, field for field): the counts of the windows
// not final yet under "open", the finals kept under "finals", the updates a
// replay may emit under "updates".
type previousSlot struct {
	Applied int64                      `json:"applied"`
	Topic   string                     `json:"topic,omitempty"`
	Base    int64                      `json:"base,omitempty"`
	Sources int32                      `json:"sources"`
	Claims  map[int32]Intervals        `json:"claims"`
	Joined  map[int32]Intervals        `json:"joined,omitempty"`
	Open    map[int64]map[string]int64 `json:"open,omitempty"`
	Finals  []Final                    `json:"finals,omitempty"`
	Updates []Final                    `json:"updates,omitempty"`
}

// TestAttackPreviousReleaseRefusesSlotsWithParts: during a rolling update
// (the StatefulSet's RollingUpdate in deploy/kubernetes) instances of the
// previous release and of this one share the group, and a window table
// partition this release wrote may move to an instance of the previous one
// (a rebalance: a pod gone past the session timeout, a scale, a dynamic
// member). That release reads the slot's value and knows nothing of its
// parts. It must refuse the value (its codec fails, so its stage stops on
// the partition) rather than take it for a slot with no counts: it would
// then finalise the slot's windows with the counts it applies itself only,
// and write those finals to os-check.
//
// Observed: the value decoded without an error, as a slot with no open
// window; window 0, counted from partition 0 under this release, was final
// under the previous one with partition 1's 3 ios only.
func TestAttackPreviousReleaseRefusesSlotsWithParts(t *testing.T) {
	s := NewSlot()
	s.Apply(rep(0, 2, Unbounded, 1000, part(0, counts{"android": 2})), 0, slotCfg)
	b, err := SlotCodec{}.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	var old previousSlot
	if err := json.Unmarshal(b, &old); err == nil && len(old.Open) == 0 {
		t.Fatalf("the previous release decodes %s as a slot without counts: it would finalise window 0 without partition 0's", b)
	}
}
