package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/oscheck/oscheck/topology"
)

// TestKubernetesManifests checks deploy/kubernetes: the Deployment runs
// oscheck as the image does and drains within its grace period, probes the
// endpoints oscheck serves, and the PDB, Service and ScaledObject select it
// and agree with its configuration.
func TestKubernetesManifests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(deployRoot, "deploy", "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	apiVersions := map[string]string{
		"Deployment":          "apps/v1",
		"Service":             "v1",
		"PodDisruptionBudget": "policy/v1",
		"ScaledObject":        "keda.sh/v1alpha1",
		"Kustomization":       "kustomize.config.k8s.io/v1beta1",
	}
	byKind := make(map[string]map[string]any)
	var kustomized []string
	for _, f := range files {
		dec := yaml.NewDecoder(strings.NewReader(readText(t, f)))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if doc == nil {
				continue
			}
			kind, api := str(doc, "kind"), str(doc, "apiVersion")
			if want, ok := apiVersions[kind]; !ok || api != want {
				t.Errorf("%s: kind %q apiVersion %q; known kinds: %v", f, kind, api, apiVersions)
				continue
			}
			if byKind[kind] != nil {
				t.Errorf("%s: a second %s", f, kind)
			}
			byKind[kind] = doc
			if kind == "Kustomization" {
				for _, r := range list(doc, "resources") {
					kustomized = append(kustomized, fmt.Sprint(r))
				}
			}
		}
	}
	for kind := range apiVersions {
		if byKind[kind] == nil {
			t.Errorf("no %s", kind)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" && !slices.Contains(kustomized, base) {
			t.Errorf("kustomization.yaml does not list %s", base)
		}
	}
	for _, r := range kustomized {
		if _, err := os.Stat(filepath.Join(deployRoot, "deploy", "kubernetes", r)); err != nil {
			t.Errorf("kustomization.yaml: %v", err)
		}
	}

	dep := byKind["Deployment"]
	name := str(dep, "metadata", "name")
	if n := num(dep, "spec", "replicas"); n != 3 {
		t.Errorf("Deployment replicas %v, want 3", n)
	}
	pod := mapAt(dep, "spec", "template", "spec")
	podLabels := stringMap(mapAt(dep, "spec", "template", "metadata", "labels"))
	if !selects(mapAt(dep, "spec", "selector", "matchLabels"), podLabels) {
		t.Errorf("the Deployment's selector does not match its pods' labels %v", podLabels)
	}
	containers := list(pod, "containers")
	if len(containers) != 1 {
		t.Fatalf("%d containers, want 1", len(containers))
	}
	ctr := containers[0].(map[string]any)
	if args := strList(list(ctr, "args")); len(args) == 0 || args[0] != "run" {
		t.Errorf("container args %q, want run", args)
	}
	env := make(map[string]string)
	for _, e := range list(ctr, "env") {
		e := e.(map[string]any)
		k := str(e, "name")
		if str(e, "valueFrom", "fieldRef", "fieldPath") == "metadata.name" {
			env[k] = name + "-5d8f7c9b4-x2x7q" // what the downward API gives
		} else if v, ok := e["value"]; ok {
			env[k] = fmt.Sprint(v)
		} else {
			t.Errorf("env %s: neither a value nor the pod's name", k)
		}
	}
	dc := deployedConfig(t, "the Deployment", env)
	if dc.cfg.InstanceID == "" {
		t.Error("OSCHECK_INSTANCE_ID is not set from the pod's name: no static membership")
	}
	port := dc.httpPort(t)
	ports := make(map[string]string) // name → number
	for _, p := range list(ctr, "ports") {
		p := p.(map[string]any)
		ports[str(p, "name")] = fmt.Sprint(p["containerPort"])
	}
	if !slices.Contains(slices.Collect(maps.Values(ports)), port) {
		t.Errorf("container ports %v do not include oscheck's HTTP port %s", ports, port)
	}
	portOK := func(v any) bool {
		s := fmt.Sprint(v)
		return ports[s] == port || s == port
	}
	for probe, want := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"} {
		p := mapAt(ctr, probe)
		if p == nil {
			if probe != "startupProbe" {
				t.Errorf("no %s", probe)
			}
			continue
		}
		if got := str(p, "httpGet", "path"); got != want || !portOK(mapAt(p, "httpGet")["port"]) {
			t.Errorf("%s: GET %v on port %v, want %s on oscheck's HTTP port", probe, got, mapAt(p, "httpGet")["port"], want)
		}
	}
	if grace := num(pod, "terminationGracePeriodSeconds"); time.Duration(grace*float64(time.Second)) <= dc.shutdown {
		t.Errorf("terminationGracePeriodSeconds %v is not longer than shutdown-timeout %v: the kubelet would kill oscheck while it drains", grace, dc.shutdown)
	}
	nonRoot := mapAt(pod, "securityContext")["runAsNonRoot"] == true || mapAt(ctr, "securityContext")["runAsNonRoot"] == true
	if !nonRoot {
		t.Error("runAsNonRoot is not set")
	}
	uid := num(pod, "securityContext", "runAsUser")
	if u := num(ctr, "securityContext", "runAsUser"); u != 0 {
		uid = u
	}
	if imageUID := dockerfileUser(t); uid != 0 && strconv.Itoa(int(uid)) != imageUID {
		t.Errorf("runAsUser %v, but the image's USER is %s", uid, imageUID)
	}
	sc := mapAt(ctr, "securityContext")
	if sc["readOnlyRootFilesystem"] != true || sc["allowPrivilegeEscalation"] != false ||
		!slices.Contains(strList(list(sc, "capabilities", "drop")), "ALL") {
		t.Errorf("container securityContext %v: want readOnlyRootFilesystem, no privilege escalation, all capabilities dropped", sc)
	}
	for _, k := range []string{"requests", "limits"} {
		if r := mapAt(ctr, "resources", k); r["cpu"] == nil || r["memory"] == nil {
			t.Errorf("resources.%s %v: want cpu and memory", k, r)
		}
	}

	pdb := byKind["PodDisruptionBudget"]
	if !selects(mapAt(pdb, "spec", "selector", "matchLabels"), podLabels) {
		t.Errorf("the PodDisruptionBudget's selector %v does not match the pods' labels %v", mapAt(pdb, "spec", "selector"), podLabels)
	}
	if mu := num(pdb, "spec", "maxUnavailable"); mu < 1 || mu >= num(dep, "spec", "replicas") {
		t.Errorf("PodDisruptionBudget maxUnavailable %v, want at least 1 and fewer than the replicas", mu)
	}

	svc := byKind["Service"]
	if !selects(mapAt(svc, "spec", "selector"), podLabels) {
		t.Errorf("the Service's selector %v does not match the pods' labels %v", mapAt(svc, "spec", "selector"), podLabels)
	}
	svcPorts := list(svc, "spec", "ports")
	if len(svcPorts) == 0 {
		t.Error("the Service has no ports")
	}
	for _, p := range svcPorts {
		p := p.(map[string]any)
		if tp := p["targetPort"]; !portOK(tp) {
			t.Errorf("the Service's targetPort %v is not oscheck's HTTP port (container ports %v)", tp, ports)
		}
	}

	so := byKind["ScaledObject"]
	if ref := mapAt(so, "spec", "scaleTargetRef"); str(ref, "name") != name || (str(ref, "kind") != "" && str(ref, "kind") != "Deployment") {
		t.Errorf("ScaledObject scaleTargetRef %v, want the Deployment %s", ref, name)
	}
	if lo, hi := num(so, "spec", "minReplicaCount"), num(so, "spec", "maxReplicaCount"); lo < 1 || hi < lo {
		t.Errorf("ScaledObject replicas %v..%v", lo, hi)
	}
	topics := topology.TopicsFor(dc.cfg)
	kafkaTriggers := 0
	for _, tr := range list(so, "spec", "triggers") {
		tr := tr.(map[string]any)
		if str(tr, "type") != "kafka" {
			continue
		}
		kafkaTriggers++
		md := stringMap(mapAt(tr, "metadata"))
		if md["consumerGroup"] != string(topics.ParseGroup) || md["topic"] != string(topics.Input) {
			t.Errorf("kafka trigger: group %q topic %q, but oscheck reads %s in group %s", md["consumerGroup"], md["topic"], topics.Input, topics.ParseGroup)
		}
		if !slices.Equal(brokerList(md["bootstrapServers"]), dc.cfg.Brokers) {
			t.Errorf("kafka trigger: bootstrapServers %q, oscheck's brokers %q", md["bootstrapServers"], dc.cfg.Brokers)
		}
		if _, err := strconv.ParseInt(md["lagThreshold"], 10, 64); err != nil {
			t.Errorf("kafka trigger: lagThreshold %q is not a number", md["lagThreshold"])
		}
		if md["offsetResetPolicy"] != "" && md["offsetResetPolicy"] != dc.cfg.OffsetReset {
			t.Errorf("kafka trigger: offsetResetPolicy %q, oscheck's offset-reset %q", md["offsetResetPolicy"], dc.cfg.OffsetReset)
		}
	}
	if kafkaTriggers != 1 {
		t.Errorf("%d kafka triggers, want 1", kafkaTriggers)
	}
}

// selects reports whether the label selector sel (non-empty) matches labels.
func selects(sel map[string]any, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != fmt.Sprint(v) {
			return false
		}
	}
	return true
}
