package main

// A first reading of the deployment files as a new user would run them,
// after issue 16: what kubectl apply -k, or README's steps, still trip on.

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

// TestKubernetesGOMEMLIMITHeadroom: GOMEMLIMIT is a soft limit on the
// memory the Go runtime knows about; the container's limit is enforced by
// the kernel on everything the cgroup is charged for (the binary's mapped
// pages, socket buffers of the Kafka connections, kernel memory). Go's GC
// guide asks for 5-10% headroom below the hard limit. A GOMEMLIMIT equal to
// limits.memory (resourceFieldRef, divisor 1) starts the collector's extra
// work only when the cgroup is already at its limit, so it does not keep the
// pod from being OOM-killed, which is what statefulset.yaml and README say it
// is for.
func TestKubernetesGOMEMLIMITHeadroom(t *testing.T) {
	objs := renderKustomization(t, kubeBase)
	if t.Failed() {
		t.FailNow()
	}
	ctr := objs.workload(t).container(t)
	limit := ctr.Resources.Limits.Memory()
	if limit.IsZero() {
		t.Fatal("no memory limit")
	}
	for _, e := range ctr.Env {
		if e.Name != "GOMEMLIMIT" {
			continue
		}
		var bytes int64
		switch {
		case e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil:
			ref := e.ValueFrom.ResourceFieldRef
			if ref.Resource != "limits.memory" {
				t.Fatalf("GOMEMLIMIT from %s", ref.Resource)
			}
			div := int64(1)
			if !ref.Divisor.IsZero() {
				div = ref.Divisor.Value()
			}
			// The kubelet writes ceil(limit/divisor), a plain number, which
			// Go reads as bytes.
			bytes = (limit.Value() + div - 1) / div
		case e.ValueFrom == nil:
			v := e.Value
			mult := int64(1)
			for suf, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "B": 1} {
				if strings.HasSuffix(v, suf) {
					v, mult = strings.TrimSuffix(v, suf), m
					break
				}
			}
			q, err := resource.ParseQuantity(v)
			if err != nil {
				t.Fatalf("GOMEMLIMIT %q: %v", e.Value, err)
			}
			bytes = q.Value() * mult
		default:
			t.Fatalf("GOMEMLIMIT from %+v", e.ValueFrom)
		}
		if max := limit.Value() * 95 / 100; bytes > max {
			t.Errorf("GOMEMLIMIT is %d bytes against limits.memory %v (%d bytes): no headroom for the memory the Go runtime does not see; "+
				"at most 95%% (%d), e.g. a literal GOMEMLIMIT kept below the limit, or oscheck setting debug.SetMemoryLimit to 90%% of a limit it is given",
				bytes, limit, limit.Value(), max)
		}
		return
	}
	t.Error("no GOMEMLIMIT")
}

// TestReadmeKubernetesStepsFollowable runs README's numbered Kubernetes
// steps in the reader's shell, from the repository's root: every command
// must be one the named prerequisites provide, and every path a step names
// must exist in the directory the steps before left the shell in.
func TestReadmeKubernetesStepsFollowable(t *testing.T) {
	readme := readText(t, filepath.Join(deployRoot, "README.md"))
	start := strings.Index(readme, "### Kubernetes\n")
	if start < 0 {
		t.Fatal("README has no Kubernetes section")
	}
	sec := readme[start:]
	if end := strings.Index(sec[1:], "\n## "); end > 0 {
		sec = sec[:end+1]
	}
	prereq, _, _ := strings.Cut(sec[strings.Index(sec, "Prerequisites:"):], "\n\n")
	// kubectl's kustomize only builds (kubectl kustomize, apply -k): `kustomize
	// edit` is the standalone kustomize binary.
	standalone := regexp.MustCompile("`kustomize` [0-9v]|standalone kustomize|kustomize binary|install kustomize").MatchString(prereq)

	step := regexp.MustCompile(`(?m)^\d+\. .*(?:\n[^\d\n].*)*`)
	code := regexp.MustCompile("`([^`]+)`")
	cwd := "."
	for _, s := range step.FindAllString(sec, -1) {
		for _, m := range code.FindAllStringSubmatch(s, -1) {
			for _, cmd := range strings.Split(m[1], "&&") {
				f := strings.Fields(cmd)
				if len(f) == 0 {
					continue
				}
				switch {
				case f[0] == "cd" && len(f) == 2:
					cwd = path.Join(cwd, f[1])
					if fi, err := os.Stat(filepath.Join(deployRoot, cwd)); err != nil || !fi.IsDir() {
						t.Errorf("step %q: cd %s: no such directory", firstLine(s), f[1])
					}
					continue
				case f[0] == "kustomize" && !standalone:
					t.Errorf("step %q runs %q, but the prerequisites name only kubectl (%q): kubectl has no `kustomize edit` "+
						"(kubectl kustomize only builds); name the standalone kustomize, or say to edit images: by hand", firstLine(s), strings.TrimSpace(cmd), prereq)
				}
				for _, a := range f[1:] {
					if strings.HasPrefix(a, "deploy/") {
						if _, err := os.Stat(filepath.Join(deployRoot, cwd, a)); err != nil {
							t.Errorf("step %q names %s, which does not exist in %s, where the steps before left the shell", firstLine(s), a, cwd)
						}
					}
				}
			}
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if len(l) > 60 {
		l = l[:60] + "..."
	}
	return l
}
