package faultnet

import (
	"net"
	"sync"
	"time"
)

// Listener is a net.Listener whose accepted connections suffer the faults
// set on it. It is safe for concurrent use; the zero value is not usable,
// use Listen or Wrap.
type Listener struct {
	net.Listener

	mu      sync.Mutex
	conns   map[*conn]struct{} // accepted, handed out and not yet closed
	latency time.Duration
	down    bool
	refuse  int // connections still to reset at once, whether down or not
	stats   Stats
}

// Stats counts what a Listener did to connections since it was created.
type Stats struct {
	Accepted int // connections handed to the server by Accept
	Refused  int // connections reset at once because the Listener was down
	Reset    int // handed-out connections aborted by Reset or SetDown
}

// Listen announces on the local network address, as net.Listen does, and
// wraps the listener. Its signature is that of kfake.ListenFn's function.
func Listen(network, address string) (*Listener, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return Wrap(ln), nil
}

// Wrap returns a Listener that accepts from ln. Closing the Listener closes
// ln. Resets send a TCP RST only for connections that can SetLinger, as a
// *net.TCPConn, or a connection another listener wrapped around one and
// that keeps the method, can; others are just closed.
func Wrap(ln net.Listener) *Listener {
	return &Listener{Listener: ln, conns: make(map[*conn]struct{})}
}

// Accept waits for the next connection that may reach the server and returns
// it. While the Listener is down, Accept resets each connection it accepts
// at once and goes on waiting, so the server never sees one; it returns an
// error only when the wrapped listener does (as after Close), never because
// of a fault, so a server that stops accepting on any error keeps accepting.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.down || l.refuse > 0 {
			l.refuse = max(l.refuse-1, 0)
			l.stats.Refused++
			l.mu.Unlock()
			abort(nc)
			continue
		}
		c := newConn(nc, l)
		l.conns[c] = struct{}{}
		l.stats.Accepted++
		l.mu.Unlock()
		return c, nil
	}
}

// SetLatency delays every byte the server writes to any connection, open or
// accepted later, by d: a byte written at time t while d is set reaches the
// connection's socket no earlier than t+d. It models the one-way delay of a
// link, not a slow server: Write returns as soon as the bytes are queued (the
// queue has no bound), so the server goes on reading and answering, and a
// request's round trip as the client sees it grows by d. Bytes keep their order; a change of d,
// lowering it to 0 included, applies to bytes written after SetLatency
// returns, and bytes already queued keep their delivery time (later bytes
// wait for them). Bytes the client sends are not delayed. d <= 0 removes the
// latency; with none set and nothing queued, Write writes directly.
func (l *Listener) SetLatency(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.latency = max(d, 0)
}

// Latency returns the latency SetLatency last set.
func (l *Listener) Latency() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.latency
}

// Reset aborts every connection Accept has handed out and the server has not
// closed: each is closed with SO_LINGER 0, so the client gets a TCP RST
// (reads and writes fail with "connection reset by peer") and the server's
// pending and later reads and writes on it fail as after Close. Bytes still
// delayed by latency are discarded. Reset returns how many it aborted, once
// all of them are closed. It is a single blow: clients may reconnect at once,
// and connections accepted after it are left alone.
func (l *Listener) Reset() int {
	l.mu.Lock()
	live := l.takeConns()
	l.mu.Unlock()
	for _, c := range live {
		c.reset()
	}
	return len(live)
}

// RefuseNext resets the next n connections that arrive at once, as
// SetDown(true) would, and lets the ones after them through: a server that
// flaps for a moment.
func (l *Listener) RefuseNext(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refuse = n
}

// SetDown makes the server unreachable (true) or reachable again (false).
// SetDown(true) resets every live connection as Reset does and returns how
// many; until SetDown(false), every connection that arrives is accepted by
// the kernel and reset at once by Accept without reaching the server, so
// clients see their first read or write fail with "connection reset by peer"
// (or EOF). SetDown(false) returns 0; connections that arrive after it
// reach the server again. Either call is a no-op when the state is already
// the one asked for, apart from SetDown(true) resetting connections again.
func (l *Listener) SetDown(down bool) int {
	l.mu.Lock()
	l.down = down
	var live []*conn
	if down {
		live = l.takeConns()
	}
	l.mu.Unlock()
	for _, c := range live {
		c.reset()
	}
	return len(live)
}

// Conns returns how many handed-out connections are open: accepted and
// closed neither by the server nor by a fault.
func (l *Listener) Conns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Stats returns the counts so far.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// takeConns removes every live connection from the set, counts them as
// reset and returns them; l.mu is held.
func (l *Listener) takeConns() []*conn {
	live := make([]*conn, 0, len(l.conns))
	for c := range l.conns {
		live = append(live, c)
		delete(l.conns, c)
	}
	l.stats.Reset += len(live)
	return live
}

// forget removes c from the set when the server closes it.
func (l *Listener) forget(c *conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
}

// abort closes nc so the peer gets a TCP RST rather than a FIN.
func abort(nc net.Conn) {
	lingerNot(nc)
	_ = nc.Close()
}

// lingerNot makes closing nc, if it can do without lingering, send a TCP RST
// rather than a FIN.
func lingerNot(nc net.Conn) {
	if tc, ok := nc.(interface{ SetLinger(sec int) error }); ok {
		_ = tc.SetLinger(0)
	}
}
