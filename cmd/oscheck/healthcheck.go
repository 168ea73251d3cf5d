package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/oscheck/oscheck/topology"
)

// runHealthcheck is the Docker image's HEALTHCHECK: the image is distroless,
// with no curl or wget to ask the service's /healthz.
func runHealthcheck(ctx context.Context, args []string, stderr io.Writer) error {
	fs := pflag.NewFlagSet("oscheck healthcheck", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "http://127.0.0.1:9464/healthz", "URL to GET; healthy when it answers 200")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *timeout <= 0 {
		return &topology.KeyError{Key: "timeout", Reason: fmt.Sprintf("not a positive duration: %v", *timeout)}
	}
	return healthcheck(ctx, *target, *timeout)
}

// unhealthy is a failed health check. main exits 1 for it, because Docker
// reserves exit status 2 of a HEALTHCHECK command.
type unhealthy struct{ error }

// healthcheck GETs target and returns nil if it answers 200 within timeout.
// Otherwise the error, one line, says why: the status and the first line of
// a plain-text body (where /readyz says what it waits for), or the failed
// request.
func healthcheck(ctx context.Context, target string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return &topology.KeyError{Key: "url", Reason: err.Error()}
	}
	client := &http.Client{
		// No proxy from the environment: the service is local.
		Transport: &http.Transport{},
		// A redirect is not health.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return unhealthy{err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	err = fmt.Errorf("GET %s: %s", target, resp.Status)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		sc := bufio.NewScanner(io.LimitReader(resp.Body, 512))
		if sc.Scan() && strings.TrimSpace(sc.Text()) != "" {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(sc.Text()))
		}
	}
	return unhealthy{err}
}
