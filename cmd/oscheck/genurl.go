package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/traffic"
	"github.com/oscheck/oscheck/topology"
	"github.com/oscheck/oscheck/topology/cluster"
)

// genRequests sends the request of each line spec generates to the web
// server at rawURL and prints how many the server answered per os_type: the
// counts oscheck must find in the server's log.
func genRequests(ctx context.Context, spec genSpec, rawURL string, stdout, stderr io.Writer) error {
	sink, err := newURLSink(rawURL, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	start := time.Now()
	_, err = generateRequests(ctx, spec, func(line []byte, req traffic.Request) error {
		return sink.send(ctx, req)
	})
	answered, failed := sink.close()
	elapsed := time.Since(start)
	n := total(answered)
	fmt.Fprintf(stdout, "answered %d requests in %v (%.0f requests/s), %d failed\n", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), failed)
	printPerOS(stdout, answered)
	if failed > 0 {
		err = errors.Join(err, fmt.Errorf("%d of %d requests failed: the counts are of the answered ones, and a failed request may or may not be in the server's log", failed, failed+n))
	}
	return err
}

// Limits of gen --url.
const (
	urlWorkers   = 8                // requests in flight at once, each worker over its own kept-alive connection
	urlTimeout   = 10 * time.Second // for one request, answer included
	dialRetryFor = 10 * time.Second // how long a connection that cannot be made is tried again
	// gen gives up once at least urlGiveUpAfter requests, and more than 1%
	// of all, have failed: the server is gone or broken, and carrying on
	// would take urlTimeout or dialRetryFor per request to learn nothing new.
	urlGiveUpAfter = 10
)

// errGaveUp stops generate when too many requests have failed.
var errGaveUp = errors.New("more than 1% of the requests failed; giving up")

// urlSink sends requests to a web server from urlWorkers goroutines and
// counts, per os_type, the ones the server answered.
type urlSink struct {
	base   string // scheme://host[:port][/prefix], without a trailing slash
	client *http.Client
	log    *slog.Logger
	queue  chan urlRequest
	wg     sync.WaitGroup

	mu       sync.Mutex
	answered map[string]int64
	failed   int64
	finished int64 // answered or failed
}

// urlRequest is a traffic.Request copied out of the line it aliases.
type urlRequest struct {
	method, target, userAgent, osType string
}

func newURLSink(rawURL string, log *slog.Logger) (*urlSink, error) {
	base, err := baseURL(rawURL)
	if err != nil {
		return nil, err
	}
	// Proxy is nil, not taken from the environment: the requests are for
	// the server's own log.
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: urlWorkers,
		IdleConnTimeout:     90 * time.Second,
	}
	s := &urlSink{
		base: base,
		client: &http.Client{
			Transport: transport,
			Timeout:   urlTimeout,
			// Following a redirect would log a request the generator did not make.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		log:      log,
		queue:    make(chan urlRequest),
		answered: make(map[string]int64),
	}
	for range urlWorkers {
		s.wg.Go(s.work)
	}
	return s, nil
}

// baseURL checks a --url value, http://host[:port][/prefix], and returns it
// without a trailing slash, for a request target to be appended.
func baseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", &topology.KeyError{Key: "url", Reason: err.Error()}
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", &topology.KeyError{Key: "url", Reason: fmt.Sprintf("%q is not http://host[:port][/prefix]", s)}
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", &topology.KeyError{Key: "url", Reason: fmt.Sprintf("%q: only a path prefix may follow the host, as each request brings its own path and query", s)}
	}
	return strings.TrimSuffix(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// send hands req to a worker. It blocks while every worker is busy, which
// holds generate to the rate the server takes, until ctx is done: then req
// is dropped, neither sent nor counted.
func (s *urlSink) send(ctx context.Context, req traffic.Request) error {
	if s.gaveUp() {
		return errGaveUp
	}
	select {
	case s.queue <- urlRequest{method: req.Method, target: string(req.Target), userAgent: req.UserAgent, osType: req.OSType}:
	case <-ctx.Done():
	}
	return nil
}

func (s *urlSink) gaveUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed >= urlGiveUpAfter && s.failed*100 > s.finished
}

func (s *urlSink) work() {
	for r := range s.queue {
		err := s.do(r)
		s.mu.Lock()
		s.finished++
		if err != nil {
			s.failed++
		} else {
			s.answered[r.osType]++
		}
		s.mu.Unlock()
		if err != nil {
			s.log.Warn("request failed", "error", err)
		}
	}
}

// do sends r and reads the answer. A connection that cannot be made, as to
// a server still starting, is tried again with backoff for dialRetryFor:
// such a request never reached the server, so it cannot be logged twice.
func (s *urlSink) do(r urlRequest) error {
	deadline := time.Now().Add(dialRetryFor)
	retry := cluster.NewBackoff(100*time.Millisecond, time.Second)
	for {
		err := s.once(r)
		var op *net.OpError
		if err == nil || !errors.As(err, &op) || op.Op != "dial" {
			return err
		}
		wait := retry.NextBackOff()
		if time.Now().Add(wait).After(deadline) {
			return err
		}
		time.Sleep(wait)
	}
}

func (s *urlSink) once(r urlRequest) error {
	req, err := http.NewRequest(r.method, s.base+r.target, nil)
	if err != nil {
		return err
	}
	// Set even when empty: an empty User-Agent is not sent, where a missing
	// one would be sent as Go's own.
	req.Header.Set("User-Agent", r.userAgent)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	// The server has answered, and logged the request. Reading the body to
	// its end lets the connection be reused; failing to only costs the
	// connection.
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return nil
}

// close waits for the requests handed to workers and returns how many the
// server answered per os_type, and how many failed.
func (s *urlSink) close() (answered map[string]int64, failed int64) {
	close(s.queue)
	s.wg.Wait()
	s.client.CloseIdleConnections()
	return s.answered, s.failed
}
