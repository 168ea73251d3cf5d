// Package ship tails an access log into a Kafka topic, exactly once.
//
// Each batch of lines is produced in one Kafka transaction together with the
// file position just past its last line, which is stored as the metadata of
// a transactional offset commit of the shipper's own consumer group (the
// way a Kafka Streams application commits its input offsets with its
// output). The package guarantees that:
//
//   - After a crash, a kill or a restart at any moment, a shipper with the
//     same ID resumes just past the last line of the last committed batch:
//     to read-committed consumers, every line of the file appears once, in
//     file order within a partition, with none lost. Starting fences off any
//     older shipper with the same ID still running (Kafka's zombie fencing),
//     and aborts the transaction it left open.
//   - The guarantee spans rotation by rename (logrotate's default, nginx
//     reopening on USR1) and holds across a restart while the file was
//     rotated, as long as the rotated file is still in the same directory
//     (see package tail). copytruncate loses the lines written between
//     logrotate's copy and its truncation, as it does for every reader.
//   - A batch is a whole number of lines, at most Config.BatchLines, all sent
//     to one partition; partitions take turns batch by batch, so a busy log
//     spreads evenly and each transaction writes one marker.
//   - A failed transaction is aborted and the same lines are sent again, with
//     backoff, until it commits or the context ends; a fenced or otherwise
//     fatal producer makes Run return an error.
package ship
