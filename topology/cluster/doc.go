// Package cluster is how oscheck talks to the Kafka cluster, below goka: the
// configuration and security of every client, the start-up check, the broker
// probe, and the reads that see a partition as a read-committed consumer
// does. It knows topics by name only; which topics, groups and
// transactional ids a service uses, and why, is package topology's.
//
// # Clients
//
// Security is the one source of TLS and SASL for both client libraries:
// Security.Apply configures a sarama client and Security.KgoOpts a franz-go
// one, from the same TLS configuration (Security.TLSConfig, TLS 1.2 or
// later) and the same SASL mechanism (PLAIN, SCRAM-SHA-256 or
// SCRAM-SHA-512; SCRAM is franz-go's in both). Security.Validate reports
// every invalid or contradictory setting and reads the TLS files, so that a
// missing or malformed file fails at start rather than at the first
// connection. Secret keeps the password out of every log: fmt, slog and
// encoders print it as "[redacted]".
//
// Clients makes each sarama configuration of a service (Clients.Sarama,
// Clients.Producer, Clients.ConsumerGroup) from one set of settings, the TLS
// files read once by NewClients. Every configuration reads committed records
// only, never creates a topic by auto-creation, waits for all in-sync
// replicas on a produce, and retries produces and metadata for about 30 s
// before an error reaches the caller; Clients.Producer's are idempotent. A
// configuration made after Clients.RecordLimit is set batches within it.
//
// # Errors
//
// Every error that one configuration key can cure is a *KeyError naming the
// key, its message beginning `config key "<key>":`. A topic, consumer group
// or transactional id the principal may not use is an *AccessError naming
// it and what to grant. A broker that cannot be talked to for a reason that
// may pass (refused, reset, timed out) is an *UnreachableError, whose message
// names the key "brokers". Permanent tells the errors a retry cannot cure
// (*KeyError, *AccessError, and the brokers' authorization errors) from
// those it may.
//
// # The start-up check
//
// Clients.Check connects to the bootstrap brokers as every client will and
// asks whether the principal may do what Needs says: read, write or
// describe each topic, use each group, and, under transactions, describe
// each transactional id on brokers of Kafka 2.5 or later (TxnOffsetCommit
// v3, KIP-447). It succeeds as soon as one broker answers and allows all of
// it. A connection that fails is diagnosed, where the error tells or a
// second connection without TLS or SASL shows it: a broker that does not
// speak TLS, or speaks only TLS; a certificate the CA file does not hold, for
// another name, or expired; a client certificate refused; credentials or a
// mechanism rejected. Otherwise it fails with the most definite cause it
// found (a rejected configuration before an unreachable broker), within 20 s
// whatever the network does. RecordLimit checks that each topic a service
// writes takes the records it writes (MinRecordLimit).
//
// # Committed records
//
// LastCommitted and LastCommittedOf find a partition's last committed data
// record below its last stable offset, past commit markers and aborted
// transactions; CaughtUpTo tells whether a read-committed consumer has
// anything left to read; Settle waits until no transaction is open on a
// partition, or fails after the time given. StableTopicManagerBuilder gives
// goka a topic manager whose newest offset of a partition is one past its
// last committed data record, so that a restore under read_committed ends.
// They send requests of their own to the partition's leader, and their
// errors name the topic and partition.
//
// # Retries
//
// NewBackoff is the wait of every retry loop of oscheck: from an initial
// wait, doubled by each retry, with jitter, but never above its limit.
//
// # The broker probe
//
// A Probe asks the brokers every 5 s, on a connection of its own, whether
// they answer; Probe.Unreachable says why they count as unreachable once no
// probe has succeeded for 15 s, or none ever has.
package cluster
