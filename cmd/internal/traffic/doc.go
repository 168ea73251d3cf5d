// Package traffic generates realistic synthetic nginx access-log lines with
// known ground truth, for the demo command, tests and load generation.
//
// It guarantees that a Generator is deterministic for its seed, that every
// line's timestamp is the given instant truncated to the second, and that the
// os_type returned with a line is the bucket a correct classifier must count
// it under: the os_type query parameter's value when the line has one, and
// otherwise the bucket the User-Agent substring rules give (see uaTable).
// Append allocates nothing once dst has room for a line.
package traffic
