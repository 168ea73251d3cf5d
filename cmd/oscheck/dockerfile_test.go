package main

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oscheck/oscheck/cmd/internal/testkit/proc"
)

// TestDockerfile checks the Dockerfile's shape (multi-stage, non-root, a
// HEALTHCHECK in exec form) and that its go build line is the one the tests
// build with (proc.BuildEnv, proc.BuildFlags); then it runs that line on a
// copy of what the build stage's COPY lines bring in, and checks the binary:
// static, runs, and its healthcheck command answers as Docker expects.
func TestDockerfile(t *testing.T) {
	stages := dockerStages(t)
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a runtime stage", len(stages))
	}
	final := stages[len(stages)-1]
	user := dockerfileUser(t)
	if n, err := strconv.Atoi(user); err != nil || n == 0 {
		t.Errorf("final stage USER %q: want a numeric non-root uid (Kubernetes' runAsNonRoot can only verify a number)", user)
	}

	// The go build line of some earlier stage.
	var env, flags, pkgs []string
	var out string
	var build *dockerStage
	for i := range stages[:len(stages)-1] {
		for _, in := range stages[i].instrs {
			if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
				continue
			}
			words, err := shellWords(in.args)
			if err != nil {
				t.Fatalf("line %d: %v", in.line, err)
			}
			g := slices.Index(words, "go")
			o := slices.Index(words, "-o")
			if g < 0 || g+1 >= len(words) || words[g+1] != "build" || o < g || o+1 >= len(words) {
				t.Fatalf("line %d: %q is not NAME=VALUE... go build FLAGS... -o OUT PACKAGE", in.line, in.args)
			}
			env, flags, out, pkgs = words[:g], words[g+2:o], words[o+1], words[o+2:]
			build = &stages[i]
		}
	}
	if build == nil {
		t.Fatal("no RUN ... go build in a build stage")
	}
	for _, e := range env {
		if !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(e) {
			t.Fatalf("go build line: %q before go build is not an assignment", e)
		}
	}
	if !slices.Equal(env, proc.BuildEnv) || !slices.Equal(flags, proc.BuildFlags) {
		t.Errorf("go build line: environment %q flags %q; the tests build with proc.BuildEnv %q and proc.BuildFlags %q",
			env, flags, proc.BuildEnv, proc.BuildFlags)
	}
	if !slices.Equal(pkgs, []string{"./cmd/oscheck"}) {
		t.Errorf("go build line builds %q, want ./cmd/oscheck", pkgs)
	}

	// The final stage copies that binary, runs it and checks its health.
	var binary string
	var entrypoint, health []string
	exposed := make(map[string]bool)
	for _, in := range final.instrs {
		switch in.cmd {
		case "COPY":
			words, _ := shellWords(in.args)
			from := ""
			var rest []string
			for _, w := range words {
				if v, ok := strings.CutPrefix(w, "--from="); ok {
					from = v
				} else if !strings.HasPrefix(w, "--") {
					rest = append(rest, w)
				}
			}
			if (from == build.name || from == strconv.Itoa(build.index)) && len(rest) == 2 && rest[0] == out {
				binary = rest[1]
			}
		case "ENTRYPOINT":
			entrypoint = execForm(t, in)
		case "HEALTHCHECK":
			_, cmd, ok := strings.Cut(in.args, "CMD ")
			if !ok {
				t.Fatalf("line %d: HEALTHCHECK without CMD", in.line)
			}
			health = execForm(t, dockerInstr{cmd: in.cmd, args: cmd, line: in.line})
		case "EXPOSE":
			for _, p := range strings.Fields(in.args) {
				exposed[strings.TrimSuffix(p, "/tcp")] = true
			}
		}
	}
	if binary == "" {
		t.Fatalf("the final stage does not COPY --from=%s %s", build.name, out)
	}
	if len(entrypoint) == 0 || entrypoint[0] != binary {
		t.Errorf("ENTRYPOINT %q, want [%q]", entrypoint, binary)
	}
	if len(health) < 2 || health[0] != binary || health[1] != "healthcheck" {
		t.Errorf("HEALTHCHECK CMD %q, want [%q, \"healthcheck\", ...]", health, binary)
	}
	_, httpPort, _ := net.SplitHostPort(newRunFlags().Lookup("http-addr").DefValue)
	if !exposed[httpPort] {
		t.Errorf("EXPOSE %v does not include the default http-addr port %s", slices.Sorted(maps.Keys(exposed)), httpPort)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Build as the image does, from what the build stage's COPY lines bring
	// in: a source the build needs and the Dockerfile forgets fails here.
	ctxDir := dockerContext(t, *build)
	bin := filepath.Join(t.TempDir(), "oscheck")
	args := append(append([]string{"build"}, flags...), "-o", bin)
	cmd := exec.Command("go", append(args, pkgs...)...)
	cmd.Dir = ctxDir
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s in the build context: %v\n%s", strings.Join(append(env, cmd.Args...), " "), err, b)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a PT_INTERP program header: it is dynamically linked and cannot run on distroless/static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %q (%v)", libs, err)
	}
	f.Close()
	if slices.Contains(flags, "-trimpath") {
		if b, err := os.ReadFile(bin); err != nil || bytes.Contains(b, []byte(ctxDir)) {
			t.Errorf("the binary holds its build directory %s despite -trimpath (%v)", ctxDir, err)
		}
	}
	usageOut, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(usageOut), "usage: oscheck") {
		t.Errorf("%s --help: %v\n%s", bin, err, usageOut)
	}

	// The image's HEALTHCHECK command: 0 for a 200, and 1 (Docker's
	// "unhealthy"; 2 is reserved) for anything else.
	t.Run("healthcheck", func(t *testing.T) {
		var status atomic.Int32 // the server's answer
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(int(status.Load()))
		}))
		defer srv.Close()
		closed := freeAddr(t)
		for _, c := range []struct {
			status int
			url    string
			want   int
		}{
			{http.StatusOK, srv.URL + "/healthz", 0},
			{http.StatusServiceUnavailable, srv.URL + "/healthz", 1},
			{http.StatusOK, "http://" + closed + "/healthz", 1},
		} {
			status.Store(int32(c.status))
			cmd := exec.Command(bin, append(slices.Clone(health[1:]), "--url", c.url)...)
			b, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			code := 0
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.want {
				t.Errorf("%q against a %d: exit status %d, want %d\n%s", cmd.Args, c.status, code, c.want, b)
			}
		}
	})
}

