package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
)

// gotestsum builds the module's gotestsum (go.mod's tool) and returns its
// path; call it before scratch, while in the module.
func gotestsum(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	path := filepath.Join(t.TempDir(), "gotestsum")
	if out, err := exec.Command("go", "build", "-o", path, "gotest.tools/gotestsum").CombinedOutput(); err != nil {
		t.Fatalf("building gotestsum: %v\n%s", err, out)
	}
	return path
}

// runScratch runs secretscan with args, removes the directory it kept, if
// it did, and returns its exit code, stdout and stderr.
func runScratch(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := run(args, &out, &errOut)
	if m := regexp.MustCompile(`logs kept in (\S+)`).FindStringSubmatch(out.String()); m != nil {
		os.RemoveAll(m[1])
	}
	return code, out.String(), errOut.String()
}

// scratch writes a module of its own with files (path: text) and makes it
// the working directory.
func scratch(t *testing.T, files map[string]string) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	files["go.mod"] = "module scratch\n\ngo 1.26\n"
	writeFiles(t, dir, files)
	t.Chdir(dir)
}

// writeFiles writes files (path: text) under dir and returns their bytes.
func writeFiles(t *testing.T, dir string, files map[string]string) int64 {
	t.Helper()
	var total int64
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		total += int64(len(text))
	}
	return total
}

// The scratch tests build their secrets from pieces, so that the text of
// this file holds none.
const leaky = `package leaky

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLogsPassword(t *testing.T) { t.Log("password", "oscheck-test-" + "secret-0123456789abcdef") }

func TestWritesKey(t *testing.T) {
	dir := os.Getenv("OSCHECK_TEST_LOG_DIR")
	if dir == "" {
		t.Fatal("OSCHECK_TEST_LOG_DIR is not set")
	}
	key := "-----BEGIN EC PRIVATE" + " KEY-----\nMHcCAQEEIB\n"
	if err := os.WriteFile(filepath.Join(dir, "TestWritesKey-1.log"), []byte("loaded\n"+key), 0o644); err != nil {
		t.Fatal(err)
	}
}
`

func TestRunFindsSecrets(t *testing.T) {
	gts := gotestsum(t)
	scratch(t, map[string]string{"leaky/leaky_test.go": leaky, "none/none.go": "package none\n"})
	code, text, errText := runScratch(t, gts, "--format", "pkgname", "--", "-count=1", "./...")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"leaky (",            // gotestsum's line for the package
		"\nDONE 2 tests in ", // and its summary
		"SECRET\tscratch/leaky TestLogsPassword: password: leaky_test.go:9: password [masked password]\n",
		"SECRET\tTestWritesKey-1.log:2: private key: [masked private key]\n",
		" of test output and 1 files (49 B) in OSCHECK_TEST_LOG_DIR for passwords and private keys: 2 hits\n",
		"secretscan: FAIL: 2 lines with secrets; logs kept in ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if holdsSecret(text) || holdsSecret(errText) {
		t.Error("output shows a secret")
	}
	if t.Failed() {
		t.Logf("output:\n%s\nstderr:\n%s", masked(text), masked(errText))
	}
}

func TestRunPasses(t *testing.T) {
	gts := gotestsum(t)
	scratch(t, map[string]string{"ok/ok_test.go": "package ok\n\nimport \"testing\"\n\nfunc TestOK(t *testing.T) { t.Log(\"fine\") }\n"})
	code, text, errText := runScratch(t, gts, "--format", "pkgname", "--", "-count=1", "./...")
	if code != 0 || !regexp.MustCompile(`ok \(\S+\)\n\nDONE 1 tests in \S+\n`+
		`secretscan: scanned \d+ lines \(\d+ B\) of test output and 0 files \(0 B\) in OSCHECK_TEST_LOG_DIR for passwords and private keys: 0 hits\n`+
		`secretscan: ok\n$`).MatchString(text) {
		t.Errorf("exit %d, output:\n%s\nstderr:\n%s", code, masked(text), masked(errText))
	}
}

// A failed test or build fails the run, through gotestsum's exit code and the stream's failures.
func TestRunFails(t *testing.T) {
	gts := gotestsum(t)
	scratch(t, map[string]string{
		"bad/bad_test.go":   "package bad\n\nimport \"testing\"\n\nfunc TestBad(t *testing.T) { var x int = \"s\" }\n",
		"fail/fail_test.go": "package fail\n\nimport \"testing\"\n\nfunc TestFail(t *testing.T) { t.Error(\"wrong\") }\n",
	})
	code, text, errText := runScratch(t, gts, "--format", "pkgname", "--", "-count=1", "./...")
	if code != 1 || !strings.Contains(text, "=== FAIL: fail TestFail") || !strings.Contains(text, "FAIL\tscratch/bad [build failed]") ||
		!strings.Contains(text, "secretscan: FAIL: 2 packages failed, 1 tests failed, 1 builds failed, the command exit status 1; logs kept in ") {
		t.Errorf("exit %d, output:\n%s\nstderr:\n%s", code, text, errText)
	}
}

// A command that writes no event stream (plain go test, here) fails the
// run: the scan would have seen none of the tests' output.
func TestRunWithoutEvents(t *testing.T) {
	scratch(t, map[string]string{"ok/ok_test.go": "package ok\n\nimport \"testing\"\n\nfunc TestOK(t *testing.T) {}\n"})
	code, text, errText := runScratch(t, "go", "test", "-count=1", "./...")
	if code != 1 || !strings.Contains(text, "secretscan: FAIL: no package results in GOTESTSUM_JSONFILE; logs kept in ") {
		t.Errorf("exit %d, output:\n%s\nstderr:\n%s", code, text, errText)
	}
}

// The command's stderr is shown and scanned.
func TestRunScansStderr(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	t.Setenv("LEAK", secrettest.Password(t))
	code, text, errText := runScratch(t, "sh", "-c", `echo "connecting with password=$LEAK" >&2`)
	if code != 1 || !strings.Contains(text, "SECRET\tstderr: password: connecting with password=[masked password]\n") ||
		!strings.Contains(text, "secretscan: FAIL: no package results in GOTESTSUM_JSONFILE, 1 lines with secrets; logs kept in ") ||
		!strings.HasPrefix(errText, "connecting with password=") {
		t.Errorf("exit %d, output:\n%s\nstderr:\n%s", code, masked(text), masked(errText))
	}
}
