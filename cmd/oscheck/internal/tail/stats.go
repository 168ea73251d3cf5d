package tail

import "sync/atomic"

// Stats counts what a Follower has done since Follow, for the shipper to
// report and export.
type Stats struct {
	Lines       uint64 // lines returned by Next
	Bytes       uint64 // file bytes those lines took: terminators and the skipped parts of long lines included
	Rotations   uint64 // files finished because path came to name another file, or none
	Truncations uint64 // times a file was found truncated (or rewritten in place) and read again from offset 0
	FilesLost   uint64 // Positions whose file was gone, or another file, at Follow: its unread lines are lost
	LongLines   uint64 // lines longer than MaxLineBytes, returned cut
}

// counters are Stats as the Follower updates them: atomically, so that
// Stats may be read from any goroutine while Next runs.
type counters struct {
	lines, bytes, rotations, truncations, filesLost, longLines atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Lines:       c.lines.Load(),
		Bytes:       c.bytes.Load(),
		Rotations:   c.rotations.Load(),
		Truncations: c.truncations.Load(),
		FilesLost:   c.filesLost.Load(),
		LongLines:   c.longLines.Load(),
	}
}
