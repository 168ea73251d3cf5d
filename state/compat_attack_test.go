package state

import (
	"encoding/json"
	"fmt"
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

// TestAttackRestoreKeepsNewerCarriedPart: under at_least_once this release
// takes over a slot the release before wrote (counts in the value), decodes
// its counts as parts of source Carried and writes them first, and crashes
// before it writes the slot: the table holds the old slot and the carried
// part. In a rolling update an instance of the release before then takes
// the partition, counts a report more into the same window and writes its
// slot (it knows nothing of parts). When this release reads the partition
// again, the carried part the slot's counts give must win over the one its
// crashed run left, which is older.
//
// Observed: restoring the stored parts after decoding the slot replaced the
// carried part (3 linux, as of the old release's report at 6) with the
// stored one (1 linux, as of 5), and wrote that: window 1000 lost the 2
// linux of the report at 6.
func TestAttackRestoreKeepsNewerCarriedPart(t *testing.T) {
	legacy := func(applied int64, linux int64) []byte {
		return fmt.Appendf(nil, `{"applied":%d,"sources":2,"claims":{"0":[{"from":-9223372036854775808,"to":2000}]},`+
			`"open":{"1000":{"linux":%d}}}`, applied, linux)
	}
	tbl := store{"slot": legacy(5, 1)}
	crashed := tbl.load(t)
	ops := writes(t, crashed)
	if len(ops) != 2 || ops[0].key != partKey(PartID{1000, Carried}) {
		t.Fatalf("test setup: writes after decoding the old slot %+v, want the carried part, then the slot", ops)
	}
	tbl.do(ops[:1]) // the carried part; the crash loses the slot's write
	tbl["slot"] = legacy(6, 3)
	s := tbl.load(t)
	if got := s.Open()[1000]["linux"]; got != 3 {
		t.Errorf("window 1000 restored with %d linux, want the old release's last slot's 3", got)
	}
}

// TestAttackRestoreDropsPartsAnOlderReleaseCounted: as
// TestAttackRestoreKeepsNewerCarriedPart, but the crashed run of this
// release also counted a report (at 6, partition 1's 2 linux in window
// 1000) and stored its part before the crash lost the slot's write. The
// instance of the release before that then takes the partition applies the
// same report at 6 and writes its slot, whose counts include those 2 linux.
// This release, reading the partition again, must not count them twice:
// the part is an older write of what the slot's own counts hold.
//
// Observed: window 1000 was restored with 5 linux (the old slot's 3 and
// the stored part's 2), which its final would have carried.
func TestAttackRestoreDropsPartsAnOlderReleaseCounted(t *testing.T) {
	legacy := func(applied int64, linux int64, claimed string) []byte {
		return fmt.Appendf(nil, `{"applied":%d,"sources":3,"claims":{%s},"open":{"1000":{"linux":%d}}}`, applied, claimed, linux)
	}
	const claim0 = `"0":[{"from":-9223372036854775808,"to":2000}]`
	const claim1 = `"1":[{"from":-9223372036854775808,"to":2000}]`
	tbl := store{"slot": legacy(5, 1, claim0)}
	crashed := tbl.load(t)
	crashed.Apply(rep(1, 3, Unbounded, 2000, part(1000, counts{"linux": 2})), 6, slotCfg)
	ops := writes(t, crashed)
	if len(ops) != 3 || ops[1].key != partKey(PartID{1000, 1}) {
		t.Fatalf("test setup: writes %+v, want the carried part, partition 1's, then the slot", ops)
	}
	tbl.do(ops[:2]) // both parts; the crash loses the slot's write
	tbl["slot"] = legacy(6, 3, claim0+","+claim1)
	s := tbl.load(t)
	if got := s.Open()[1000]["linux"]; got != 3 {
		t.Errorf("window 1000 restored with %d linux, want the old release's last slot's 3", got)
	}
	if _, ok := tbl[partKey(PartID{1000, 1})]; ok {
		t.Errorf("the part the old release's slot holds the counts of is left in the table")
	}
}
