// Package tail follows a log file by its path, as tail -F does, so that a
// shipper can send every line exactly once: Next returns complete lines with
// the Position just past them, and a Follower started again from that
// Position, in this process or after a crash, returns the line after them.
//
// The package guarantees that:
//
//   - Lines come in file order, each once, and only when complete: ended by
//     '\n', returned without it and without a '\r' before it. The one
//     exception is the last line of a file that has been rotated away and
//     drained (below): it is returned, as it is, even with no '\n'.
//   - Rename rotation (logrotate's default with nginx: mv access.log
//     access.log.1, then USR1) loses and repeats nothing. nginx workers keep
//     writing to the renamed file until each has reopened the log, so the
//     Follower keeps reading the old file until it is at its end and has not
//     grown for RotateDrain, and only then reads the new file from its start.
//     Writes to the old file later than that are not read.
//   - A path deleted and not yet created again is handled the same way: the
//     open file is read to its end and drained, then the Follower waits for
//     path to name a file again.
//   - copytruncate rotation: a file found shorter than the offset read, or
//     whose first bytes changed, is read again from offset 0, and counted in
//     Stats.Truncations. copytruncate loses, by its design, the lines written
//     between logrotate's copy and its truncate; the lines that were in the
//     file but not yet read when it was truncated are lost here too, since
//     they are only in the copy, which the Follower does not know of.
//   - Resuming from a Position finds the file by inode, even renamed within
//     path's directory, and checks it is still the same file (see
//     fingerprint.go); see Follow for what happens when it is not.
//   - Memory is bounded: a Follower buffers at most MaxLineBytes + 64 KiB.
//     A longer line is returned cut to MaxLineBytes and the rest of it is
//     skipped as it is read, so it neither grows memory nor stalls reading.
//   - No inotify: files are watched by stat polling every PollInterval, which
//     works on every file system, including network ones.
//
// What it does not do: when path was rotated more than once while no
// Follower ran, only the file of the Position and the file at path are read;
// the files in between are not, and nothing counts them. A replacement file
// whose first FingerprintLen bytes equal the old one's is taken for it.
//
// The package is for Linux (it reads inode numbers from syscall.Stat_t).
package tail
