// Command devbroker is a local Kafka-protocol broker for development and for
// oscheck's chaos test: kfake on a fixed port, with topics created on demand
// and, given --data-dir, everything (records, committed offsets, groups)
// persisted so the broker can be stopped and started again where it was.
//
//	go run ./cmd/devbroker --data-dir /tmp/kafka --topics access_log:12
//
// It is not a production broker: one node, no replication.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if !errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "devbroker:", err)
		}
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := pflag.NewFlagSet("devbroker", pflag.ContinueOnError)
	port := fs.Int("port", 9092, "port to listen on (loopback and all interfaces)")
	dataDir := fs.String("data-dir", "", "persist the broker's state here (empty: memory only)")
	syncWrites := fs.Bool("sync-writes", false, "fsync every produced batch (survives a kill -9 of the broker too)")
	partitions := fs.Int("partitions", 6, "partitions of topics created on demand")
	topics := fs.StringSlice("topics", nil, "topics to create at start, as name:partitions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(*port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(*partitions),
	}
	if *dataDir != "" {
		opts = append(opts, kfake.DataDir(*dataDir))
	} else {
		// In memory, a segment is a byte slice that doubles as it fills:
		// at kfake's default 100 MB, each partition copies up to 64 MB at
		// once, and under steady load every partition does so at about the
		// same moment, stalling every request for half a second.
		opts = append(opts, kfake.BrokerConfigs(map[string]string{"log.segment.bytes": strconv.Itoa(memorySegmentBytes)}))
	}
	if *syncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	for _, t := range *topics {
		name, n, ok := strings.Cut(t, ":")
		parts, err := strconv.Atoi(n)
		if !ok || name == "" || err != nil || parts < 1 {
			return fmt.Errorf("--topics: %q is not name:partitions", t)
		}
		opts = append(opts, kfake.SeedTopics(int32(parts), name))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("starting broker: %w", err)
	}
	fmt.Printf("devbroker listening on %s\n", strings.Join(c.ListenAddrs(), ","))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	c.Close()
	fmt.Println("devbroker stopped")
	return nil
}

// memorySegmentBytes is the segment size of a broker kept in memory.
const memorySegmentBytes = 8 << 20
