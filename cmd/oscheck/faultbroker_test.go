package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/oscheck/oscheck/cmd/internal/testkit/faultnet"
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

// startSplitFaultyBroker starts an in-process broker, as startFaultyBroker
// does, whose returned Listener faults only the connections of the clients
// whose Kafka client id starts with prefix; the other clients' connections
// reach the broker untouched. Every client of an oscheck instance has an id
// that starts with the instance's --client-id, so this faults one instance
// of several.
func startSplitFaultyBroker(t *testing.T, partitions int32, topic, prefix string) ([]string, *faultnet.Listener) {
	t.Helper()
	var ln *faultnet.Listener
	addrs := startBroker(t, partitions, topic, kfake.ListenFn(func(network, address string) (net.Listener, error) {
		tcp, err := net.Listen(network, address)
		if err != nil {
			return nil, err
		}
		closed := make(chan struct{})
		s := &splitListener{Listener: tcp, prefix: prefix, closed: closed,
			chosen: &chanListener{addr: tcp.Addr(), conns: make(chan net.Conn), closed: closed},
			broker: &chanListener{addr: tcp.Addr(), conns: make(chan net.Conn), closed: closed}}
		ln = faultnet.Wrap(s.chosen)
		go s.sort()
		go s.pass(ln)
		return s, nil
	}))
	return addrs, ln
}

// splitListener accepts connections and reads the client id in the header of
// the first request on each: the chosen clients' connections go through a
// faultnet.Listener, the others straight on.
type splitListener struct {
	net.Listener // the real one
	prefix       string
	chosen       *chanListener // what the faultnet.Listener accepts from
	broker       *chanListener // what the broker accepts from
	closed       chan struct{}
	closing      sync.Once
}

func (s *splitListener) Accept() (net.Conn, error) { return s.broker.Accept() }

func (s *splitListener) Close() error {
	s.closing.Do(func() { close(s.closed) })
	return s.Listener.Close()
}

// sort hands each connection on by its client id, until the listener closes.
func (s *splitListener) sort() {
	for {
		c, err := s.Listener.Accept()
		if err != nil {
			return
		}
		go func() {
			id, first, err := clientID(c)
			if err != nil {
				c.Close()
				return
			}
			// The broker reads the first request again, and a reset must
			// still reach the client as one.
			pc := &peekedConn{TCPConn: c.(*net.TCPConn), r: io.MultiReader(bytes.NewReader(first), c)}
			to := s.broker.conns
			if strings.HasPrefix(id, s.prefix) {
				to = s.chosen.conns
			}
			select {
			case to <- pc:
			case <-s.closed:
				c.Close()
			}
		}()
	}
}

// pass hands what the faultnet.Listener lets through to the broker.
func (s *splitListener) pass(ln *faultnet.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		select {
		case s.broker.conns <- c:
		case <-s.closed:
			c.Close()
		}
	}
}

// clientID reads the header of the first Kafka request on c up to its
// client id (size, API key and version, correlation id, then the id as a
// nullable string), and returns the id and the bytes read.
func clientID(c net.Conn) (string, []byte, error) {
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return "", nil, err
	}
	head := make([]byte, 14)
	if _, err := io.ReadFull(c, head); err != nil {
		return "", nil, err
	}
	n := max(int16(binary.BigEndian.Uint16(head[12:])), 0)
	id := make([]byte, n)
	if _, err := io.ReadFull(c, id); err != nil {
		return "", nil, err
	}
	return string(id), append(head, id...), c.SetReadDeadline(time.Time{})
}

// peekedConn is a TCP connection whose first bytes were read already.
type peekedConn struct {
	*net.TCPConn
	r io.Reader // the bytes read already, then the connection
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// chanListener accepts the connections sent on conns.
type chanListener struct {
	addr   net.Addr
	conns  chan net.Conn
	closed <-chan struct{}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error   { return nil } // the splitListener's Close ends it
func (l *chanListener) Addr() net.Addr { return l.addr }