type dockerInstr struct {
	cmd, args string
	line      int
}

type dockerStage struct {
	from, name string
	index      int
	instrs     []dockerInstr
}

// dockerStages parses the Dockerfile: comments dropped, continuation lines
// joined, instructions grouped by stage.
func dockerStages(t *testing.T) []dockerStage {
	t.Helper()
	var stages []dockerStage
	var cur strings.Builder
	start := 0
	flush := func() {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := dockerInstr{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := dockerStage{from: f[0], index: len(stages)}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			return
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile line %d: %s before FROM", start, in.cmd)
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	for i, line := range strings.Split(readText(t, filepath.Join(deployRoot, "Dockerfile")), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if body, ok := strings.CutSuffix(strings.TrimRight(line, " \t"), "\\"); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	return stages
}

// dockerfileUser is the uid of the final stage's USER.
func dockerfileUser(t *testing.T) string {
	t.Helper()
	stages := dockerStages(t)
	user := ""
	for _, in := range stages[len(stages)-1].instrs {
		if in.cmd == "USER" {
			user, _, _ = strings.Cut(in.args, ":")
		}
	}
	if user == "" {
		t.Fatal("the final stage has no USER: the image would run as root")
	}
	return user
}

func dockerfileHasHealthcheck(t *testing.T) bool {
	stages := dockerStages(t)
	for _, in := range stages[len(stages)-1].instrs {
		if in.cmd == "HEALTHCHECK" {
			return !strings.HasPrefix(strings.TrimSpace(in.args), "NONE")
		}
	}
	return false
}

// execForm parses an instruction's JSON (exec) form; the shell form needs a
// /bin/sh, which a distroless image has not.
func execForm(t *testing.T, in dockerInstr) []string {
	t.Helper()
	var words []string
	if err := json.Unmarshal([]byte(strings.TrimSpace(in.args)), &words); err != nil {
		t.Errorf("line %d: %s %s is not in exec form [\"...\"] (the shell form needs /bin/sh, which the image lacks): %v", in.line, in.cmd, in.args, err)
	}
	return words
}

// dockerContext copies into a temporary directory what the COPY lines of
// the build stage copy from the repository, at the paths they name (the
// build's WORKDIR being the copy's root), and returns the directory.
func dockerContext(t *testing.T, build dockerStage) string {
	t.Helper()
	dst := t.TempDir()
	for _, in := range build.instrs {
		if in.cmd != "COPY" {
			continue
		}
		words, err := shellWords(in.args)
		if err != nil || len(words) < 2 {
			t.Fatalf("line %d: COPY %s: %v", in.line, in.args, err)
		}
		if strings.HasPrefix(words[0], "--") {
			t.Fatalf("line %d: COPY %s in the build stage copies from elsewhere than the repository", in.line, in.args)
		}
		srcs, to := words[:len(words)-1], words[len(words)-1]
		for _, src := range srcs {
			if src == "." || strings.Contains(src, "..") {
				t.Errorf("line %d copies %q: copy the sources the build needs by name, not the whole repository", in.line, src)
				continue
			}
			target := filepath.Join(dst, to)
			if len(srcs) > 1 || strings.HasSuffix(to, "/") {
				target = filepath.Join(dst, to, filepath.Base(src))
			}
			copyTree(t, filepath.Join(deployRoot, src), target)
		}
	}
	return dst
}

// copyTree copies the file or directory src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}

// shellWords splits s into words as a POSIX shell does (quotes and
// backslashes; no expansions).
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				w.WriteByte(s[i])
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", s)
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated \" in %q", s)
			}
		default:
			inWord = true
			w.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// ---- PromQL
