package main

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/oscheck/oscheck/topology"
)

// The kustomizations under deploy/kubernetes: the base, which needs nothing
// but Kubernetes, and the KEDA variant.
var (
	kubeBase = filepath.Join(deployRoot, "deploy", "kubernetes", "base")
	kubeKEDA = filepath.Join(deployRoot, "deploy", "kubernetes", "keda")
)

// kubeObjects is a rendered kustomization, each object decoded strictly
// into its API type: a field the API does not have is an error, as it is
// for kubectl apply's server-side validation.
type kubeObjects struct {
	configMaps   map[string]*corev1.ConfigMap
	services     []*corev1.Service
	statefulSets []*appsv1.StatefulSet
	deployments  []*appsv1.Deployment
	pdbs         []*policyv1.PodDisruptionBudget
	scaledObject []*scaledObject
}

// builtinAPIs are the API versions every cluster serves; anything else
// needs its CRD installed first, or kubectl apply fails.
var builtinAPIs = map[string]bool{"v1": true, "apps/v1": true, "policy/v1": true}

// renderKustomization renders dir as kubectl apply -k does, with
// kustomize's own Go API, and decodes every object strictly.
func renderKustomization(t *testing.T, dir string) kubeObjects {
	t.Helper()
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	objs := kubeObjects{configMaps: make(map[string]*corev1.ConfigMap)}
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("%s: %s %s %s", dir, r.GetApiVersion(), r.GetKind(), r.GetName())
		strict := func(into any) {
			if err := k8syaml.UnmarshalStrict(y, into); err != nil {
				t.Errorf("%s: %v", id, err)
			}
		}
		switch r.GetApiVersion() + " " + r.GetKind() {
		case "v1 ConfigMap":
			var o corev1.ConfigMap
			strict(&o)
			objs.configMaps[o.Name] = &o
		case "v1 Service":
			var o corev1.Service
			strict(&o)
			objs.services = append(objs.services, &o)
		case "apps/v1 StatefulSet":
			var o appsv1.StatefulSet
			strict(&o)
			objs.statefulSets = append(objs.statefulSets, &o)
		case "apps/v1 Deployment":
			var o appsv1.Deployment
			strict(&o)
			objs.deployments = append(objs.deployments, &o)
		case "policy/v1 PodDisruptionBudget":
			var o policyv1.PodDisruptionBudget
			strict(&o)
			objs.pdbs = append(objs.pdbs, &o)
		case "keda.sh/v1alpha1 ScaledObject":
			var o scaledObject
			strict(&o)
			objs.scaledObject = append(objs.scaledObject, &o)
		default:
			t.Errorf("%s: a kind this test does not know", id)
		}
	}
	return objs
}

