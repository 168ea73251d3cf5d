package state

// TEMPORARY stand-in until the checkpoint of branch h-state is merged.

import (
	"encoding/json"
	"fmt"
)

type aggJSON struct {
	Watermark int64                    `json:"watermark"`
	Closed    int64                    `json:"closed"`
	Reported  int64                    `json:"reported"`
	Claimed   []int64                  `json:"claimed"`
	Open      map[int64]openWindowJSON `json:"open"`
}

type openWindowJSON struct {
	First  int64            `json:"first"`
	Counts map[string]int64 `json:"counts"`
}

func (a *Aggregator) Checkpoint() ([]byte, error) {
	j := aggJSON{Watermark: a.watermark, Closed: a.closed, Reported: a.reported, Claimed: a.claimed, Open: map[int64]openWindowJSON{}}
	for s, w := range a.open {
		j.Open[s] = openWindowJSON{First: w.firstOffset, Counts: w.counts}
	}
	return json.Marshal(j)
}

func RestoreAggregator(c AggregatorConfig, data []byte) (*Aggregator, error) {
	var j aggJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, err
	}
	a := NewAggregator(c)
	if len(j.Claimed) != len(a.claimed) {
		return nil, fmt.Errorf("slots differ")
	}
	a.watermark, a.closed, a.reported, a.claimed = j.Watermark, j.Closed, j.Reported, j.Claimed
	for s, w := range j.Open {
		a.open[s] = &openWindow{firstOffset: w.First, counts: w.Counts}
	}
	return a, nil
}
