package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/testkit/proc"
	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
)

// nginxClients are the requests the nginx test sends: real User-Agents and
// os_type parameters, each with the os_type oscheck must count it under.
var nginxClients = []struct {
	userAgent, osParam, want string
}{
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "", "ios"},
	{"MyShop/5.2.1 CFNetwork/1410.0.3 Darwin/22.6.0", "", "ios"},
	{"Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile Safari/537.36", "", "android"},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Safari/537.36", "", "windows"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Safari/605.1.15", "", "macos"},
	{"Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/117.0", "", "linux"},
	{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Safari/537.36", "", "chromeos"},
	{"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.5845.96 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "", "bot"},
	{"curl/8.4.0", "", "other"},
	{"okhttp/4.9.0", "android", "android"}, // the app says what it is
	{"Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36", "ios", "ios"},
	{"Dalvik/2.1.0 (Linux; U; Android 12; NOH-AN00 Build/HUAWEINOH-AN00)", "harmonyos", "harmonyos"},
}

// TestNginxShipRun is the whole path with real peers: nginx writes its
// access log in the combined format while a client sends requests; oscheck
// ship follows the log, through a rename-and-reopen rotation halfway, into
// Kafka; oscheck run counts; the os-check totals per os_type must equal what
// the client sent.
func TestNginxShipRun(t *testing.T) {
	nginx := tool(t, "nginx")
	dir := t.TempDir()
	addr := freeAddr(t)
	logPath := filepath.Join(dir, "access.log")
	master := startNginx(t, nginx, dir, addr, logPath)

	brokers := startBroker(t, 3, "access_log")
	out := consume(t, brokers, "os-check")
	service(t, "--brokers", brokers[0], "--format", "json", "--grace", "1s", "--idle-timeout", "1s", "--http-addr", "")
	shipper := startShip(t, "--file", logPath, "--brokers", brokers[0], "--poll-interval", "50ms", "--batch-lines", "7")

	const n = 1200
	want := make(map[string]int64)
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range n {
		c := nginxClients[i%len(nginxClients)]
		q := url.Values{"page": {strconv.Itoa(i)}}
		if c.osParam != "" {
			q.Set("os_type", c.osParam)
		}
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/open/product_list?"+q.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("User-Agent", c.userAgent)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		want[c.want]++
		if i == n/2 {
			// logrotate's default: rename, then tell nginx to reopen.
			if err := os.Rename(logPath, logPath+".1"); err != nil {
				t.Fatal(err)
			}
			if err := master.Process.Signal(syscall.SIGUSR1); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Millisecond) // about 2.5 s of traffic, over a few windows
	}
	if lines := countLines(t, logPath) + countLines(t, logPath+".1"); lines != n {
		t.Fatalf("nginx logged %d lines for %d requests", lines, n)
	}
	if countLines(t, logPath) == 0 {
		t.Fatal("nginx wrote nothing after reopening: the rotation was not exercised")
	}

	var got map[string]int64
	deadline := time.Now().Add(60 * time.Second)
	for !maps.Equal(got, want) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		got = make(map[string]int64)
		windows := make(map[string]bool)
		for _, r := range out.snapshot() {
			var w struct {
				OSType string `json:"os_type"`
				Count  int64  `json:"count"`
			}
			if err := json.Unmarshal(r.Value, &w); err != nil {
				t.Fatalf("os-check value %q: %v", r.Value, err)
			}
			if windows[string(r.Key)] {
				t.Fatalf("window %s emitted twice", r.Key)
			}
			windows[string(r.Key)] = true
			got[w.OSType] += w.Count
		}
	}
	if !maps.Equal(got, want) {
		t.Fatalf("os-check totals per os_type:\n got %v\nwant %v", got, want)
	}
	t.Logf("%d requests through nginx, ship (one rotation) and run: totals %v", n, got)
	shipper.stop()
}

// startNginx runs nginx in the foreground on addr, logging to logPath in the
// combined format, until the test ends.
func startNginx(t *testing.T, nginx, dir, addr, logPath string) *exec.Cmd {
	t.Helper()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers would run as nobody, who cannot write under dir
	}
	conf := fmt.Sprintf(`%s
daemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 64; }
http {
	access_log %[3]s combined;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	server {
		listen %[4]s;
		location / { return 200 "ok\n"; }
	}
}
`, user, dir, logPath, addr)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return startNginxConf(t, nginx, dir, confPath, addr)
}

// startNginxConf runs nginx in the foreground with the configuration at
// confPath and dir as its prefix, until the test ends, and waits until it
// listens on addr.
func startNginxConf(t *testing.T, nginx, dir, confPath, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(nginx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath)
	cmd.Stdout, cmd.Stderr = testWriter{t}, testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT)
		cmd.Wait()
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "error.log")); err == nil {
				t.Logf("nginx error.log:\n%s", b)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := proc.WaitFor(ctx, 10*time.Second, "nginx listening", func() bool { return proc.Listening(addr) }); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// shipCmd is an `oscheck ship` running in the test process.
type shipCmd struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

// startShip runs `oscheck ship` with args until stop or the test's end; it
// fails the test if the command returns an error.
func startShip(t *testing.T, args ...string) *shipCmd {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &shipCmd{t: t, cancel: cancel, done: make(chan error, 1), logs: &syncBuffer{}}
	w := io.MultiWriter(s.logs, secrettest.LogFile(t))
	go func() {
		s.done <- run(ctx, append([]string{"ship", "--log-level", "debug"}, args...), io.Discard, w)
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *shipCmd) stop() {
	if s.done == nil {
		return
	}
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("oscheck ship: %v", err)
		}
	case <-time.After(30 * time.Second):
		s.t.Errorf("oscheck ship did not stop within 30s of cancel")
	}
	s.done = nil
	if s.t.Failed() {
		s.t.Logf("ship log:\n%s", s.logs.String())
	}
}
