package proc

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// FreePort returns a loopback port nothing listens on right now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// WaitFor polls ok until it holds, timeout passes or ctx ends.
func WaitFor(ctx context.Context, timeout time.Duration, what string, ok func() bool) error {
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

// Listening reports whether something accepts TCP connections at addr.
func Listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// Ready reports whether the oscheck instance serving HTTP at addr is ready.
func Ready(addr string) bool {
	ok, _ := Readiness(addr)
	return ok
}

// Readiness returns an instance's /readyz verdict and its reason.
func Readiness(addr string) (bool, string) {
	c := http.Client{Timeout: 500 * time.Millisecond}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK, strings.TrimSpace(string(body))
}

// BuildEnv and BuildFlags are how every oscheck binary is built: by Build for
// the tests and harnesses, and by the Dockerfile for the image (a test checks
// that its go build line says the same). CGO off makes the binary static, so
// it runs in an image with no C library.
var (
	BuildEnv   = []string{"CGO_ENABLED=0"}
	BuildFlags = []string{"-trimpath", "-ldflags=-s -w"}
)

// Build compiles the project's commands (names under cmd/, such as
// "oscheck") into dir with BuildEnv and BuildFlags, and returns their paths
// in the same order.
func Build(ctx context.Context, dir string, commands ...string) ([]string, error) {
	bins := make([]string, len(commands))
	for i, c := range commands {
		bins[i] = filepath.Join(dir, c)
		pkg := "github.com/oscheck/oscheck/cmd/" + c
		args := append(append([]string{"build"}, BuildFlags...), "-o", bins[i], pkg)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Env = append(os.Environ(), BuildEnv...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
		}
	}
	return bins, nil
}
