package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// event is one line of `go test -json`: a test2json TestEvent or, for
// Action "build-output" and "build-fail", a BuildEvent (go doc cmd/go,
// "go build -json"), told apart by Action.
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string // on a package's "fail": the build that failed (an ImportPath)
	ImportPath  string // of a BuildEvent: "pkg" or "pkg [pkg.test]"
}

// renderer turns the JSON stream back into what plain `go test` prints for
// a list of packages (a line per package; failed tests' and builds' output),
// except that a failed test's output is shown in full, as with -v, and scans
// every line of output for secrets.
type renderer struct {
	out  io.Writer
	scan *scanner

	pkgs   map[string]*pkgRun
	builds map[string]*strings.Builder // output of builds not yet failed, by ImportPath
	lines  lines

	// results
	passed, failed, noTests int
	buildsFailed            int
	testsFailed             int // top-level tests (a failed subtest fails its parent)
}

// pkgRun is what a package's test binary printed so far.
type pkgRun struct {
	out   []string            // output outside any test
	tests map[string]*testRun // by top-level test: subtests go with their parent
	order []string            // top-level tests in order of first event
}

type testRun struct {
	out    []string
	failed bool
}

func newRenderer(out io.Writer, scan *scanner) *renderer {
	return &renderer{out: out, scan: scan, pkgs: make(map[string]*pkgRun), builds: make(map[string]*strings.Builder)}
}

// line handles one line of the stream.
func (r *renderer) line(b []byte) {
	var e event
	if err := json.Unmarshal(b, &e); err != nil || e.Action == "" {
		// Not an event: go test printed it itself. Show it.
		r.lines.add("go test", "", string(b), func(_, l string) { r.scan.scanOutput("go test", "", l) })
		r.out.Write(b)
		return
	}
	switch e.Action {
	case "build-output":
		r.lines.add("build of "+e.ImportPath, "", e.Output, func(_, l string) { r.scan.scanOutput("build of "+e.ImportPath, "", l) })
		b := r.builds[e.ImportPath]
		if b == nil {
			b = new(strings.Builder)
			r.builds[e.ImportPath] = b
		}
		b.WriteString(e.Output)
	case "build-fail":
		r.buildsFailed++
		if b := r.builds[e.ImportPath]; b != nil {
			io.WriteString(r.out, b.String())
			delete(r.builds, e.ImportPath)
		}
	case "start":
		r.pkgs[e.Package] = newPkgRun()
	case "output":
		r.lines.add(e.Package, e.Test, e.Output, func(test, l string) { r.scan.scanOutput(e.Package, test, l) })
		p := r.pkg(e.Package)
		if e.Test == "" {
			p.out = append(p.out, e.Output)
		} else {
			t := p.test(e.Test)
			t.out = append(t.out, e.Output)
		}
	case "pass", "fail", "skip", "bench":
		if e.Test != "" {
			r.testDone(e)
		} else {
			r.pkgDone(e)
		}
	default: // run, pause, cont: order the test among its package's
		if e.Test != "" {
			r.pkg(e.Package).test(e.Test)
		}
	}
}

func newPkgRun() *pkgRun { return &pkgRun{tests: make(map[string]*testRun)} }

func (r *renderer) pkg(name string) *pkgRun {
	p := r.pkgs[name]
	if p == nil {
		p = newPkgRun()
		r.pkgs[name] = p
	}
	return p
}

// test returns the run of the top-level test that test (maybe a subtest)
// belongs to.
func (p *pkgRun) test(test string) *testRun {
	top, _, _ := strings.Cut(test, "/")
	t := p.tests[top]
	if t == nil {
		t = new(testRun)
		p.tests[top] = t
		p.order = append(p.order, top)
	}
	return t
}

func (r *renderer) testDone(e event) {
	p := r.pkg(e.Package)
	t := p.test(e.Test)
	if e.Action == "fail" {
		t.failed = true
	}
	if strings.Contains(e.Test, "/") {
		return // its parent ends later, and shows it with itself
	}
	if t.failed {
		r.testsFailed++
		r.write(t.out)
	}
	delete(p.tests, e.Test)
}

func (r *renderer) pkgDone(e event) {
	p := r.pkg(e.Package)
	delete(r.pkgs, e.Package)
	switch e.Action {
	case "pass", "bench":
		r.passed++
		r.summary(p, "ok  ", fmt.Sprintf("ok  \t%s\t%.3fs\n", e.Package, e.Elapsed))
	case "skip":
		r.noTests++
		r.summary(p, "?   ", fmt.Sprintf("?   \t%s\t[no test files]\n", e.Package))
	case "fail":
		r.failed++
		// Tests still running (a timeout or a crash ended the binary), then
		// everything outside tests: panics, TestMain's output, FAIL lines.
		for _, name := range p.order {
			if t := p.tests[name]; t != nil {
				r.write(t.out)
			}
		}
		r.write(p.out)
		if len(p.out) == 0 {
			suffix := ""
			if e.FailedBuild != "" {
				suffix = " [build failed]"
			}
			fmt.Fprintf(r.out, "FAIL\t%s%s\n", e.Package, suffix)
		}
	}
}

// summary prints the package's own result line, the last line of its output
// that starts with prefix, or else def.
func (r *renderer) summary(p *pkgRun, prefix, def string) {
	all := strings.Join(p.out, "")
	for rest := all; rest != ""; {
		i := strings.LastIndexByte(strings.TrimSuffix(rest, "\n"), '\n')
		line := rest[i+1:]
		if strings.HasPrefix(line, prefix) {
			if !strings.HasSuffix(line, "\n") {
				line += "\n"
			}
			io.WriteString(r.out, line)
			return
		}
		rest = rest[:i+1]
	}
	io.WriteString(r.out, def)
}

func (r *renderer) write(chunks []string) {
	for _, c := range chunks {
		io.WriteString(r.out, c)
	}
}

// finish ends the stream: it scans unfinished lines and shows what never
// ended (a package whose binary go test did not get to report on, build
// output without a failure), counting such packages as failed.
func (r *renderer) finish() {
	r.lines.flush(func(key, test, l string) { r.scan.scanOutput(key, test, l) })
	for path, b := range r.builds {
		io.WriteString(r.out, b.String())
		delete(r.builds, path)
	}
	for name, p := range r.pkgs {
		r.failed++
		for _, t := range p.order {
			if t := p.tests[t]; t != nil {
				r.write(t.out)
			}
		}
		r.write(p.out)
		fmt.Fprintf(r.out, "FAIL\t%s [no result from go test]\n", name)
		delete(r.pkgs, name)
	}
}

// failures says why the stream does not show a passing run, if it does
// not; call it after finish.
func (r *renderer) failures() []string {
	var why []string
	if r.failed > 0 {
		why = append(why, fmt.Sprintf("%d packages failed", r.failed))
	}
	if r.testsFailed > 0 {
		why = append(why, fmt.Sprintf("%d tests failed", r.testsFailed))
	}
	if r.buildsFailed > 0 {
		why = append(why, fmt.Sprintf("%d builds failed", r.buildsFailed))
	}
	if r.passed+r.noTests+r.failed == 0 {
		why = append(why, "no package results")
	}
	return why
}
