package main

import (
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/oscheck/oscheck/cmd/internal/faultnet"
)

// startFaultyBroker starts an in-process broker, as startBroker does, whose
// listener injects the faults set on the returned Listener.
func startFaultyBroker(t *testing.T, partitions int32, topic string) ([]string, *faultnet.Listener) {
	t.Helper()
	var ln *faultnet.Listener
	addrs := startBroker(t, partitions, topic, faultyListen(&ln))
	return addrs, ln
}

// faultyListen is a kfake option that makes the cluster listen through a
// faultnet.Listener, stored in *ln. kfake advertises that listener's
// address, so every connection of every client passes through it, not only
// the bootstrap one.
func faultyListen(ln **faultnet.Listener) kfake.Opt {
	return kfake.ListenFn(func(network, address string) (net.Listener, error) {
		l, err := faultnet.Listen(network, address)
		if err != nil {
			return nil, err
		}
		*ln = l
		return l, nil
	})
}
