package faultnet

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// listen starts a Listener on loopback and serves it.
func listen(t *testing.T) (*Listener, <-chan net.Conn) {
	t.Helper()
	l, err := Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, l)
}

// serve hands the connections l accepts to the returned channel, until the
// test ends.
func serve(t *testing.T, l *Listener) (*Listener, <-chan net.Conn) {
	t.Helper()
	accepted := make(chan net.Conn, 16)
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		defer close(accepted)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l, accepted
}

// pair dials l and returns the client's end and the server's.
func pair(t *testing.T, l *Listener, accepted <-chan net.Conn) (client, server net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	select {
	case server = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not get the connection")
	}
	return client, server
}

func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read: %v", err)
	}
	return b
}

// isReset reports whether err is how a client sees a reset connection.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)
}

func TestLatency(t *testing.T) {
	l, accepted := listen(t)
	client, server := pair(t, l, accepted) // open before the latency is set
	const d = 300 * time.Millisecond
	l.SetLatency(d)
	if got := l.Latency(); got != d {
		t.Fatalf("Latency() = %v, want %v", got, d)
	}

	start := time.Now()
	if n, err := server.Write([]byte("a")); n != 1 || err != nil {
		t.Fatalf("delayed Write = %d, %v", n, err)
	}
	readN(t, client, 1)
	if took := time.Since(start); took < d {
		t.Errorf("a byte written with latency %v arrived after %v", d, took)
	}

	// Lowering the latency does not let later bytes overtake queued ones.
	start = time.Now()
	server.Write([]byte("1"))
	l.SetLatency(0)
	server.Write([]byte("2"))
	server.Write([]byte("3"))
	if got := readN(t, client, 3); string(got) != "123" {
		t.Errorf("got %q, want the bytes in write order", got)
	}
	if took := time.Since(start); took < d {
		t.Errorf("bytes queued behind a delayed one arrived after %v, before its %v", took, d)
	}

	// Without latency and with nothing queued, writes are direct again.
	server.Write([]byte("4"))
	if got := readN(t, client, 1); string(got) != "4" {
		t.Errorf("got %q, want 4", got)
	}

	// Bytes from the client are not delayed.
	l.SetLatency(time.Hour)
	client.Write([]byte("up"))
	if got := readN(t, server, 2); string(got) != "up" {
		t.Errorf("server read %q, want up", got)
	}
	l.SetLatency(-time.Second)
	if got := l.Latency(); got != 0 {
		t.Errorf("Latency() after a negative SetLatency = %v, want 0", got)
	}
}

func TestReset(t *testing.T) {
	l, accepted := listen(t)
	client, server := pair(t, l, accepted)
	failed := make(chan error, 1)
	go func() { // a client blocked in Read
		_, err := client.Read(make([]byte, 1))
		failed <- err
	}()
	l.SetLatency(time.Hour)
	server.Write([]byte("never delivered"))

	if n := l.Reset(); n != 1 {
		t.Fatalf("Reset() = %d, want 1", n)
	}
	select {
	case err := <-failed:
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("the client's Read failed with %v, want connection reset", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client's Read did not fail after Reset")
	}
	if _, err := server.Read(make([]byte, 1)); err == nil {
		t.Error("the server's Read succeeded on a reset connection")
	}
	if _, err := server.Write([]byte("x")); err == nil {
		t.Error("the server's Write succeeded on a reset connection")
	}
	if got, want := l.Stats(), (Stats{Accepted: 1, Reset: 1}); got != want || l.Conns() != 0 {
		t.Errorf("Stats() = %+v with %d conns, want %+v and none", got, l.Conns(), want)
	}

	// A single blow: the next connection is left alone.
	l.SetLatency(0)
	client, server = pair(t, l, accepted)
	server.Write([]byte("ok"))
	if got := readN(t, client, 2); string(got) != "ok" {
		t.Errorf("got %q after Reset, want ok", got)
	}
	if l.Conns() != 1 {
		t.Errorf("Conns() = %d, want 1", l.Conns())
	}
	server.Close()
	if l.Conns() != 0 {
		t.Errorf("Conns() = %d after the server closed its conn, want 0", l.Conns())
	}
}

// wrappedTCP is a TCP connection as a listener that wraps each one hands it
// on (one that peeks at the first bytes, say), SetLinger promoted.
type wrappedTCP struct{ *net.TCPConn }

type wrappingListener struct{ net.Listener }

func (l wrappingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return wrappedTCP{c.(*net.TCPConn)}, nil
}

// TestResetWrapped resets a connection that another listener wrapped: the
// client must still see a reset, not an orderly close.
func TestResetWrapped(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, accepted := serve(t, Wrap(wrappingListener{ln}))
	client, _ := pair(t, l, accepted)
	if n := l.Reset(); n != 1 {
		t.Fatalf("Reset() = %d, want 1", n)
	}
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := client.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("the client's Read failed with %v, want connection reset", err)
	}
}

