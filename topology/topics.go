package topology

import (
	"github.com/lovoo/goka"

	"github.com/oscheck/oscheck/topology/cluster"
)

// Topics names every topic the service reads or writes.
type Topics struct {
	Input       goka.Stream
	Output      goka.Stream
	Repartition goka.Stream
	// Changelog holds the parse stage's checkpoints, one key per input
	// partition, written under exactly_once_v2.
	Changelog   goka.Stream
	DeadLetter  goka.Stream
	Late        goka.Stream // "" when late records are only counted
	ParseGroup  goka.Group
	WindowGroup goka.Group
}

// TopicsFor derives the topic names from the configuration, Kafka Streams
// style: everything the service owns is prefixed with its group.
func TopicsFor(c Config) Topics {
	return Topics{
		Input:       goka.Stream(c.Input),
		Output:      goka.Stream(c.Output),
		Repartition: goka.Stream(c.Group + "-partials-repartition"),
		Changelog:   goka.Stream(c.Group + "-partials-changelog"),
		DeadLetter:  goka.Stream(c.Group + "-dlq"),
		Late:        goka.Stream(c.LateTopic),
		ParseGroup:  goka.Group(c.Group),
		WindowGroup: goka.Group(c.Group + "-window"),
	}
}

// checkCluster is the start-up check (cluster.Clients.Check) of what the
// service needs: read the input; write the output, the dead-letter and late
// topics; read and write its repartition topic, changelog and window table,
// and describe the table's configuration (goka checks that it is
// compacted); use both groups; under exactly_once_v2, its transactional
// ids.
func (s *Service) checkCluster() error {
	t := s.topics
	table := goka.GroupTable(t.WindowGroup)
	needs := cluster.Needs{
		Topics: []cluster.Topic{
			{Name: string(t.Input), Role: "input topic", Ops: []cluster.Op{cluster.Read}},
			{Name: string(t.Output), Role: "output topic", Ops: []cluster.Op{cluster.Write}},
			{Name: string(t.Repartition), Role: "repartition topic", Ops: []cluster.Op{cluster.Read, cluster.Write}},
			{Name: string(t.DeadLetter), Role: "dead-letter topic", Ops: []cluster.Op{cluster.Write}},
			{Name: string(table), Role: "window table topic", Ops: []cluster.Op{cluster.Read, cluster.Write, cluster.DescribeConfigs}},
			{Name: string(t.Changelog), Role: "parse stage's changelog topic", Ops: []cluster.Op{cluster.Read, cluster.Write}},
		},
		Groups: []string{string(t.ParseGroup), string(t.WindowGroup)},
	}
	if t.Late != "" {
		needs.Topics = append(needs.Topics, cluster.Topic{Name: string(t.Late), Role: "late topic", Ops: []cluster.Op{cluster.Write}})
	}
	if s.cfg.Guarantee.Transactional() {
		needs.Transactions = &cluster.Transactions{IDs: s.transactionalIDs(), Prefix: s.txnPrefix(),
			Guarantee: string(ExactlyOnceV2), Otherwise: string(AtLeastOnce)}
	}
	return s.clients.Check(needs)
}

// txnPrefix begins every transactional id of the group's instances.
func (s *Service) txnPrefix() string { return s.cfg.Group + "-" }
