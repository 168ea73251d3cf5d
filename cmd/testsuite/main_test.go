package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

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
	scratch(t, map[string]string{"leaky/leaky_test.go": leaky, "none/none.go": "package none\n"})
	var out, errOut strings.Builder
	code := run([]string{"-count=1", "./..."}, &out, &errOut)
	text := out.String()
	if m := regexp.MustCompile(`logs kept in (\S+)`).FindStringSubmatch(text); m != nil {
		os.RemoveAll(m[1])
	} else {
		t.Error("no log directory kept")
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"ok  \tscratch/leaky\t",
		"?   \tscratch/none\t[no test files]\n",
		"SECRET\tscratch/leaky TestLogsPassword: password: leaky_test.go:9: password [masked password]\n",
		"SECRET\tTestWritesKey-1.log:2: private key: [masked private key]\n",
		" of test output and 1 files (49 B) in OSCHECK_TEST_LOG_DIR for passwords and private keys: 2 hits\n",
		"testsuite: FAIL: 2 lines with secrets; logs kept in ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if holdsSecret(text) || holdsSecret(errOut.String()) {
		t.Error("output shows a secret")
	}
	if t.Failed() {
		t.Logf("output:\n%s\nstderr:\n%s", masked(text), masked(errOut.String()))
	}
}

func TestRunPasses(t *testing.T) {
	scratch(t, map[string]string{"ok/ok_test.go": "package ok\n\nimport \"testing\"\n\nfunc TestOK(t *testing.T) { t.Log(\"fine\") }\n"})
	var out, errOut strings.Builder
	if code := run([]string{"-count=1", "./..."}, &out, &errOut); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	if !regexp.MustCompile(`^ok  \tscratch/ok\t\S+s\n` +
		`testsuite: scanned \d+ lines \(\d+ B\) of test output and 0 files \(0 B\) in OSCHECK_TEST_LOG_DIR for passwords and private keys: 0 hits\n` +
		`testsuite: ok: 1 packages passed, 0 without tests\n$`).MatchString(out.String()) {
		t.Errorf("output:\n%s\nstderr:\n%s", masked(out.String()), masked(errOut.String()))
	}
}

func TestRunBuildFailure(t *testing.T) {
	scratch(t, map[string]string{"bad/bad_test.go": "package bad\n\nimport \"testing\"\n\nfunc TestBad(t *testing.T) { var x int = \"s\" }\n"})
	var out, errOut strings.Builder
	code := run([]string{"-count=1", "./..."}, &out, &errOut)
	if m := regexp.MustCompile(`logs kept in (\S+)`).FindStringSubmatch(out.String()); m != nil {
		os.RemoveAll(m[1])
	}
	if code != 1 || !strings.Contains(out.String(), "# scratch/bad [scratch/bad.test]\nbad/bad_test.go:5:") ||
		!strings.Contains(out.String(), "FAIL\tscratch/bad [build failed]\n") ||
		!strings.Contains(out.String(), "testsuite: FAIL: 1 packages failed, 1 builds failed, go test exit status 1; logs kept in ") {
		t.Errorf("exit %d, output:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
}
