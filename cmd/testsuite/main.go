// Testsuite runs the tests like `go test`, then fails if their logs hold a
// password or a private key.
//
//	go run ./cmd/testsuite -race -count=1 -timeout 25m ./...
//
// It runs `go test -json` with its arguments and with OSCHECK_TEST_LOG_DIR
// set to a new directory, where tests put the logs they would otherwise keep
// in memory (see cmd/internal/secrettest: LogFile, LogDir). It prints what
// plain `go test` prints for a list of packages (one line per package, the
// output of failed builds and tests, the latter in full, as with -v), then
// scans every line of output, passing tests' included, and every file in
// that directory for secrettest's passwords (by secrettest.Marker, also hex-
// or base64-encoded) and PEM private keys, and prints each line that holds
// one with the secret masked.
//
// It exits 1 when go test failed, a package, test or build failed, no
// package reported a result, or a secret was found. It removes the log
// directory when all is well, and keeps it otherwise.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	dir, err := os.MkdirTemp("", "oscheck-test-logs-")
	if err != nil {
		fmt.Fprintln(stderr, "testsuite:", err)
		return 2
	}
	cmd := exec.Command("go", append([]string{"test", "-json"}, args...)...)
	cmd.Env = append(os.Environ(), secrettest.LogDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(stderr, "testsuite:", err)
		return 2
	}
	errOut, err := cmd.StderrPipe()
	if err != nil {
		fmt.Fprintln(stderr, "testsuite:", err)
		return 2
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "testsuite:", err)
		return 2
	}
	// Ctrl-C reaches go test from the terminal; stay to report what it
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

	// go test's own stderr (errors before any test ran, say) is shown as it
	// comes and scanned too.
	var errScan scanner
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		br := bufio.NewReader(errOut)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				io.WriteString(stderr, line)
				errScan.scanOutput("go test (stderr)", "", line)
			}
			if err != nil {
				return
			}
		}
	}()

	var scan scanner
	r := newRenderer(stdout, &scan)
	render(out, r)
	<-errDone
	waitErr := cmd.Wait()
	r.finish()

	scan.add(&errScan)
	var reasons []string
	if err := scan.scanDir(dir); err != nil {
		reasons = append(reasons, "scanning the log directory: "+err.Error())
	}
	reasons = append(reasons, report(stdout, r, &scan, waitErr)...)
	if len(reasons) > 0 {
		fmt.Fprintf(stdout, "testsuite: FAIL: %s; logs kept in %s\n", strings.Join(reasons, ", "), dir)
		return 1
	}
	os.RemoveAll(dir)
	fmt.Fprintf(stdout, "testsuite: ok: %d packages passed, %d without tests\n", r.passed, r.noTests)
	return 0
}

// render feeds the lines of go test's JSON stream to r.
func render(in io.Reader, r *renderer) {
	br := bufio.NewReaderSize(in, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			r.line(line)
		}
		if err != nil {
			return
		}
	}
}

// report prints the hits and a summary of the scan, and says why the run
// failed, if it did: goTest is how go test ended.
func report(w io.Writer, r *renderer, scan *scanner, goTest error) (reasons []string) {
	for _, h := range scan.hits {
		fmt.Fprintf(w, "SECRET\t%s\n", h)
	}
	fmt.Fprintf(w, "testsuite: scanned %d lines (%s) of test output and %d files (%s) in %s for passwords and private keys: %d hits\n",
		scan.lines, size(scan.lineBytes), scan.files, size(scan.fileBytes), secrettest.LogDirEnv, len(scan.hits))
	reasons = r.failures()
	if len(scan.hits) > 0 {
		reasons = append(reasons, fmt.Sprintf("%d lines with secrets", len(scan.hits)))
	}
	var exit *exec.ExitError
	switch {
	case errors.As(goTest, &exit):
		reasons = append(reasons, "go test "+exit.ProcessState.String())
	case goTest != nil:
		reasons = append(reasons, "go test: "+goTest.Error())
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
