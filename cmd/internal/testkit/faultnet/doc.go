// Package faultnet injects network faults between a server and its clients,
// for end-to-end tests: added latency, connection resets and a server that
// cannot be reached.
//
// A Listener wraps the server's own listener, so the faults reach every
// connection the server accepts, not only those to one proxied address. For
// an in-process Kafka broker this is what makes them complete: kfake
// advertises its listener's address in metadata, so the clients' bootstrap
// connections and every connection they open afterwards (to the group
// coordinator, the partition leaders, the transaction coordinator) pass
// through the same Listener:
//
//	var ln *faultnet.Listener
//	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(
//		func(network, address string) (net.Listener, error) {
//			l, err := faultnet.Listen(network, address)
//			if err != nil {
//				return nil, err // not a nil *Listener in a non-nil interface
//			}
//			ln = l
//			return l, nil
//		}))
//
// The faults act on the server's side of each connection, which is where a
// real broker's network problems show up to its clients too: latency delays
// the bytes the server writes, a reset aborts a connection with a TCP RST,
// and while the Listener is down the server is unreachable. Faults can be
// switched at any time, from any goroutine, while connections carry traffic.
package faultnet
