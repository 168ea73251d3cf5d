package processor

import "fmt"

// TimeSource says which clock gives a record its event time.
type TimeSource string

const (
	// TimeFromLog uses the access log's own timestamp (the default).
	TimeFromLog TimeSource = "log"
	// TimeFromRecord uses the Kafka record's timestamp, as the reference
	// Kafka Streams app does.
	TimeFromRecord TimeSource = "record"
	// TimeFromWall uses the wall clock at processing time.
	TimeFromWall TimeSource = "wall"
)

// ParseTimeSource validates s.
func ParseTimeSource(s string) (TimeSource, error) {
	switch ts := TimeSource(s); ts {
	case TimeFromLog, TimeFromRecord, TimeFromWall:
		return ts, nil
	}
	return "", fmt.Errorf("unknown time source %q (want log, record or wall)", s)
}

// EmitMode says when the window stage writes a window's count.
type EmitMode string

const (
	// EmitFinal writes exactly one record per os and window, once the window is final.
	EmitFinal EmitMode = "final"
	// EmitUpdate writes the new count whenever a source partition's report changes it.
	EmitUpdate EmitMode = "update"
)

// ParseEmitMode validates s.
func ParseEmitMode(s string) (EmitMode, error) {
	switch m := EmitMode(s); m {
	case EmitFinal, EmitUpdate:
		return m, nil
	}
	return "", fmt.Errorf("unknown emit mode %q (want final or update)", s)
}
