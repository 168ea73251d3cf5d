package state

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// SlotCodec encodes *Slot values.
type SlotCodec struct{}

// Encode encodes a *Slot.
func (SlotCodec) Encode(v any) ([]byte, error) {
	s, ok := v.(*Slot)
	if !ok {
		return nil, fmt.Errorf("slot codec: cannot encode %T", v)
	}
	return json.Marshal(s)
}

// Decode decodes a *Slot.
func (SlotCodec) Decode(data []byte) (any, error) {
	s := NewSlot()
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("slot codec: %w", err)
	}
	// A null in the JSON leaves a nil map, which Apply would write to.
	if s.Claims == nil {
		s.Claims = make(map[int32]Intervals)
	}
	if s.Open == nil {
		s.Open = make(map[int64]map[string]int64)
	}
	return s, nil
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
// value that has no Applied is a new slot's (-1).
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
