package topology

import (
	"os"
	"runtime/debug"

	"github.com/lovoo/goka"
)

// The service's throughput tuning, measured with cmd/bench (README,
// Performance). It is exported so the benchmark can give its goka baseline
// the same advantage; the sarama consumer's is cluster.TuneConsumer.

// PartitionChannel is the goka processor option that sizes the channel from
// a claim's goroutine to its partition processor. goka's 10 messages make
// the two goroutines hand over nearly every message by parking and waking
// each other; 4096 lets each run through a batch.
func PartitionChannel() goka.ProcessorOption { return goka.WithPartitionChannelSize(4096) }

// TuneGC sets the garbage collector's target to 200% unless GOGC says
// otherwise. goka and sarama allocate a few hundred bytes per record around
// a live heap of a few tens of megabytes, so the default 100% collects
// several times a second at full speed; 200% costs ~20 MB more and saves
// about a tenth of the CPU.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
}
