// Package topology wires oscheck's two goka processor groups, their topics and
// the commit path between goka and sarama, and runs them as one service.
//
//	input ──parse group (<group>)──▶ <group>-partials-repartition ──window group (<group>-window)──▶ output
//	            │                                                        │
//	            ├─▶ <group>-dlq (malformed records)                      └─ table <group>-window-table
//	            └─▶ <group>-partials-changelog (checkpoints of the open windows)
//
// Every instance runs both groups, as every Kafka Streams instance runs every
// sub-topology; instances sharing a group share the partitions.
//
// Under exactly_once_v2 each stage's output, state changes and input offsets
// commit together in one Kafka transaction or not at all, and a session whose
// transaction aborts is dropped and rebuilt from what was committed
// (commit.go). Under at_least_once the gate keeps each stage's committed
// offset below every record whose effect is not durable (gate.go), and a
// replay emits again what it emitted before.
package topology