func TestDown(t *testing.T) {
	l, accepted := listen(t)
	client, _ := pair(t, l, accepted)
	if n := l.SetDown(true); n != 1 {
		t.Fatalf("SetDown(true) = %d, want 1 connection reset", n)
	}
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := client.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("an open connection's Read failed with %v, want connection reset", err)
	}

	for range 3 { // new connections fail and never reach the server
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			continue // refused is as good
		}
		c.Write([]byte("hello"))
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !isReset(err) {
			t.Errorf("a connection while down read with %v, want reset or EOF", err)
		}
		c.Close()
	}
	select {
	case <-accepted:
		t.Fatal("the server accepted a connection while down")
	default:
	}
	if got, want := l.Stats(), (Stats{Accepted: 1, Refused: 3, Reset: 1}); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}

	if n := l.SetDown(false); n != 0 {
		t.Errorf("SetDown(false) = %d, want 0", n)
	}
	client, server := pair(t, l, accepted)
	client.Write([]byte("ping"))
	if got := readN(t, server, 4); string(got) != "ping" {
		t.Errorf("server read %q once up, want ping", got)
	}
}

func TestClose(t *testing.T) {
	l, accepted := listen(t)
	client, server := pair(t, l, accepted)
	l.SetLatency(time.Hour)
	server.Write([]byte("dropped"))
	if err := server.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(client); len(b) != 0 || err != nil {
		t.Errorf("after Close the client read %q, %v; want the queued bytes dropped and EOF", b, err)
	}
	if _, err := server.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
	l.Close()
	if _, err := l.Accept(); err == nil {
		t.Error("Accept after Close succeeded")
	}
}

// TestFaultsUnderTraffic switches faults while a server streams numbered
// bytes: whatever a client reads is in order, with nothing lost or repeated
// before its connection breaks. Run with -race.
func TestFaultsUnderTraffic(t *testing.T) {
	l, accepted := listen(t)
	go func() { // the server: each connection gets 0, 1, 2, ... until it fails
		for c := range accepted {
			go func() {
				for i := 0; ; i++ {
					if _, err := c.Write([]byte{byte(i)}); err != nil {
						return
					}
					if i%64 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			}()
		}
	}()
	stop := make(chan struct{})
	faults := make(chan struct{})
	go func() {
		defer close(faults)
		for i := 0; ; i++ {
			select {
			case <-stop:
				l.SetDown(false)
				l.SetLatency(0)
				return
			case <-time.After(5 * time.Millisecond):
			}
			switch i % 4 {
			case 0:
				l.SetLatency(time.Duration(i%7) * time.Millisecond)
			case 1:
				l.Reset()
			case 2:
				l.SetDown(true)
			case 3:
				l.SetDown(false)
			}
		}
	}()
	var read int
	for range 20 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			continue
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		next := 0
		for {
			n, err := c.Read(buf)
			for _, b := range buf[:n] {
				if b != byte(next) {
					t.Fatalf("read byte %d where %d was next", b, byte(next))
				}
				next++
			}
			read += n
			if err != nil {
				break
			}
		}
		c.Close()
	}
	close(stop)
	<-faults
	if read == 0 {
		t.Error("no connection carried any bytes")
	}
}

func TestRefuseNext(t *testing.T) {
	l, accepted := listen(t)
	l.RefuseNext(2)
	for i := range 3 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil && i < 2 {
			continue // reset before the dial returned is as good
		}
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Read(make([]byte, 1)); !isReset(err) {
				t.Errorf("connection %d read with %v, want reset or EOF", i+1, err)
			}
		} else {
			select {
			case <-accepted:
			case <-time.After(10 * time.Second):
				t.Error("the third connection did not reach the server")
			}
		}
		c.Close()
	}
	if got := l.Stats(); got.Refused != 2 || got.Accepted != 1 {
		t.Errorf("Stats() = %+v, want 2 refused, 1 accepted", got)
	}
}
