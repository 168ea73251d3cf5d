package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
)

// event is one line of `go test -json`: a test2json TestEvent or, for
// Action "build-output" and "build-fail", a BuildEvent (go doc cmd/go,
// "go build -json"), told apart by Action.
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // of a BuildEvent: "pkg" or "pkg [pkg.test]"
}

// scanEvents scans every line of output in the JSON event stream in the
// file at path (none when there is no such file): tests' and builds',
// joined where an event ends mid-line, and lines that are not events. It
// returns how many package results (a pass, fail, skip or bench of a
// package) the stream holds, and counts the failed top-level tests,
// packages and builds it records (failed): a test binary whose TestMain
// exits 0 after a failed test leaves go test exiting 0.
func (s *scanner) scanEvents(path string) (results int, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var l lines
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			var e event
			switch jerr := json.Unmarshal(b, &e); {
			case jerr != nil || e.Action == "":
				l.add("go test", "", string(b), func(_, line string) { s.scanOutput("go test", "", line) })
			case e.Action == "build-output":
				where := "build of " + e.ImportPath
				l.add(where, "", e.Output, func(_, line string) { s.scanOutput(where, "", line) })
			case e.Action == "output":
				l.add(e.Package, e.Test, e.Output, func(test, line string) { s.scanOutput(e.Package, test, line) })
			case e.Action == "build-fail":
				s.failed.builds++
			case e.Test != "" && e.Action == "fail" && !strings.Contains(e.Test, "/"):
				// A failed subtest fails its parent too.
				s.failed.tests++
			case e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip" || e.Action == "bench"):
				results++
				if e.Action == "fail" {
					s.failed.packages++
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return results, err
		}
	}
	l.flush(func(key, test, line string) { s.scanOutput(key, test, line) })
	return results, nil
}
