package faultnet

import (
	"net"
	"sync"
	"time"
)

// conn is an accepted connection whose writes the Listener's latency delays.
type conn struct {
	net.Conn
	l *Listener

	mu      sync.Mutex
	wake    sync.Cond // signalled with mu held when queued, busy or closed change
	queued  []chunk   // delayed bytes, in write order, due times not decreasing
	busy    bool      // a write to the wrapped conn is in progress
	pumping bool      // a pump goroutine is running
	closed  bool
	err     error // the first failed delayed write, returned by later Writes

	done      chan struct{} // closed on Close, to cut a pump's wait short
	closeOnce sync.Once
}

// chunk is the bytes of one delayed Write and when they are due.
type chunk struct {
	b   []byte
	due time.Time
}

func newConn(nc net.Conn, l *Listener) *conn {
	c := &conn{Conn: nc, l: l, done: make(chan struct{})}
	c.wake.L = &c.mu
	return c
}

// Write writes p at once when no latency is set and nothing is queued;
// otherwise it queues a copy of p to be written when due and returns
// len(p), nil. An error of a delayed write is returned by the next Write.
func (c *conn) Write(p []byte) (int, error) {
	d := c.l.Latency()
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return 0, net.ErrClosed
	case c.err != nil:
		err := c.err
		c.mu.Unlock()
		return 0, err
	case d == 0 && len(c.queued) == 0 && !c.busy:
		c.busy = true
		c.mu.Unlock()
		n, err := c.Conn.Write(p)
		c.mu.Lock()
		c.busy = false
		c.wake.Broadcast()
		c.mu.Unlock()
		return n, err
	}
	due := time.Now().Add(d)
	if n := len(c.queued); n > 0 && c.queued[n-1].due.After(due) {
		due = c.queued[n-1].due // never overtake earlier bytes
	}
	c.queued = append(c.queued, chunk{append([]byte(nil), p...), due})
	if !c.pumping {
		c.pumping = true
		go c.pump()
	}
	c.mu.Unlock()
	return len(p), nil
}

// pump writes queued chunks as they fall due, one at a time, and exits when
// the queue is empty or the conn is closed.
func (c *conn) pump() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for c.busy && !c.closed {
			c.wake.Wait()
		}
		if c.closed || len(c.queued) == 0 {
			c.pumping = false
			return
		}
		next := c.queued[0]
		c.queued = c.queued[1:]
		c.busy = true
		c.mu.Unlock()
		err := c.writeAt(next)
		c.mu.Lock()
		c.busy = false
		c.wake.Broadcast()
		if err != nil && c.err == nil {
			c.err = err
		}
	}
}

// writeAt waits until ch is due, then writes it; Close cuts the wait short.
func (c *conn) writeAt(ch chunk) error {
	if wait := time.Until(ch.due); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.done:
			t.Stop()
			return net.ErrClosed
		}
	}
	_, err := c.Conn.Write(ch.b)
	return err
}

// Close discards bytes still queued and closes the connection.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.done)
		c.mu.Lock()
		c.closed = true
		c.queued = nil
		c.wake.Broadcast()
		c.mu.Unlock()
		c.l.forget(c)
	})
	return c.Conn.Close()
}

// reset closes the connection so the peer gets a TCP RST.
func (c *conn) reset() {
	lingerNot(c.Conn)
	_ = c.Close()
}
