// Package state holds oscheck's window state and the rules that move it: the
// window arithmetic, the per-source-partition pre-aggregation of the parse
// stage (Aggregator), the messages it sends to the window stage (Report), and
// the window stage's table values (a Slot and its Parts) with their merge and
// close rules.
//
// Everything here is pure and deterministic: the same inputs in the same order
// give the same outputs, which is what makes a replay after a crash rebuild
// exactly what the crashed run would have produced. Nothing here does I/O.
//
// Guarantees, relied on by the topology:
//   - An Aggregator reports every window it closes exactly once per run, inside
//     a claim [From, To) that covers it; windows with records carry their counts.
//   - A Slot counts a source's partial for a window only if no earlier claim of
//     that source covers the window, so a replayed or duplicated report changes
//     nothing; claims may arrive in any order.
//   - A Slot finalises a window once the claims of every source it knows of
//     cover it, and only then (a source that joins later finds the windows
//     final before it joined final: Grow); a window is finalised at most once.
//   - A Slot's number of sources only rises (Grow, or a report that names
//     more): a source that joins after windows were final has its partials
//     for them returned as Output.Late, never counted in a final.
//   - A Report split (Report.Split) leaves a Slot as the whole report would.
//   - An Aggregator restored from its Checkpoint behaves exactly as the one
//     checkpointed would have, and a checkpoint is refused (MismatchError) by
//     an Aggregator configured otherwise.
//   - A Slot applied with SlotConfig.Committed returns, for a report read again
//     at any offset from Committed on, exactly what that report returned first.
//   - A Slot's own encoding holds no counts: they are Parts, one per window and
//     source, which Changes hands out to be stored beside it (those a report
//     counted, those it dropped). Stored in that order around the slot, any
//     prefix of one report's writes restores (Restore) to a slot that goes on
//     as if the report had not been applied, or had been whole.
//   - No value this package encodes for a table grows with the windows that
//     wait: a slot grows with its sources, their claim ranges and the finals
//     it keeps (Retain, and those a replay may need), a Part with
//     the os types of one source's window (TypeBound).
package state
