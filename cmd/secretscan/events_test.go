package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oscheck/oscheck/cmd/internal/testkit/secrettest"
)

// events makes a JSON stream from lines of
// Action|Package|Test|Output|ImportPath, with newlines and tabs in Output
// written as \n and \t.
func events(rows ...string) string {
	var b strings.Builder
	for _, row := range rows {
		f := strings.Split(row, "|")
		for len(f) < 5 {
			f = append(f, "")
		}
		fmt.Fprintf(&b, `{"Action":%q,"Package":%q,"Test":%q,"Output":%q,"ImportPath":%q,"Elapsed":0.5}`+"\n",
			f[0], f[1], f[2], strings.NewReplacer(`\n`, "\n", `\t`, "\t").Replace(f[3]), f[4])
	}
	return b.String()
}

// masked hides secrets as the scanner does, for failure messages: a test
// must not print the secrets it plants.
func masked(s string) string {
	for _, d := range detectors {
		s = d.mask.ReplaceAllLiteralString(s, "[masked "+d.kind+"]")
	}
	return s
}

// scanStream writes stream to a file and scans it.
func scanStream(t *testing.T, stream string) (*scanner, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.json")
	if err := os.WriteFile(path, []byte(stream), 0o644); err != nil {
		t.Fatal(err)
	}
	var s scanner
	results, err := s.scanEvents(path)
	if err != nil {
		t.Fatal(err)
	}
	return &s, results
}

// Every line of output is scanned, passing tests' and builds' too, also
// when a line comes in pieces or never ends.
func TestScanEvents(t *testing.T) {
	pw := secrettest.Password(t)
	s, results := scanStream(t, events(
		`build-output|||# ex/dep\n|ex/dep`,
		`build-output|||dep/d.go:2: password=`+pw+`\n|ex/dep`,
		`build-fail||||ex/dep`,
		"start|ex/ok",
		"run|ex/ok|TestA",
		`output|ex/ok|TestA|    a_test.go:9: connecting with pass`,
		`output|ex/ok|TestA|word=`+pw[:10],
		`output|ex/ok|TestA|`+pw[10:]+` to the broker\n`,
		"pass|ex/ok|TestA",
		`output|ex/ok||ok  \tex/ok\t0.015s\n`,
		"pass|ex/ok",
		"skip|ex/none",
		`output|ex/late|TestB|unfinished `+pw, // no newline before the end
	)+"not an event: "+pw+"\n")
	if results != 2 {
		t.Errorf("%d package results, want 2", results)
	}
	var got []string
	for _, h := range s.hits {
		got = append(got, h.String())
	}
	want := []string{
		"build of ex/dep: password: dep/d.go:2: password=[masked password]",
		"ex/ok TestA: password: a_test.go:9: connecting with password=[masked password] to the broker",
		"go test: password: not an event: [masked password]",
		"ex/late TestB: password: unfinished [masked password]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("hits:\n%s\nwant:\n%s", masked(strings.Join(got, "\n")), strings.Join(want, "\n"))
	}
	if s.lines != 6 {
		t.Errorf("scanned %d lines, want 6", s.lines)
	}
}

func TestScanEventsNoFile(t *testing.T) {
	var s scanner
	if results, err := s.scanEvents(filepath.Join(t.TempDir(), "none.json")); results != 0 || err != nil {
		t.Errorf("%d results, error %v; want 0, none", results, err)
	}
}
