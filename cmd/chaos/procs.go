package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one supervised OS process: started again by restart, watched for
// exits the harness did not cause.
type proc struct {
	name string
	args []string
	log  *os.File

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	exitErr  error
	expected bool  // the harness stopped it on purpose
	peakRSS  int64 // bytes, highest seen across all runs
	starts   int
	crashes  int // exits the harness did not cause
}

func newProc(dir, name string, args ...string) (*proc, error) {
	f, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log of %s: %w", name, err)
	}
	return &proc{name: name, args: args, log: f}, nil
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	fmt.Fprintf(p.log, "=== %s start %d\n", time.Now().Format(time.StampMilli), p.starts+1)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.name, err)
	}
	p.cmd, p.exited, p.expected = cmd, make(chan struct{}), false
	p.starts++
	exited := p.exited
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.exitErr = err
		if !p.expected {
			p.crashes++
		}
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

// running reports whether the process is up, and its exit channel.
func (p *proc) running() (bool, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false, nil
	}
	select {
	case <-p.exited:
		return false, p.exited
	default:
		return true, p.exited
	}
}

// signal sends sig and, if wait is set, waits up to timeout for the exit.
func (p *proc) signal(sig syscall.Signal, timeout time.Duration) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.expected = true
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
		return nil
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not exit within %v of %v", p.name, timeout, sig)
	}
}

// sampleRSS records the process's resident set size.
func (p *proc) sampleRSS() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmRSS:" {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				p.peakRSS = max(p.peakRSS, kb*1024)
			}
		}
	}
}

// freePort returns a loopback port nothing listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitFor polls ok until it holds or ctx ends.
func waitFor(ctx context.Context, timeout time.Duration, what string, ok func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for !ok() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}

func ready(addr string) bool {
	ok, _ := readiness(addr)
	return ok
}

// readiness returns an instance's /readyz verdict and its reason.
func readiness(addr string) (bool, string) {
	c := http.Client{Timeout: 500 * time.Millisecond}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK, strings.TrimSpace(string(body))
}

// build compiles the project's binaries into dir.
func build(ctx context.Context, dir string) (oscheck, devbroker string, err error) {
	oscheck, devbroker = filepath.Join(dir, "oscheck"), filepath.Join(dir, "devbroker")
	for bin, pkg := range map[string]string{oscheck: "github.com/oscheck/oscheck/cmd/oscheck", devbroker: "github.com/oscheck/oscheck/cmd/devbroker"} {
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg).CombinedOutput()
		if err != nil {
			return "", "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
		}
	}
	return oscheck, devbroker, nil
}
