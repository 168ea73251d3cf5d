package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oscheck/oscheck/cmd/internal/testkit/proc"
)

// TestDockerBuilderPinned checks that the build stage's golang image is
// pinned to a Go release at least go.mod's: the image sets
// GOTOOLCHAIN=local, so a floating tag served from an older cache fails at
// go mod download. README names the same tag.
func TestDockerBuilderPinned(t *testing.T) {
	stages := dockerStages(t)
	var image string
	for _, s := range stages[:len(stages)-1] {
		if strings.HasPrefix(s.from, "golang:") {
			image = s.from
		}
	}
	m := regexp.MustCompile(`^golang:(\d+\.\d+\.\d+)(-[a-z0-9.]+)?(@sha256:[0-9a-f]{64})?$`).FindStringSubmatch(image)
	if m == nil {
		t.Fatalf("build stage image %q: want golang:<major.minor.patch>[-variant], a release, not a floating tag", image)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+(?:\.\d+)?)$`).FindStringSubmatch(readText(t, filepath.Join(deployRoot, "go.mod")))
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	if versionLess(m[1], goLine[1]) {
		t.Errorf("build stage image %s has Go %s, older than go.mod's go %s: with GOTOOLCHAIN=local it refuses the module", image, m[1], goLine[1])
	}
	readme := readText(t, filepath.Join(deployRoot, "README.md"))
	for _, tag := range regexp.MustCompile("`(golang:[^`]+)`").FindAllStringSubmatch(readme, -1) {
		if tag[1] != strings.SplitN(image, "@", 2)[0] {
			t.Errorf("README names the builder %s, the Dockerfile %s", tag[1], image)
		}
	}
}

// TestDockerignore checks that the build context leaves out what the
// build does not need: the repository's history above all.
func TestDockerignore(t *testing.T) {
	ig := loadDockerignore(t)
	for _, p := range []string{".git/HEAD", ".git/objects/ab/cdef", "oscheck", ".ci/run", "deploy/grafana/dashboards/oscheck.json",
		"docker-compose.yml", "README.md"} {
		if !ig.excludes(p) {
			t.Errorf(".dockerignore lets %s into the build context", p)
		}
	}
	for _, p := range []string{"go.mod", "go.sum", "cmd/oscheck/main.go", "topology/service.go", "processor/window.go", "state/slot.go"} {
		if ig.excludes(p) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", p)
		}
	}
}

// dockerignore is a .dockerignore's patterns, matched as Docker matches
// them: in order, the last match deciding, "!" re-including, a pattern
// that matches a directory matching everything under it.
type dockerignore []struct {
	re     *regexp.Regexp
	negate bool
}

func loadDockerignore(t *testing.T) dockerignore {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployRoot, ".dockerignore"))
	if err != nil {
		t.Fatalf("no .dockerignore: the whole repository, .git included, is sent as the build context (%v)", err)
	}
	var ig dockerignore
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		pat := strings.Trim(filepath.ToSlash(filepath.Clean(strings.TrimPrefix(line, "!"))), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(pat); i++ {
			switch c := pat[i]; {
			case strings.HasPrefix(pat[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(pat[i:], "**"):
				re.WriteString(".*")
				i++
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("(/.*)?$")
		ig = append(ig, struct {
			re     *regexp.Regexp
			negate bool
		}{regexp.MustCompile(re.String()), neg})
	}
	return ig
}

func (ig dockerignore) excludes(p string) bool {
	out := false
	for _, r := range ig {
		if r.re.MatchString(p) {
			out = !r.negate
		}
	}
	return out
}

// TestHealthcheckFollowsProcess runs the image's HEALTHCHECK command as
// Docker does, next to oscheck commands started as a container would start
// them: it asks the /healthz where oscheck run serves (an address only its
// environment names), and passes for a command that serves no HTTP.
func TestHealthcheckFollowsProcess(t *testing.T) {
	bin := oscheckBinary(t)
	brokers := startBroker(t, 2, "access_log")
	health := func(pid int) (int, string) {
		cmd := exec.Command(bin, "healthcheck", "--pid", strconv.Itoa(pid))
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // none of the service's settings
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	start := func(env []string, args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Dir = t.TempDir()
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}

	addr := freeAddr(t)
	svc := start([]string{"OSCHECK_BROKERS=" + brokers[0], "OSCHECK_HTTP_ADDR=" + addr, "OSCHECK_GROUP=hc"}, "run")
	if err := proc.WaitFor(t.Context(), 30*time.Second, "oscheck run to serve HTTP", func() bool { return proc.Listening(addr) }); err != nil {
		t.Fatal(err)
	}
	if code, out := health(svc.Process.Pid); code != 0 {
		t.Errorf("healthcheck of oscheck run on %s: exit %d\n%s", addr, code, out)
	}
	_ = svc.Process.Kill()
	_ = svc.Wait()
	// Nothing listens there now: unhealthy, Docker's exit status 1.
	if code, out := health(svc.Process.Pid); code == 0 {
		t.Errorf("healthcheck of a gone process: exit 0\n%s", out)
	}

	gen := start(nil, "gen", "--rate", "1", "--file", filepath.Join(t.TempDir(), "access.log"))
	time.Sleep(200 * time.Millisecond)
	if code, out := health(gen.Process.Pid); code != 0 {
		t.Errorf("healthcheck of oscheck gen, which serves no HTTP: exit %d, want 0\n%s", code, out)
	}
}

// versionLess compares dotted release numbers: 1.26 < 1.26.8 < 1.27.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
