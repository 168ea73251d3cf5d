// Secretscan runs the test command it is given, then fails if the tests'
// output or logs hold a password or a private key.
//
//	go run ./cmd/secretscan go tool gotestsum --format pkgname -- -race -count=1 -timeout 25m ./...
//
// It runs the command with two paths in a new directory set in its
// environment: OSCHECK_TEST_LOG_DIR, a directory where tests put the logs
// they would otherwise keep in memory (see cmd/internal/testkit/secrettest:
// LogFile, LogDir), and GOTESTSUM_JSONFILE, where gotestsum writes go test's
// JSON event stream (so the command must not pass --jsonfile itself). The
// command prints as it will; secretscan passes its stdout on untouched and
// its stderr line by line. Then it scans every line of test output in the
// stream, passing tests' and builds' included, every line of the command's
// stderr and every file in the log directory for secrettest's passwords (by
// secrettest.Marker, also hex- or base64-encoded) and PEM private keys, and
// prints each line that holds one with the secret masked.
//
// It exits 1 when the command failed, the stream records a failed test,
// package or build (whatever the command's exit code), holds no package's result
// (the command wrote none: it is not gotestsum, say, or tested nothing), or
// a secret was found. It removes the new directory when all is well, and
// keeps it otherwise.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
)

// jsonFileEnv is gotestsum's environment variable for its --jsonfile.
const jsonFileEnv = "GOTESTSUM_JSONFILE"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: secretscan command [args...]   (go tool gotestsum --format pkgname -- ./..., say)")
		return 2
	}
	dir, err := os.MkdirTemp("", "oscheck-test-")
	if err != nil {
		fmt.Fprintln(stderr, "secretscan:", err)
		return 2
	}
	logs, events := filepath.Join(dir, "logs"), filepath.Join(dir, "events.json")
	if err := os.Mkdir(logs, 0o755); err != nil {
		fmt.Fprintln(stderr, "secretscan:", err)
		return 2
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), secrettest.LogDirEnv+"="+logs, jsonFileEnv+"="+events)
	cmd.Stdout = stdout
	errOut, err := cmd.StderrPipe()
	if err != nil {
		fmt.Fprintln(stderr, "secretscan:", err)
		return 2
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "secretscan:", err)
		return 2
	}
	// Ctrl-C reaches the command from the terminal; stay to report what it
	// printed. A SIGTERM for us alone is passed on.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			if s == syscall.SIGTERM {
				cmd.Process.Signal(s)
			}
		}
	}()

	// The command's stderr (go test's: errors before any test ran, say) is
	// shown as it comes and scanned too.
	var scan scanner
	br := bufio.NewReader(errOut)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			io.WriteString(stderr, line)
			scan.scanOutput("stderr", "", line)
		}
		if err != nil {
			break
		}
	}
	waitErr := cmd.Wait()

	var reasons []string
	switch results, err := scan.scanEvents(events); {
	case err != nil:
		reasons = append(reasons, "reading "+jsonFileEnv+": "+err.Error())
	case results == 0:
		reasons = append(reasons, "no package results in "+jsonFileEnv)
	}
	if err := scan.scanDir(logs); err != nil {
		reasons = append(reasons, "scanning the log directory: "+err.Error())
	}
	reasons = append(reasons, report(stdout, &scan, waitErr)...)
	if len(reasons) > 0 {
		fmt.Fprintf(stdout, "secretscan: FAIL: %s; logs kept in %s\n", strings.Join(reasons, ", "), dir)
		return 1
	}
	os.RemoveAll(dir)
	fmt.Fprintln(stdout, "secretscan: ok")
	return 0
}

// report prints the hits and a summary of the scan, and says why the run
// failed, if it did: command is how the command ended.
func report(w io.Writer, scan *scanner, command error) (reasons []string) {
	for _, h := range scan.hits {
		fmt.Fprintf(w, "SECRET\t%s\n", h)
	}
	fmt.Fprintf(w, "secretscan: scanned %d lines (%s) of test output and %d files (%s) in %s for passwords and private keys: %d hits\n",
		scan.lines, size(scan.lineBytes), scan.files, size(scan.fileBytes), secrettest.LogDirEnv, len(scan.hits))
	for _, f := range []struct {
		n    int
		what string
	}{{scan.failed.packages, "packages"}, {scan.failed.tests, "tests"}, {scan.failed.builds, "builds"}} {
		if f.n > 0 {
			reasons = append(reasons, fmt.Sprintf("%d %s failed", f.n, f.what))
		}
	}
	if len(scan.hits) > 0 {
		reasons = append(reasons, fmt.Sprintf("%d lines with secrets", len(scan.hits)))
	}
	var exit *exec.ExitError
	switch {
	case errors.As(command, &exit):
		reasons = append(reasons, "the command "+exit.ProcessState.String())
	case command != nil:
		reasons = append(reasons, "the command: "+command.Error())
	}
	return reasons
}

// size writes a byte count readably.
func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
