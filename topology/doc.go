// Package topology wires oscheck's two goka processor groups, their topics and
// the commit gate between goka and sarama, and runs them as one service.
//
//	input ──parse group (<group>)──▶ <group>-partials-repartition ──window group (<group>-window)──▶ output
//	            │                                                        │
//	            └─▶ <group>-dlq (malformed records)                      └─ table <group>-window-table
//
// Every instance runs both groups, as every Kafka Streams instance runs every
// sub-topology; instances sharing a group share the partitions.
package topology
