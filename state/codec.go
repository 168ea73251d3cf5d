package state

import (
	"encoding/json"
	"fmt"
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