// scaledObject is the part of KEDA's ScaledObject (keda.sh/v1alpha1) the
// manifests may use, with its field names, so that strict decoding catches
// a misspelt or unknown field.
type scaledObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	} `json:"metadata"`
	Spec struct {
		ScaleTargetRef struct {
			APIVersion             string `json:"apiVersion,omitempty"`
			Kind                   string `json:"kind,omitempty"`
			Name                   string `json:"name"`
			EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
		} `json:"scaleTargetRef"`
		PollingInterval *int32 `json:"pollingInterval,omitempty"`
		CooldownPeriod  *int32 `json:"cooldownPeriod,omitempty"`
		MinReplicaCount *int32 `json:"minReplicaCount,omitempty"`
		MaxReplicaCount *int32 `json:"maxReplicaCount,omitempty"`
		Advanced        *struct {
			RestoreToOriginalReplicaCount bool `json:"restoreToOriginalReplicaCount,omitempty"`
			HorizontalPodAutoscalerConfig *struct {
				Name     string               `json:"name,omitempty"`
				Behavior *autoscalingBehavior `json:"behavior,omitempty"`
			} `json:"horizontalPodAutoscalerConfig,omitempty"`
		} `json:"advanced,omitempty"`
		Triggers []struct {
			Type              string            `json:"type"`
			Name              string            `json:"name,omitempty"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef *struct {
				Name string `json:"name"`
				Kind string `json:"kind,omitempty"`
			} `json:"authenticationRef,omitempty"`
		} `json:"triggers"`
	} `json:"spec"`
}

// autoscalingBehavior is autoscaling/v2's HorizontalPodAutoscalerBehavior,
// which KEDA passes on.
type autoscalingBehavior struct {
	ScaleUp   *hpaRules `json:"scaleUp,omitempty"`
	ScaleDown *hpaRules `json:"scaleDown,omitempty"`
}

type hpaRules struct {
	StabilizationWindowSeconds *int32 `json:"stabilizationWindowSeconds,omitempty"`
	SelectPolicy               string `json:"selectPolicy,omitempty"`
	Policies                   []struct {
		Type          string `json:"type"`
		Value         int32  `json:"value"`
		PeriodSeconds int32  `json:"periodSeconds"`
	} `json:"policies,omitempty"`
}

// workload is the one StatefulSet or Deployment that runs oscheck.
type workload struct {
	kind, name string
	replicas   *int32
	selector   map[string]string
	template   corev1.PodTemplateSpec
}

func (o kubeObjects) workload(t *testing.T) workload {
	t.Helper()
	var ws []workload
	for _, s := range o.statefulSets {
		ws = append(ws, workload{"StatefulSet", s.Name, s.Spec.Replicas, s.Spec.Selector.MatchLabels, s.Spec.Template})
	}
	for _, d := range o.deployments {
		ws = append(ws, workload{"Deployment", d.Name, d.Spec.Replicas, d.Spec.Selector.MatchLabels, d.Spec.Template})
	}
	if len(ws) != 1 {
		t.Fatalf("%d StatefulSets and Deployments, want one", len(ws))
	}
	return ws[0]
}

// container is the workload's oscheck container.
func (w workload) container(t *testing.T) *corev1.Container {
	t.Helper()
	if len(w.template.Spec.Containers) != 1 {
		t.Fatalf("%s %s: %d containers, want 1", w.kind, w.name, len(w.template.Spec.Containers))
	}
	return &w.template.Spec.Containers[0]
}

// podEnv is the environment the container gets in the pod named podName:
// its envFrom ConfigMaps, then its env, with the downward API's pod name.
// instanceFromName reports whether OSCHECK_INSTANCE_ID is the pod's name.
func (o kubeObjects) podEnv(t *testing.T, c *corev1.Container, podName string) (env map[string]string, instanceFromName bool) {
	t.Helper()
	env = make(map[string]string)
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Errorf("envFrom %+v: only ConfigMaps are known here", from)
			continue
		}
		cm := o.configMaps[from.ConfigMapRef.Name]
		if cm == nil {
			t.Errorf("envFrom names ConfigMap %q, which the kustomization does not make", from.ConfigMapRef.Name)
			continue
		}
		for k, v := range cm.Data {
			env[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = podName
			instanceFromName = instanceFromName || e.Name == "OSCHECK_INSTANCE_ID"
		case e.ValueFrom.ResourceFieldRef != nil:
			// set by the kubelet from the container's resources
		default:
			t.Errorf("env %s: a source this test does not know", e.Name)
		}
	}
	return env, instanceFromName
}

// TestKubernetesManifests renders the base and checks that kubectl apply
// -k takes it on a cluster with nothing installed, and that its objects fit
// together and fit oscheck: the workload runs oscheck as the image does,
// with stable names under static membership, drains within its grace
// period, probes the endpoints oscheck serves, has Go's memory limit at its
// own, is scraped once, and the Service and PDB select it.
func TestKubernetesManifests(t *testing.T) {
	objs := renderKustomization(t, kubeBase)
	if t.Failed() {
		t.FailNow()
	}
	if len(objs.scaledObject) > 0 {
		t.Errorf("the base holds a KEDA ScaledObject: kubectl apply -k fails on every cluster without KEDA's CRDs")
	}
	w := objs.workload(t)
	ctr := w.container(t)
	pod := w.template.Spec
	if !selects(w.selector, w.template.Labels) {
		t.Errorf("the %s's selector %v does not match its pods' labels %v", w.kind, w.selector, w.template.Labels)
	}
	if w.replicas == nil || *w.replicas < 2 {
		t.Errorf("%s replicas %v, want at least 2", w.kind, w.replicas)
	}
	if len(ctr.Args) == 0 || ctr.Args[0] != "run" {
		t.Errorf("container args %q, want run", ctr.Args)
	}
	env, static := objs.podEnv(t, ctr, w.name+"-0")
	dc := deployedConfig(t, "the "+w.kind, env)
	// Static membership wants an instance that comes back under its id: a
	// StatefulSet's pod keeps its name, a Deployment's replacement gets a
	// new one, and the old member's partitions wait for its session to
	// time out (sarama sends no LeaveGroup for a static member).
	if static && w.kind != "StatefulSet" {
		t.Errorf("OSCHECK_INSTANCE_ID is the pod's name, but a %s's pods are renamed on every rollout and eviction: "+
			"use a StatefulSet, or dynamic membership", w.kind)
	}
	if dc.cfg.InstanceID != "" && !static {
		t.Errorf("OSCHECK_INSTANCE_ID %q is the same in every pod", dc.cfg.InstanceID)
	}
	if w.kind == "StatefulSet" {
		ss := objs.statefulSets[0]
		if ss.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
			t.Error("StatefulSet updateStrategy OnDelete: a new image would never roll out")
		}
		var governing *corev1.Service
		for _, s := range objs.services {
			if s.Name == ss.Spec.ServiceName {
				governing = s
			}
		}
		if governing == nil || governing.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("StatefulSet serviceName %q is not a headless Service of the kustomization", ss.Spec.ServiceName)
		}
	}

	port := dc.httpPort(t)
	ports := make(map[string]string) // name → number
	for _, p := range ctr.Ports {
		ports[p.Name] = strconv.Itoa(int(p.ContainerPort))
	}
	portOK := func(p intstr.IntOrString) bool { return ports[p.String()] == port || p.String() == port }
	if !slices.Contains(slices.Collect(maps.Values(ports)), port) {
		t.Errorf("container ports %v do not include oscheck's HTTP port %s", ports, port)
	}
	for name, c := range map[string]struct {
		p    *corev1.Probe
		path string
	}{"livenessProbe": {ctr.LivenessProbe, "/healthz"}, "readinessProbe": {ctr.ReadinessProbe, "/readyz"}, "startupProbe": {ctr.StartupProbe, "/healthz"}} {
		if c.p == nil {
			if name != "startupProbe" {
				t.Errorf("no %s", name)
			}
			continue
		}
		if g := c.p.HTTPGet; g == nil || g.Path != c.path || !portOK(g.Port) {
			t.Errorf("%s: %+v, want GET %s on oscheck's HTTP port", name, g, c.path)
		}
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= dc.shutdown {
		t.Errorf("terminationGracePeriodSeconds %v is not longer than shutdown-timeout %v: the kubelet would kill oscheck while it drains", g, dc.shutdown)
	}
	psc, csc := pod.SecurityContext, ctr.SecurityContext
	if csc == nil || psc == nil {
		t.Fatal("no pod or container securityContext")
	}
	if !(psc.RunAsNonRoot != nil && *psc.RunAsNonRoot || csc.RunAsNonRoot != nil && *csc.RunAsNonRoot) {
		t.Error("runAsNonRoot is not set")
	}
	uid := psc.RunAsUser
	if csc.RunAsUser != nil {
		uid = csc.RunAsUser
	}
	if imageUID := dockerfileUser(t); uid != nil && strconv.FormatInt(*uid, 10) != imageUID {
		t.Errorf("runAsUser %v, but the image's USER is %s", *uid, imageUID)
	}
	if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
		csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") {
		t.Errorf("container securityContext %+v: want readOnlyRootFilesystem, no privilege escalation, all capabilities dropped", csc)
	}
	for k, r := range map[string]corev1.ResourceList{"requests": ctr.Resources.Requests, "limits": ctr.Resources.Limits} {
		if r.Cpu().IsZero() || r.Memory().IsZero() {
			t.Errorf("resources.%s %v: want cpu and memory", k, r)
		}
	}
	// Go's soft memory limit within the container's: without it the heap
	// grows to twice the live heap (GOGC 200) before a collection, past the
	// limit, and the kernel kills the pod (TestKubernetesGOMEMLIMITHeadroom
	// checks the headroom).
	memLimit := false
	for _, e := range ctr.Env {
		if e.Name != "GOMEMLIMIT" {
			continue
		}
		if e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil {
			ref := e.ValueFrom.ResourceFieldRef
			memLimit = ref.Resource == "limits.memory" && (ref.ContainerName == "" || ref.ContainerName == ctr.Name) &&
				(ref.Divisor.IsZero() || ref.Divisor.Cmp(resource.MustParse("1")) == 0)
		} else if q, err := resource.ParseQuantity(strings.TrimSuffix(e.Value, "B")); err == nil {
			memLimit = q.Cmp(*ctr.Resources.Limits.Memory()) <= 0 && !q.IsZero()
		}
	}
	if !memLimit {
		t.Errorf("no GOMEMLIMIT from the container's memory limit (%v), in bytes", ctr.Resources.Limits.Memory())
	}

	// Scraped once: annotations on the pods and on a Service that selects
	// them would have Prometheus' usual kubernetes-pods and
	// kubernetes-service-endpoints jobs both scrape every pod.
	scraped := 0
	if w.template.Annotations["prometheus.io/scrape"] == "true" {
		scraped++
		if p := w.template.Annotations["prometheus.io/port"]; p != port {
			t.Errorf("pod annotation prometheus.io/port %q, oscheck serves on %s", p, port)
		}
	}
	for _, s := range objs.services {
		if !selects(s.Spec.Selector, w.template.Labels) {
			t.Errorf("Service %s's selector %v does not match the pods' labels %v", s.Name, s.Spec.Selector, w.template.Labels)
		}
		if s.Annotations["prometheus.io/scrape"] == "true" {
			scraped++
		}
		if len(s.Spec.Ports) == 0 {
			t.Errorf("Service %s has no ports", s.Name)
		}
		for _, p := range s.Spec.Ports {
			if !portOK(p.TargetPort) {
				t.Errorf("Service %s's targetPort %v is not oscheck's HTTP port (container ports %v)", s.Name, p.TargetPort.String(), ports)
			}
		}
	}
	if scraped != 1 {
		t.Errorf("prometheus.io/scrape is on %d of the pod template and the Services: want exactly one, or each pod is scraped %d times", scraped, scraped)
	}
	if len(objs.pdbs) != 1 {
		t.Fatalf("%d PodDisruptionBudgets, want 1", len(objs.pdbs))
	}
	pdb := objs.pdbs[0]
	if pdb.Spec.Selector == nil || !selects(pdb.Spec.Selector.MatchLabels, w.template.Labels) {
		t.Errorf("the PodDisruptionBudget's selector %v does not match the pods' labels %v", pdb.Spec.Selector, w.template.Labels)
	}
	if mu := pdb.Spec.MaxUnavailable; mu == nil || mu.IntValue() < 1 || w.replicas != nil && mu.IntValue() >= int(*w.replicas) {
		t.Errorf("PodDisruptionBudget maxUnavailable %v, want at least 1 and fewer than the replicas", mu)
	}
}

// TestKubernetesKEDA renders the KEDA variant: the base plus a ScaledObject
// that scales the workload, reads the brokers, group and topic from the
// pods' own settings, and leaves the replica count to KEDA.
func TestKubernetesKEDA(t *testing.T) {
	objs := renderKustomization(t, kubeKEDA)
	if t.Failed() {
		t.FailNow()
	}
	w := objs.workload(t)
	if w.replicas != nil {
		t.Errorf("the %s sets replicas %d: every kubectl apply would undo KEDA's scaling", w.kind, *w.replicas)
	}
	if len(objs.scaledObject) != 1 {
		t.Fatalf("%d ScaledObjects, want 1", len(objs.scaledObject))
	}
	so := objs.scaledObject[0]
	if so.APIVersion != "keda.sh/v1alpha1" {
		t.Errorf("ScaledObject apiVersion %q", so.APIVersion)
	}
	ref := so.Spec.ScaleTargetRef
	if ref.Name != w.name || ref.Kind != w.kind {
		t.Errorf("ScaledObject scaleTargetRef %+v, want the %s %s", ref, w.kind, w.name)
	}
	lo, hi := int32(0), int32(100) // KEDA's defaults: minReplicaCount 0, maxReplicaCount 100
	if so.Spec.MinReplicaCount != nil {
		lo = *so.Spec.MinReplicaCount
	}
	if so.Spec.MaxReplicaCount != nil {
		hi = *so.Spec.MaxReplicaCount
	}
	if lo < 1 || hi < lo {
		t.Errorf("ScaledObject replicas %d..%d", lo, hi)
	}
	ctr := w.container(t)
	env, _ := objs.podEnv(t, ctr, w.name+"-0")
	dc := deployedConfig(t, "the "+w.kind, env)
	topics := topology.TopicsFor(dc.cfg)
	kafkaTriggers := 0
	for _, tr := range so.Spec.Triggers {
		if tr.Type != "kafka" {
			continue
		}
		kafkaTriggers++
		md := tr.Metadata
		// One source of truth: the scaler reads the pods' settings (KEDA
		// resolves *FromEnv in the target's container, envFrom included).
		for param, want := range map[string]string{"bootstrapServers": strings.Join(dc.cfg.Brokers, ","),
			"consumerGroup": string(topics.ParseGroup), "topic": string(topics.Input)} {
			if v, ok := md[param]; ok {
				t.Errorf("kafka trigger: %s %q written out again; use %sFromEnv, so that it follows oscheck's setting", param, v, param)
				continue
			}
			name := md[param+"FromEnv"]
			if got, ok := env[name]; !ok || got != want {
				t.Errorf("kafka trigger: %sFromEnv %q is %q in the pods, oscheck uses %q", param, name, got, want)
			}
		}
		if _, err := strconv.ParseInt(md["lagThreshold"], 10, 64); err != nil {
			t.Errorf("kafka trigger: lagThreshold %q is not a number", md["lagThreshold"])
		}
		if md["offsetResetPolicy"] != "" && md["offsetResetPolicy"] != dc.cfg.OffsetReset {
			t.Errorf("kafka trigger: offsetResetPolicy %q, oscheck's offset-reset %q", md["offsetResetPolicy"], dc.cfg.OffsetReset)
		}
		if md["allowIdleConsumers"] == "true" {
			t.Error("kafka trigger: allowIdleConsumers would scale past the partition count, to members that own nothing")
		}
	}
	if kafkaTriggers != 1 {
		t.Errorf("%d kafka triggers, want 1", kafkaTriggers)
	}
}

// selects reports whether the label selector sel (non-empty) matches labels.
func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}
