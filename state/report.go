package state

// Report is what one source (input) partition tells one slot of the window
// stage: every window of the slot inside the claim [From, To) is closed at the
// source, and Partials holds the source's counts for those that had records.
// A window with no partial in a report that claims it had no records there.
//
// From and To are window boundaries; From may be Unbounded.
type Report struct {
	Source   int32     `json:"source"`  // input partition that produced the report
	Sources  int32     `json:"sources"` // number of input partitions
	From     int64     `json:"from"`
	To       int64     `json:"to"`
	Partials []Partial `json:"partials,omitempty"`
}

// Partial is one source partition's counts for one window.
type Partial struct {
	Start  int64            `json:"start"`
	Counts map[string]int64 `json:"counts"`
}
