package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLayout checks README's Layout section against the tree: its tables
// name every package of the module and nothing else (a folder, named with
// a trailing slash, must exist), and its first table, "In the binary",
// names exactly the module's packages that cmd/oscheck imports, so that
// none of them is a test tool.
func TestLayout(t *testing.T) {
	readme := readText(t, filepath.Join(deployRoot, "README.md"))
	_, layout, ok := strings.Cut(readme, "\n## Layout\n")
	if !ok {
		t.Fatal("README has no Layout section")
	}
	if i := strings.Index(layout, "\n## "); i >= 0 {
		layout = layout[:i]
	}
	named := map[string]string{} // package or folder: the table it is in
	var section string
	for _, line := range strings.Split(layout, "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			section = h
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if s, dup := named[name]; dup {
			t.Errorf("Layout names %s twice (%s, %s)", name, s, section)
		}
		named[name] = section
	}

	pkgs := modulePackages(t)
	for name := range named {
		if dir, ok := strings.CutSuffix(name, "/"); ok {
			if fi, err := os.Stat(filepath.Join(deployRoot, dir)); err != nil || !fi.IsDir() {
				t.Errorf("Layout names the folder %s, which does not exist", name)
			}
		} else if !pkgs[name] {
			t.Errorf("Layout names %s, which is not a package of the module", name)
		}
	}
	for p := range pkgs {
		if _, ok := named[p]; !ok {
			t.Errorf("Layout does not name the package %s", p)
		}
	}

	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const module = "github.com/oscheck/oscheck"
	var shipped, inTable []string
	for _, p := range strings.Fields(string(out)) {
		if p == module || strings.HasPrefix(p, module+"/") {
			p = strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
			shipped = append(shipped, p)
			if strings.Contains(p, "/testkit/") || strings.HasSuffix(p, "/testkit") {
				t.Errorf("the binary imports the test tool %s", p)
			}
		}
	}
	for name, s := range named {
		if s == "In the binary" {
			inTable = append(inTable, name)
		}
	}
	slices.Sort(shipped)
	slices.Sort(inTable)
	if !slices.Equal(shipped, inTable) {
		t.Errorf("Layout's \"In the binary\" names %q; the binary imports %q", inTable, shipped)
	}
}

// modulePackages returns the directories under the repository's root that
// hold Go files, as the go command sees them (testdata, vendor and names
// beginning with . or _ left out), relative to the root.
func modulePackages(t *testing.T) map[string]bool {
	t.Helper()
	pkgs := map[string]bool{}
	err := filepath.WalkDir(deployRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != deployRoot && (name == "testdata" || name == "vendor" || name[0] == '.' || name[0] == '_') {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") && name[0] != '.' && name[0] != '_' {
			rel, err := filepath.Rel(deployRoot, filepath.Dir(path))
			if err != nil {
				return err
			}
			pkgs[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// TestCIRunsReadmeTestCommand checks that .ci/run runs README's test
// command, the one its comment says CI runs, word for word.
func TestCIRunsReadmeTestCommand(t *testing.T) {
	var readmeCmd string
	for _, line := range strings.Split(readText(t, filepath.Join(deployRoot, "README.md")), "\n") {
		if cmd, comment, ok := strings.Cut(line, "   # "); ok && strings.Contains(comment, "CI runs exactly this") {
			readmeCmd = strings.TrimSpace(cmd)
			break
		}
	}
	if readmeCmd == "" {
		t.Fatal(`README has no command commented "CI runs exactly this"`)
	}
	ci := strings.Split(strings.TrimSpace(readText(t, filepath.Join(deployRoot, ".ci/run"))), "\n")
	if last := ci[len(ci)-1]; last != readmeCmd {
		t.Errorf(".ci/run ends with\n\t%s\nREADME's test command is\n\t%s", last, readmeCmd)
	}
}
