package secrettest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// LogDirEnv names the environment variable that cmd/secretscan sets to a
// fresh directory whose files it scans after the tests; tests put there the
// logs they would otherwise keep in memory, so that the scan sees them.
const LogDirEnv = "OSCHECK_TEST_LOG_DIR"

// LogFile returns a writer to a new file <dir>/<t.Name()>-<n>.log (the name
// made safe for a path, n counting from 1 past existing files) in the
// directory that LogDirEnv names, closed when the test ends, or io.Discard
// when it is not set. It is safe for concurrent use; writes after the test
// ended and write errors are dropped, so that logging never fails what logs.
func LogFile(t testing.TB) io.Writer {
	t.Helper()
	root := os.Getenv(LogDirEnv)
	if root == "" {
		return io.Discard
	}
	f, err := create(root, t.Name(), func(path string) (*os.File, error) {
		return os.OpenFile(path+".log", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	})
	if err != nil {
		t.Fatalf("secrettest: log file: %v", err)
	}
	w := &logFile{f: f}
	t.Cleanup(w.close)
	return w
}

// LogDir returns a new directory <dir>/<t.Name()>-<n> in the directory that
// LogDirEnv names, for the logs of processes a test starts (testkit/proc
// writes there), or t.TempDir() when it is not set. It stays when the test
// ends, for the scan.
func LogDir(t testing.TB) string {
	t.Helper()
	root := os.Getenv(LogDirEnv)
	if root == "" {
		return t.TempDir()
	}
	var dir string
	_, err := create(root, t.Name(), func(path string) (*os.File, error) {
		dir = path
		return nil, os.Mkdir(path, 0o755)
	})
	if err != nil {
		t.Fatalf("secrettest: log directory: %v", err)
	}
	return dir
}

// create calls try with root/<name>-<n> for n = 1, 2, ... until it does not
// find the path existing: test binaries of several packages, and tests run
// with -count, share root and may share names.
func create(root, name string, try func(path string) (*os.File, error)) (*os.File, error) {
	base := filepath.Join(root, safeName(name))
	for n := 1; ; n++ {
		f, err := try(fmt.Sprintf("%s-%d", base, n))
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
}

// safeName keeps letters, digits, '.', '_' and '-' of a test's name and
// turns anything else (the '/' of subtests, say) into '_'.
func safeName(name string) string {
	const max = 120 // well below file name limits, with room for -<n>.log
	s := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, name)
	if len(s) > max {
		s = s[:max]
	}
	if s == "" || s[0] == '.' {
		s = "_" + s
	}
	return s
}

type logFile struct {
	mu sync.Mutex
	f  *os.File // nil once closed
}

func (w *logFile) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Write(p)
	}
	return len(p), nil
}

func (w *logFile) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.f.Close()
	w.f = nil
}
