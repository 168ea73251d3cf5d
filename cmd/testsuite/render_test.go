package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
)

// events makes a JSON stream from lines of
// Action|Package|Test|Output|FailedBuild|ImportPath, with newlines and tabs
// in Output written as \n and \t.
func events(rows ...string) string {
	var b strings.Builder
	for _, row := range rows {
		f := strings.Split(row, "|")
		for len(f) < 6 {
			f = append(f, "")
		}
		fmt.Fprintf(&b, `{"Action":%q,"Package":%q,"Test":%q,"Output":%q,"FailedBuild":%q,"ImportPath":%q,"Elapsed":0.5}`+"\n",
			f[0], f[1], f[2], strings.NewReplacer(`\n`, "\n", `\t`, "\t").Replace(f[3]), f[4], f[5])
	}
	return b.String()
}

// renderText runs a stream through the renderer and returns what it printed,
// the renderer and its scanner.
func renderText(stream string) (string, *renderer, *scanner) {
	var out strings.Builder
	var sc scanner
	r := newRenderer(&out, &sc)
	render(strings.NewReader(stream), r)
	r.finish()
	return out.String(), r, &sc
}

// masked hides secrets as the scanner does, for failure messages: a test
// must not print the secrets it plants.
func masked(s string) string {
	for _, d := range detectors {
		s = d.mask.ReplaceAllLiteralString(s, "[masked "+d.kind+"]")
	}
	return s
}

func checkText(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("printed:\n%s\nwant:\n%s", masked(got), masked(want))
	}
}

func TestPassingPackagesShowOneLine(t *testing.T) {
	got, r, _ := renderText(events(
		"start|ex/ok",
		"run|ex/ok|TestA",
		`output|ex/ok|TestA|=== RUN   TestA\n`,
		`output|ex/ok|TestA|    ok_test.go:3: hello from A\n`,
		`output|ex/ok|TestA|--- PASS: TestA (0.00s)\n`,
		"pass|ex/ok|TestA",
		`output|ex/ok||PASS\n`,
		`output|ex/ok||ok  \tex/ok\t0.015s\n`,
		"pass|ex/ok",
		"start|ex/cached",
		`output|ex/cached||ok  \tex/cached\t(cached)\n`,
		"pass|ex/cached",
		"start|ex/notests",
		`output|ex/notests||?   \tex/notests\t[no test files]\n`,
		"skip|ex/notests",
		"pass|ex/quiet", // no output at all: a line is made up
	))
	checkText(t, got, "ok  \tex/ok\t0.015s\nok  \tex/cached\t(cached)\n?   \tex/notests\t[no test files]\nok  \tex/quiet\t0.500s\n")
	if f := r.failures(); f != nil {
		t.Errorf("failures %q, want none", f)
	}
}

func TestFailedTestShownInFull(t *testing.T) {
	got, r, _ := renderText(events(
		"start|ex/fail",
		"run|ex/fail|TestPass",
		`output|ex/fail|TestPass|=== RUN   TestPass\n`,
		`output|ex/fail|TestPass|    f_test.go:3: passing log\n`,
		"pass|ex/fail|TestPass",
		"run|ex/fail|TestFail",
		`output|ex/fail|TestFail|=== RUN   TestFail\n`,
		`output|ex/fail|TestFail|stdout line\n`,
		"run|ex/fail|TestFail/ok",
		`output|ex/fail|TestFail/ok|=== RUN   TestFail/ok\n`,
		`output|ex/fail|TestFail/ok|--- PASS: TestFail/ok (0.00s)\n`,
		"pass|ex/fail|TestFail/ok",
		"run|ex/fail|TestFail/inner",
		`output|ex/fail|TestFail/inner|=== RUN   TestFail/inner\n`,
		`output|ex/fail|TestFail/inner|    f_test.go:4: inner bad\n`,
		`output|ex/fail|TestFail/inner|--- FAIL: TestFail/inner (0.00s)\n`,
		"fail|ex/fail|TestFail/inner",
		`output|ex/fail|TestFail|--- FAIL: TestFail (0.00s)\n`,
		"fail|ex/fail|TestFail",
		`output|ex/fail||FAIL\n`,
		`output|ex/fail||FAIL\tex/fail\t0.014s\n`,
		"fail|ex/fail",
	))
	checkText(t, got, `=== RUN   TestFail
stdout line
=== RUN   TestFail/ok
--- PASS: TestFail/ok (0.00s)
=== RUN   TestFail/inner
    f_test.go:4: inner bad
--- FAIL: TestFail/inner (0.00s)
--- FAIL: TestFail (0.00s)
FAIL
FAIL	ex/fail	0.014s
`)
	if f := strings.Join(r.failures(), ", "); f != "1 packages failed, 1 tests failed" {
		t.Errorf("failures %q", f)
	}
}

// A timeout ends the binary with a test still running: it gets no fail
// event, and is shown with the package's failure.
func TestTimedOutTestShown(t *testing.T) {
	got, r, _ := renderText(events(
		"start|ex/slow",
		"run|ex/slow|TestSlow",
		`output|ex/slow|TestSlow|=== RUN   TestSlow\n`,
		`output|ex/slow|TestSlow|panic: test timed out after 2s\n`,
		`output|ex/slow||FAIL\tex/slow\t2.031s\n`,
		"fail|ex/slow",
	))
	checkText(t, got, "=== RUN   TestSlow\npanic: test timed out after 2s\nFAIL\tex/slow\t2.031s\n")
	if f := strings.Join(r.failures(), ", "); f != "1 packages failed" {
		t.Errorf("failures %q", f)
	}
}

