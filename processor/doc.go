// Package processor holds oscheck's goka callbacks and the per-partition
// bookkeeping they need to keep the commit safe.
//
// The parse stage (ParseStage) decodes each access-log record, classifies it and
// pre-aggregates it into the partition's open windows; when windows close it
// emits one state.Report per affected slot to the repartition topic. The window
// stage (WindowStage) merges reports into the slot's table value and emits each
// window's counts to the output topic once every source partition has closed
// it.
//
// Under exactly_once_v2 (Transactional) the topology commits in transactions:
// the parse stage reports and checkpoints its partitions' windows only in a
// transaction's Precommit, restores a partition from its checkpoint (Restore),
// and holds nothing back; the window stage never emits for a report read
// again. Under at_least_once both implement CommitFloor: goka marks a record's
// offset once the record's emits are acknowledged, and the topology clamps
// that mark to Floor so the committed offset never passes a record whose
// effect is not yet durable — for the parse stage, a record still counted only
// in memory.
package processor
