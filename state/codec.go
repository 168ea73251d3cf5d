package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// The codecs below satisfy goka.Codec. They use JSON: reports and slots are
// per window, not per record, so their size and speed do not matter, and a
// user reading the repartition or changelog topic with any console consumer
// sees what the service decided.

// ReportCodec encodes *Report values.
type ReportCodec struct{}

// Encode encodes a *Report.
func (ReportCodec) Encode(v any) ([]byte, error) {
	r, ok := v.(*Report)
	if !ok {
		return nil, fmt.Errorf("report codec: cannot encode %T", v)
	}
	return json.Marshal(r)
}

// Decode decodes a *Report.
func (ReportCodec) Decode(data []byte) (any, error) {
	r := new(Report)
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("report codec: %w", err)
	}
	return r, nil
}

// SlotCodec encodes the window table's values: *Slot and *Part.
type SlotCodec struct{}

// Encode encodes a *Slot or a *Part.
func (SlotCodec) Encode(v any) ([]byte, error) {
	switch v := v.(type) {
	case *Slot:
		return json.Marshal(struct {
			*Slot
			Format string `json:"updates"`
		}{v, partsFormat})
	case *Part:
		return json.Marshal(v)
	}
	return nil, fmt.Errorf("slot codec: cannot encode %T", v)
}

// Decode decodes a *Slot, or a *Part: a value whose second field is
// "window". A slot written before parts had values of their own decodes with
// its counts as parts of source Carried, which its Changes return.
func (SlotCodec) Decode(data []byte) (any, error) {
	if isPart(data) {
		p := new(Part)
		if err := json.Unmarshal(data, p); err != nil {
			return nil, fmt.Errorf("slot codec: part: %w", err)
		}
		return p, nil
	}
	v := struct {
		*Slot
		// What slots held before parts had values of their own.
		Open   map[int64]map[string]int64 `json:"open"`
		Finals []Final                    `json:"finals"`
	}{Slot: NewSlot()}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("slot codec: %w", err)
	}
	s := v.Slot
	// A null in the JSON leaves a nil map, which Apply would write to.
	if s.Claims == nil {
		s.Claims = make(map[int32]Intervals)
	}
	// Parts stored beside a slot of the release before parts are what a
	// run of this release wrote before it crashed (Restore).
	s.legacy = v.Open != nil || v.Finals != nil
	for _, f := range v.Finals {
		s.Closed = append(s.Closed, Closed{Start: f.Start, Offset: f.Offset})
		s.carry(f.Start, f.Counts, f.Offset)
	}
	for _, start := range slices.Sorted(maps.Keys(v.Open)) {
		s.carry(start, v.Open[start], s.Applied)
	}
	return s, nil
}

// partsFormat is what a slot's encoding holds under "updates", where the
// release before parts kept a list of updates: that release's codec fails
// on the value instead of reading a slot without counts (it knows nothing of
// parts), so an instance of it in a group this release wrote (a rolling
// update) stops on the slot rather than finalise windows without the
// counts of their parts. Decode ignores it.
const partsFormat = "in parts"

// carry makes counts a part of source Carried, to be written.
func (s *Slot) carry(start int64, counts map[string]int64, applied int64) {
	if s.Restore(&Part{Applied: applied, Window: start, Source: Carried, Counts: counts}) {
		s.written = append(s.written, PartID{start, Carried})
	}
}

// partPrefix follows a part's applied position.
var partPrefix = []byte(`,"window":`)

func isPart(data []byte) bool {
	rest, ok := bytes.CutPrefix(data, appliedPrefix)
	if !ok {
		return false
	}
	end := bytes.IndexAny(rest, ",}")
	return end > 0 && bytes.HasPrefix(rest[end:], partPrefix)
}

// SlotSupersedes reports whether next, an encoded slot, should replace prev,
// the encoded slot stored under the same key: whether next has applied at
// least as far (ties go to next).
//
// It is the rule for every store of the window table, the processor's own
// writes and a restore from the changelog alike. In at_least_once mode
// nothing fences a partition's previous owner: its producer's retries can
// land in the changelog after the new owner's writes, and a restore that took
// the last value would roll the slot back to before reports whose offsets are
// committed already: their claims and partials would be lost.
// Apply is deterministic and Applied only rises along the slot's one history,
// so the value that applied further is the later state of that history; two
// values at the same Applied differ at most in what they retain.
//
// It reads only Applied from each value and checks nothing else of it. A
// value that has no Applied is a new slot's (-1). Parts (Part) follow the
// same rule: a part is written once, at the position that counted it.
func SlotSupersedes(prev, next []byte) (bool, error) {
	p, err := slotApplied(prev)
	if err != nil {
		return false, fmt.Errorf("slot codec: stored value: %w", err)
	}
	n, err := slotApplied(next)
	if err != nil {
		return false, fmt.Errorf("slot codec: new value: %w", err)
	}
	return n >= p, nil
}

// appliedPrefix starts every slot SlotCodec encodes: Applied is Slot's first
// field.
var appliedPrefix = []byte(`{"applied":`)

func slotApplied(data []byte) (int64, error) {
	if rest, ok := bytes.CutPrefix(data, appliedPrefix); ok {
		if end := bytes.IndexAny(rest, ",}"); end > 0 {
			if n, err := strconv.ParseInt(string(rest[:end]), 10, 64); err == nil {
				return n, nil
			}
		}
	}
	// Slots encoded before Applied came first, or by other means.
	v := struct {
		Applied int64 `json:"applied"`
	}{Applied: -1}
	if err := json.Unmarshal(data, &v); err != nil {
		return 0, err
	}
	return v.Applied, nil
}