// Go 1.24 and later report build output as BuildEvents; a package whose
// build failed gets a fail event with FailedBuild, and two packages may
// share a failed build, shown once.
func TestBuildFailures(t *testing.T) {
	got, r, _ := renderText(events(
		`build-output|||# ex/dep\n||ex/dep`,
		`build-output|||dep/d.go:2:23: cannot use "x" as int value\n||ex/dep`,
		`build-fail|||||ex/dep`,
		"start|ex/dep",
		`output|ex/dep||FAIL\tex/dep [build failed]\n`,
		"fail|ex/dep|||ex/dep",
		"start|ex/user",
		`output|ex/user||FAIL\tex/user [build failed]\n`,
		"fail|ex/user|||ex/dep",
		`build-output|||# ./nosuch\n||./nosuch`,
		`build-output|||stat /x/nosuch: directory not found\n||./nosuch`,
		`build-fail|||||./nosuch`,
		"start|./nosuch",
		`output|./nosuch||FAIL\t./nosuch [setup failed]\n`,
		"fail|./nosuch|||./nosuch",
		`build-output|||# ex/vet\n||ex/vet [ex/vet.test]`,
		`build-output|||v_test.go:3:39: fmt.Printf format %d has arg "x" of wrong type string\n||ex/vet [ex/vet.test]`,
		`build-fail|||||ex/vet [ex/vet.test]`,
		"fail|ex/vet|||ex/vet [ex/vet.test]", // no output: a FAIL line is made up
	))
	checkText(t, got, `# ex/dep
dep/d.go:2:23: cannot use "x" as int value
FAIL	ex/dep [build failed]
FAIL	ex/user [build failed]
# ./nosuch
stat /x/nosuch: directory not found
FAIL	./nosuch [setup failed]
# ex/vet
v_test.go:3:39: fmt.Printf format %d has arg "x" of wrong type string
FAIL	ex/vet [build failed]
`)
	if f := strings.Join(r.failures(), ", "); f != "4 packages failed, 3 builds failed" {
		t.Errorf("failures %q", f)
	}
}

func TestNothingTestedFails(t *testing.T) {
	got, r, _ := renderText("go: warning: \"./...\" matched no packages\n")
	checkText(t, got, "go: warning: \"./...\" matched no packages\n")
	if f := strings.Join(r.failures(), ", "); f != "no package results" {
		t.Errorf("failures %q", f)
	}
}

// A package go test did not finish reporting on (go test was killed) fails.
func TestUnfinishedPackageFails(t *testing.T) {
	got, r, _ := renderText(events(
		"start|ex/ok",
		"pass|ex/ok",
		"start|ex/cut",
		"run|ex/cut|TestX",
		`output|ex/cut|TestX|=== RUN   TestX\n`,
	))
	checkText(t, got, "ok  \tex/ok\t0.500s\n=== RUN   TestX\nFAIL\tex/cut [no result from go test]\n")
	if f := strings.Join(r.failures(), ", "); f != "1 packages failed" {
		t.Errorf("failures %q", f)
	}
}

// Passing tests' output is not shown, but it is scanned, also when a line
// comes in pieces.
func TestPassingOutputScanned(t *testing.T) {
	pw := secrettest.Password(t)
	got, r, sc := renderText(events(
		"start|ex/ok",
		"run|ex/ok|TestA",
		`output|ex/ok|TestA|    a_test.go:9: connecting with pass`,
		`output|ex/ok|TestA|word=`+pw[:10],
		`output|ex/ok|TestA|`+pw[10:]+` to the broker\n`,
		"pass|ex/ok|TestA",
		`output|ex/ok||ok  \tex/ok\t0.015s\n`,
		"pass|ex/ok",
		`output|ex/late|TestB|unfinished `+pw, // no newline before the end
	))
	if strings.Contains(got, "connecting") {
		t.Error("the passing test's output was shown")
	}
	if len(sc.hits) != 2 {
		t.Fatalf("%d hits, want 2: %v", len(sc.hits), sc.hits)
	}
	h := sc.hits[0]
	if h.where != "ex/ok" || h.test != "TestA" || h.text != "a_test.go:9: connecting with password=[masked password] to the broker" {
		t.Errorf("hit %q", h)
	}
	if h := sc.hits[1]; h.where != "ex/late" || h.test != "TestB" {
		t.Errorf("hit in an unfinished line %q, want one in ex/late TestB", h)
	}
	if sc.lines != 3 {
		t.Errorf("scanned %d lines, want 3", sc.lines)
	}
	var out strings.Builder
	reasons := report(&out, r, sc, errors.New("exit status 1"))
	if strings.Contains(out.String(), pw) || strings.Contains(out.String(), secrettest.Marker) {
		t.Errorf("report shows the secret or the marker:\n%s", masked(out.String()))
	}
	if !strings.Contains(out.String(), "SECRET\tex/ok TestA: password: a_test.go:9: connecting with password=[masked password] to the broker\n") ||
		!strings.Contains(out.String(), "testsuite: scanned 3 lines (") || !strings.Contains(out.String(), ": 2 hits\n") {
		t.Errorf("report:\n%s", masked(out.String()))
	}
	if f := strings.Join(reasons, ", "); f != "1 packages failed, 2 lines with secrets, go test: exit status 1" {
		t.Errorf("reasons %q", f)
	}
}
