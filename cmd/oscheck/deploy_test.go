package main

// Tests of the deployment files: the Dockerfile, docker-compose.yml and
// everything under deploy/. No Docker engine is needed: the files are
// parsed and checked against each other and against oscheck itself (its
// configuration keys and defaults, the metrics it serves, its build flags),
// and the tools that are installed (docker-compose, promtool, nginx) check
// what they can.

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// deployRoot is the repository's root, seen from this package's directory.
const deployRoot = "../.."

func readText(t *testing.T, f string) string {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readProperties reads a Java properties file of key=value lines.
func readProperties(t *testing.T, f string) map[string]string {
	t.Helper()
	props := make(map[string]string)
	for _, line := range strings.Split(readText(t, f), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not key=value", f, line)
		}
		props[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return props
}

// mapAt walks nested maps; nil when a key is missing.
func mapAt(v any, keys ...string) map[string]any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	m, _ := v.(map[string]any)
	return m
}

func str(v map[string]any, keys ...string) string {
	m := mapAt(v, keys[:len(keys)-1]...)
	if len(keys) == 1 {
		m = v
	}
	s, _ := m[keys[len(keys)-1]].(string)
	return s
}

func num(v map[string]any, keys ...string) float64 {
	m := mapAt(v, keys[:len(keys)-1]...)
	if len(keys) == 1 {
		m = v
	}
	switch n := m[keys[len(keys)-1]].(type) {
	case int:
		return float64(n)
	case float64:
		return n
	}
	return 0
}

func list(v map[string]any, keys ...string) []any {
	m := mapAt(v, keys[:len(keys)-1]...)
	if len(keys) == 1 {
		m = v
	}
	l, _ := m[keys[len(keys)-1]].([]any)
	return l
}

func strList(l []any) []string {
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = fmt.Sprint(v)
	}
	return s
}

func stringMap(m map[string]any) map[string]string {
	s := make(map[string]string, len(m))
	for k, v := range m {
		s[k] = fmt.Sprint(v)
	}
	return s
}
