package main

import (
	"strings"
	"testing"
)

// A test that fails in a package whose TestMain exits 0 after m.Run() (or
// that drops m.Run's code) leaves go test, and so gotestsum, exiting 0:
// cmd/testsuite, which counted the failures in the JSON stream, failed the
// run; secretscan must too, whatever the command's exit code says.
func TestAttackRunFailsOnFailedTestDespiteExitZero(t *testing.T) {
	gts := gotestsum(t)
	scratch(t, map[string]string{"exitzero/e_test.go": "package exitzero\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\n" +
		"func TestMain(m *testing.M) { m.Run(); os.Exit(0) }\n\nfunc TestF(t *testing.T) { t.Error(\"wrong\") }\n"})
	code, text, errText := runScratch(t, gts, "--format", "pkgname", "--", "-count=1", "./...")
	if code != 1 || !strings.Contains(text, "secretscan: FAIL: 1 tests failed") {
		t.Errorf("exit %d, output:\n%s\nstderr:\n%s", code, text, errText)
	}
}
