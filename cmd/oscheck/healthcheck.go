package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/oscheck/oscheck/topology"
)

// runHealthcheck is the Docker image's HEALTHCHECK: the image is distroless,
// with no curl or wget to ask the service's /healthz.
//
// Without --url it asks the oscheck command the container runs (process
// --pid, the container's PID 1 by default) where it serves HTTP: it reads
// that process's arguments, OSCHECK_* environment and working directory
// (for the config file) as the command itself does, so the check follows
// http-addr wherever it is set. A command that serves no HTTP (gen, read,
// or http-addr empty) has nothing to check and is healthy while it runs.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("oscheck healthcheck", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "", "URL to GET; healthy when it answers 200 (default: the /healthz of the oscheck command process --pid runs)")
	pid := fs.Int("pid", 1, "the process whose configuration names the URL, when --url is not given")
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
	if *target == "" {
		u, err := processHealthURL(*pid)
		if err != nil {
			return err
		}
		if u == "" {
			fmt.Fprintln(stdout, "the process serves no HTTP: nothing to check")
			return nil
		}
		*target = u
	}
	return healthcheck(ctx, *target, *timeout)
}

// processHealthURL returns the /healthz URL of the oscheck command process
// pid runs, read from /proc as that command reads its settings; "" when
// it serves no HTTP. A process that is not an oscheck command (healthcheck
// run outside the image) is taken as oscheck run with this process's
// environment.
func processHealthURL(pid int) (string, error) {
	dir := fmt.Sprintf("/proc/%d", pid)
	var args []string
	if b, err := os.ReadFile(dir + "/cmdline"); err == nil {
		args = strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	}
	self, _ := os.Executable()
	if len(args) < 1 || filepath.Base(args[0]) != filepath.Base(self) {
		args = []string{self, "run"}
	} else {
		// The command's own environment and directory, where its config
		// file is found.
		if b, err := os.ReadFile(dir + "/environ"); err == nil {
			for _, kv := range strings.Split(string(b), "\x00") {
				if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "OSCHECK_") {
					if err := os.Setenv(k, v); err != nil {
						return "", fmt.Errorf("environment of process %d: %w", pid, err)
					}
				}
			}
		}
		if err := os.Chdir(dir + "/cwd"); err != nil {
			return "", fmt.Errorf("working directory of process %d: %w", pid, err)
		}
	}
	if len(args) < 2 {
		args = append(args, "run")
	}
	var addr string
	switch args[1] {
	case "run":
		v, err := settings(newRunFlags(), args[2:])
		if err != nil {
			return "", fmt.Errorf("the settings of process %d (%q): %w", pid, args, err)
		}
		addr = v.GetString("http-addr")
	case "ship":
		v, err := flagsAndEnv(shipFlags(), args[2:])
		if err != nil {
			return "", fmt.Errorf("the settings of process %d (%q): %w", pid, args, err)
		}
		addr = v.GetString("http-addr")
	}
	if addr == "" {
		return "", nil
	}
	return healthURL(addr)
}

// healthURL is the /healthz URL of a server listening on addr, on the
// loopback address when it listens on every address.
func healthURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", &topology.KeyError{Key: "http-addr", Reason: err.Error()}
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
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
