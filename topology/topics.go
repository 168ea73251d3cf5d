package topology

import "github.com/lovoo/goka"

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
