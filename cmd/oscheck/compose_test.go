package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/oscheck/oscheck/cmd/oscheck/internal/ship"
	"github.com/oscheck/oscheck/cmd/oscheck/internal/tail"
	"github.com/oscheck/oscheck/processor/classify"
	"github.com/oscheck/oscheck/processor/decode"
	"github.com/oscheck/oscheck/topology"
)

// TestComposeFile checks docker-compose.yml: Compose accepts it, and its
// services fit together and fit oscheck: nginx logs where the shipper
// reads, the default stack has one shipper and it follows the log's
// rotation, Connect (the reference profile) writes oscheck's input as the
// reference setup does, the replicas share a group with distinct instance
// ids, every bind-mounted file exists, and every service waits for what it
// needs to be healthy.
func TestComposeFile(t *testing.T) {
	for _, profile := range []string{"", "reference"} {
		t.Run("docker-compose config "+profile, func(t *testing.T) {
			args := []string{"-f", "docker-compose.yml", "config", "-q"}
			if profile != "" {
				args = append([]string{"--profile", profile}, args...)
			}
			cmd := exec.Command(tool(t, "docker-compose"), args...)
			cmd.Dir = deployRoot
			out, err := cmd.CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}

	c := loadCompose(t)
	for _, name := range []string{"kafka", "kafka-init", "nginx", "traffic", "connect", "prometheus", "grafana", "kafka-ui"} {
		if c.services[name] == nil {
			t.Errorf("no service %q", name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Images: pinned, and the Kafka services on one version.
	for name, s := range c.services {
		if s.build != "" {
			continue
		}
		repo, tag, ok := strings.Cut(s.image, ":")
		if !ok || tag == "" || tag == "latest" || repo == "" {
			t.Errorf("service %s: image %q is not pinned to a version", name, s.image)
		}
	}

	// Kafka: KRaft, one combined node; every client's bootstrap address is
	// one it advertises.
	kafka := c.services["kafka"]
	if !strings.HasPrefix(kafka.image, "apache/kafka:") {
		t.Errorf("kafka: image %q, want apache/kafka", kafka.image)
	}
	kafkaVersion := strings.TrimPrefix(kafka.image, "apache/kafka:")
	roles := strings.Split(kafka.env["KAFKA_PROCESS_ROLES"], ",")
	if !slices.Contains(roles, "broker") || !slices.Contains(roles, "controller") {
		t.Errorf("kafka: KAFKA_PROCESS_ROLES %q, want broker,controller (KRaft, one node)", kafka.env["KAFKA_PROCESS_ROLES"])
	}
	if voters := kafka.env["KAFKA_CONTROLLER_QUORUM_VOTERS"]; !strings.HasPrefix(voters, kafka.env["KAFKA_NODE_ID"]+"@") {
		t.Errorf("kafka: KAFKA_CONTROLLER_QUORUM_VOTERS %q does not name node %q", voters, kafka.env["KAFKA_NODE_ID"])
	}
	if kafka.env["CLUSTER_ID"] == "" {
		t.Error("kafka: no CLUSTER_ID; the image's KRaft start refuses to format storage without one")
	}
	advertised := make(map[string]bool)
	for _, l := range strings.Split(kafka.env["KAFKA_ADVERTISED_LISTENERS"], ",") {
		if u, err := url.Parse(strings.TrimSpace(l)); err == nil && u.Host != "" {
			advertised[u.Host] = true
		}
	}
	checkBrokers := func(who, list string) {
		t.Helper()
		brokers := brokerList(list)
		if len(brokers) == 0 {
			t.Errorf("%s: no bootstrap brokers", who)
		}
		for _, b := range brokers {
			if !advertised[b] {
				t.Errorf("%s: bootstrap broker %q is not among kafka's advertised listeners %v", who, b, slices.Sorted(maps.Keys(advertised)))
			}
		}
	}
	for _, name := range []string{"kafka-init", "connect"} {
		if c.services[name].image != kafka.image {
			t.Errorf("%s: image %q, want kafka's %q", name, c.services[name].image, kafka.image)
		}
	}
	checkBrokers("kafka-ui", c.services["kafka-ui"].env["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"])

	// The oscheck replicas: one group, distinct static member ids, each
	// configuration valid as oscheck run reads it.
	replicas := c.oscheckServices()
	if len(replicas) != 3 {
		t.Fatalf("%d oscheck run services (%v), want 3", len(replicas), replicas)
	}
	var group string
	ids := make(map[string]string)
	hostPorts := make(map[string]string)
	var input string
	for _, name := range replicas {
		s := c.services[name]
		dc := deployedConfig(t, name, s.env)
		checkBrokers(name, strings.Join(dc.cfg.Brokers, ","))
		if group == "" {
			group, input = dc.cfg.Group, dc.cfg.Input
		} else if dc.cfg.Group != group || dc.cfg.Input != input {
			t.Errorf("%s: group %q input %q, but %s has group %q input %q", name, dc.cfg.Group, dc.cfg.Input, replicas[0], group, input)
		}
		if dc.cfg.InstanceID == "" {
			t.Errorf("%s: no OSCHECK_INSTANCE_ID (static membership)", name)
		} else if other, dup := ids[dc.cfg.InstanceID]; dup {
			t.Errorf("%s and %s have the same instance id %q", other, name, dc.cfg.InstanceID)
		}
		ids[dc.cfg.InstanceID] = name
		port := dc.httpPort(t)
		if hc := s.healthTest(); !slices.Contains(hc, "healthcheck") {
			t.Errorf("%s: healthcheck %q does not run oscheck healthcheck", name, hc)
		} else if i := slices.Index(hc, "--url"); i >= 0 && i+1 < len(hc) {
			if u, err := url.Parse(hc[i+1]); err != nil || u.Port() != port {
				t.Errorf("%s: healthcheck URL %q, but oscheck serves HTTP on port %s", name, hc[i+1], port)
			}
		}
		grace, err := time.ParseDuration(s.stopGrace)
		if err != nil || grace <= dc.shutdown {
			t.Errorf("%s: stop_grace_period %q is not longer than shutdown-timeout %v: Docker would kill it while it drains", name, s.stopGrace, dc.shutdown)
		}
		published := false
		for _, p := range s.ports {
			_, host, target := splitPort(p)
			if target != port {
				continue
			}
			published = true
			if other, dup := hostPorts[host]; dup {
				t.Errorf("%s and %s both publish host port %s", other, name, host)
			}
			hostPorts[host] = name
		}
		if !published {
			t.Errorf("%s: ports %v do not publish its HTTP port %s", name, s.ports, port)
		}
		if s.dependsOn["kafka-init"] != "service_completed_successfully" {
			t.Errorf("%s: does not wait for kafka-init to create %s (oscheck run refuses to start without it)", name, input)
		}
	}

	// kafka-init creates the input, with as many partitions as replicas at least.
	initCmd := strings.Join(c.services["kafka-init"].command, " ")
	if !strings.Contains(initCmd, "kafka-topics.sh") || !strings.Contains(initCmd, "--create") ||
		!regexp.MustCompile(`--topic[ =]`+regexp.QuoteMeta(input)+`( |$)`).MatchString(initCmd) {
		t.Errorf("kafka-init: %q does not create topic %s", initCmd, input)
	}
	if m := regexp.MustCompile(`--partitions[ =](\d+)`).FindStringSubmatch(initCmd); m == nil {
		t.Errorf("kafka-init: %q does not say --partitions", initCmd)
	} else if n, _ := strconv.Atoi(m[1]); n < len(replicas) {
		t.Errorf("kafka-init: %d partitions leave some of %d replicas idle", n, len(replicas))
	}
	if m := regexp.MustCompile(`--bootstrap-server[ =](\S+)`).FindStringSubmatch(initCmd); m != nil {
		checkBrokers("kafka-init", m[1])
	}

	// nginx logs in the combined format to a named volume...
	nginx := c.services["nginx"]
	nginxConf := nginx.hostFile(t, "/etc/nginx/nginx.conf")
	logPath, format := nginxAccessLog(t, nginxConf)
	if format != "" && format != "combined" {
		t.Errorf("%s: access_log format %q, want combined (as the reference setup's nginx)", nginxConf, format)
	}
	logVolume, logRel := nginx.volumeAt(logPath)
	if logVolume == nil || logVolume.bind {
		t.Fatalf("nginx: access log %s is not on a named volume that a shipper could share", logPath)
	}
	root := regexp.MustCompile(`(?m)^\s*root\s+([^\s;]+);`).FindStringSubmatch(readText(t, nginxConf))
	if root == nil {
		t.Errorf("%s: no root", nginxConf)
	} else if _, err := os.Stat(filepath.Join(nginx.hostFile(t, root[1]), "index.html")); err != nil {
		t.Errorf("nginx: root %s has no index.html: %v", root[1], err)
	}

	// ...which one shipper in the default stack (no profile) reads,
	// read-only, and ships to oscheck's input: oscheck ship, which follows
	// the log's rotation (below). Two would ship every line twice.
	var shippers []string
	for _, name := range slices.Sorted(maps.Keys(c.services)) {
		s := c.services[name]
		if m, rel := s.volumeAt(logPath); m != nil && m.source == logVolume.source && rel == logRel && name != "nginx" && len(s.profiles) == 0 {
			shippers = append(shippers, name)
		}
	}
	if len(shippers) != 1 || shippers[0] != "ship" {
		t.Errorf("the default stack's services that read nginx's log: %v, want one, ship (oscheck ship)", shippers)
	}
	if shipper := c.services["ship"]; shipper == nil {
		t.Error("no service ship")
	} else if shipper.build == "" || len(shipper.command) == 0 || shipper.command[0] != "ship" {
		t.Errorf("ship: build %q command %q, want the oscheck image running ship, which follows rotation", shipper.build, shipper.command)
	} else {
		sc, shipAddr := shipperConfig(t, "ship", shipper.command[1:], shipper.env)
		if sc.File != logPath {
			t.Errorf("ship: --file %s, but nginx logs to %s", sc.File, logPath)
		}
		if m, _ := shipper.volumeAt(sc.File); m == nil || !m.readOnly {
			t.Errorf("ship: mounts nginx's log volume writable; it only reads it")
		}
		if sc.Topic != input {
			t.Errorf("ship: topic %q, but oscheck reads %q", sc.Topic, input)
		}
		checkBrokers("ship", strings.Join(sc.Brokers, ","))
		if sc.ID == defaultShipperID(sc.File) || strings.HasPrefix(sc.ID, "oscheck-ship-") {
			t.Errorf("ship: id %q comes from the host name, a new container's ID after every re-create: it would ship the log again", sc.ID)
		}
		if shipper.dependsOn["kafka-init"] != "service_completed_successfully" {
			t.Errorf("ship: does not wait for kafka-init to create %s", input)
		}
		if shipAddr == "" {
			t.Error("ship: no --http-addr: nothing to check its health or count its rotations")
		} else if _, port, err := net.SplitHostPort(shipAddr); err != nil {
			t.Errorf("ship: --http-addr %q: %v", shipAddr, err)
		} else if !slices.ContainsFunc(shipper.ports, func(p string) bool { _, _, target := splitPort(p); return target == port }) {
			t.Errorf("ship: ports %v do not publish its HTTP port %s", shipper.ports, port)
		}
	}

	// Connect, the reference setup's shipper, only in the profile
	// reference, run instead of ship and without rotation (it does not
	// follow one; below); nothing of the default stack waits for it.
	connect := c.services["connect"]
	if !slices.Equal(connect.profiles, []string{"reference"}) {
		t.Errorf("connect: profiles %q, want [reference]: in the default stack it would ship every line a second time, and lose the rotated ones", connect.profiles)
	}
	for name, s := range c.services {
		for dep := range s.dependsOn {
			if d := c.services[dep]; len(s.profiles) == 0 && d != nil && len(d.profiles) > 0 {
				t.Errorf("%s (default stack) depends on %s, which is only in profiles %q", name, dep, d.profiles)
			}
		}
	}

	// nginx's log is rotated by rename, bounded: ROTATE_MAX_BYTES for each
	// of the log and the one old file (TestComposeLogRotation runs the
	// script).
	t.Setenv("NGINX_LOG_ROTATE_BYTES", "") // the default, whatever this shell has
	if rot, ok := nginx.rotation(t); ok {
		if rot.file != logPath {
			t.Errorf("nginx: rotates %s, but nginx.conf logs to %s", rot.file, logPath)
		}
		const maxLogBytes = 1 << 30
		if rot.maxBytes <= 0 || rot.maxBytes > maxLogBytes {
			t.Errorf("nginx: rotates at %d bytes by default, want more than 0 and at most %d: the log volume is not bounded", rot.maxBytes, maxLogBytes)
		}
		t.Setenv("NGINX_LOG_ROTATE_BYTES", "0")
		if rot, _ := nginx.rotation(t); rot.maxBytes != 0 {
			t.Errorf("nginx: NGINX_LOG_ROTATE_BYTES=0 (README's reference command, for Connect) does not turn rotation off")
		}
		t.Setenv("NGINX_LOG_ROTATE_BYTES", "")
	}

	// Connect reads the log, read-only, and ships to oscheck's input with
	// the JsonConverter and schemas: {"schema":{"type":"string",...},"payload":"<line>"}.
	if len(connect.command) != 3 || path.Base(connect.command[0]) != "connect-standalone.sh" {
		t.Fatalf("connect: command %q, want connect-standalone.sh <worker.properties> <connector.properties>", connect.command)
	}
	worker := readProperties(t, connect.hostFile(t, connect.command[1]))
	source := readProperties(t, connect.hostFile(t, connect.command[2]))
	checkBrokers("connect", worker["bootstrap.servers"])
	if worker["value.converter"] != "org.apache.kafka.connect.json.JsonConverter" || worker["value.converter.schemas.enable"] != "true" {
		t.Errorf("connect worker: value.converter %q schemas.enable %q, want the JsonConverter with schemas (the reference setup)",
			worker["value.converter"], worker["value.converter.schemas.enable"])
	}
	if jar := "/opt/kafka/libs/connect-file-" + kafkaVersion + ".jar"; !slices.Contains(strings.Split(worker["plugin.path"], ","), jar) {
		t.Errorf("connect worker: plugin.path %q does not hold %s, the file connectors of %s", worker["plugin.path"], jar, kafka.image)
	}
	if offsets := worker["offset.storage.file.filename"]; offsets == "" {
		t.Error("connect worker: no offset.storage.file.filename")
	} else if m, _ := connect.volumeAt(offsets); m == nil || m.readOnly {
		t.Errorf("connect worker: offsets file %s is not on a writable volume: a restart would ship the log again", offsets)
	}
	if cls := source["connector.class"]; cls != "FileStreamSource" && cls != "org.apache.kafka.connect.file.FileStreamSourceConnector" {
		t.Errorf("connector: connector.class %q, want FileStreamSource", cls)
	}
	if source["topic"] != input {
		t.Errorf("connector: topic %q, but oscheck reads %q", source["topic"], input)
	}
	if m, rel := connect.volumeAt(source["file"]); m == nil || m.source != logVolume.source || rel != logRel {
		t.Errorf("connector: file %s is not the log nginx writes (%s on volume %s)", source["file"], logPath, logVolume.source)
	} else if !m.readOnly {
		t.Errorf("connect: mounts nginx's log volume %s writable; it only reads it", m.source)
	}
	if hc := strings.Join(connect.healthTest(), " "); source["name"] == "" || !strings.Contains(hc, "/connectors/"+source["name"]+"/") {
		t.Errorf("connect: healthcheck %q does not ask for the status of connector %q", hc, source["name"])
	}

	// traffic sends HTTP requests to nginx; it serves no /healthz, so the
	// image's HEALTHCHECK must be off.
	traffic := c.services["traffic"]
	if traffic.build == "" || len(traffic.command) == 0 || traffic.command[0] != "gen" {
		t.Errorf("traffic: build %q command %q, want the oscheck image running gen", traffic.build, traffic.command)
	}
	if i := slices.Index(traffic.command, "--url"); i < 0 || i+1 >= len(traffic.command) {
		t.Errorf("traffic: command %q has no --url", traffic.command)
	} else if u, err := url.Parse(traffic.command[i+1]); err != nil || u.Hostname() != "nginx" {
		t.Errorf("traffic: --url %q does not name the nginx service", traffic.command[i+1])
	}

	// Bind mounts name files that exist; start-up order follows health.
	for name, s := range c.services {
		for _, m := range s.mounts {
			if !m.bind {
				if !c.volumes[m.source] {
					t.Errorf("%s: volume %q is not declared under volumes", name, m.source)
				}
				continue
			}
			if !strings.HasPrefix(m.source, "./deploy/") {
				t.Errorf("%s: bind mount %q is not under ./deploy", name, m.source)
			}
			if _, err := os.Stat(filepath.Join(deployRoot, m.source)); err != nil {
				t.Errorf("%s: bind mount source: %v", name, err)
			}
		}
		if s.build != "" && len(s.command) > 0 && s.command[0] != "run" && s.command[0] != "ship" && !s.healthDisabled {
			t.Errorf("%s: runs oscheck %s, which serves no /healthz, but keeps the image's HEALTHCHECK: it would turn unhealthy", name, s.command[0])
		}
	}
	oneShot := make(map[string]bool)
	for _, s := range c.services {
		for dep, cond := range s.dependsOn {
			if cond == "service_completed_successfully" {
				oneShot[dep] = true
			}
		}
	}
	imageHealth := dockerfileHasHealthcheck(t)
	for name, s := range c.services {
		switch {
		case oneShot[name] && s.restart != "" && s.restart != "no":
			t.Errorf("%s: others wait for it to complete, but restart is %q", name, s.restart)
		case !oneShot[name] && !s.healthDisabled && len(s.healthTest()) == 0 && !(s.build != "" && imageHealth):
			t.Errorf("%s: long-running and has no healthcheck", name)
		}
		for dep, cond := range s.dependsOn {
			d := c.services[dep]
			switch {
			case d == nil:
				t.Errorf("%s depends on %s, which is no service", name, dep)
			case cond == "service_healthy" && (d.healthDisabled || len(d.healthTest()) == 0 && !(d.build != "" && imageHealth)):
				t.Errorf("%s waits for %s to be healthy, which has no healthcheck: it would never start", name, dep)
			case cond == "service_started":
				t.Errorf("%s depends on %s only being started; wait for it to be healthy", name, dep)
			}
		}
	}
	if cycle := c.dependencyCycle(); cycle != nil {
		t.Errorf("depends_on cycle: %s", strings.Join(cycle, " → "))
	}

	// Nothing in the stack has authentication (goka's pages, Grafana's
	// anonymous viewer, Kafka without SASL): publish on loopback only.
	for name, s := range c.services {
		for _, p := range s.ports {
			if ip, _, _ := splitPort(p); ip != "127.0.0.1" && ip != "::1" && ip != "localhost" {
				t.Errorf("%s: port %q is published on every interface of the host; bind it to 127.0.0.1", name, p)
			}
		}
	}

	// The monitoring comes up, and stays up, whatever the workers do: one
	// crash-looping oscheck must not keep Prometheus and Grafana down.
	for _, mon := range []string{"prometheus", "grafana"} {
		for _, dep := range c.dependsOnAll(mon) {
			if slices.Contains(replicas, dep) {
				t.Errorf("%s waits for %s: monitoring must not depend on the workers it watches", mon, dep)
			}
		}
	}
}

// splitPort splits a short-syntax port mapping, [ip:]host:container, into
// its parts ("" for the ones it lacks).
func splitPort(p string) (ip, host, container string) {
	parts := strings.Split(strings.TrimSuffix(strings.TrimSuffix(p, "/tcp"), "/udp"), ":")
	switch len(parts) {
	case 1:
		return "", "", parts[0]
	case 2:
		return "", parts[0], parts[1]
	}
	return strings.Join(parts[:len(parts)-2], ":"), parts[len(parts)-2], parts[len(parts)-1]
}

// dependsOnAll returns every service name waits for, directly or not.
func (c *compose) dependsOnAll(name string) []string {
	seen := make(map[string]bool)
	var visit func(string)
	visit = func(n string) {
		if s := c.services[n]; s != nil {
			for d := range s.dependsOn {
				if !seen[d] {
					seen[d] = true
					visit(d)
				}
			}
		}
	}
	visit(name)
	return slices.Sorted(maps.Keys(seen))
}

// TestConnectHealthcheck runs the connect service's healthcheck, as the
// container's bash would, against a stand-in for Connect's REST API: it
// passes only when the connector and every one of its tasks run.
func TestConnectHealthcheck(t *testing.T) {
	bash := tool(t, "bash")
	hc := loadCompose(t).services["connect"].healthTest()
	if len(hc) != 3 || hc[0] != "bash" || hc[1] != "-c" {
		t.Fatalf("connect: healthcheck %q, want bash -c SCRIPT", hc)
	}
	// Compose turns $$ into $.
	script := strings.ReplaceAll(hc[2], "$$", "$")
	if !strings.Contains(script, "/dev/tcp/127.0.0.1/8083") {
		t.Fatalf("connect: healthcheck %q does not ask 127.0.0.1:8083", script)
	}
	for _, c := range []struct {
		name, body string
		healthy    bool
	}{
		{"running", `{"name":"access-log-source","connector":{"state":"RUNNING","worker_id":"172.18.0.6:8083"},"tasks":[{"id":0,"state":"RUNNING","worker_id":"172.18.0.6:8083"}],"type":"source"}`, true},
		{"task failed", `{"name":"access-log-source","connector":{"state":"RUNNING","worker_id":"172.18.0.6:8083"},"tasks":[{"id":0,"state":"FAILED","worker_id":"172.18.0.6:8083","trace":"org.apache.kafka.connect.errors.ConnectException: java.nio.file.NoSuchFileException"}],"type":"source"}`, false},
		{"no task yet", `{"name":"access-log-source","connector":{"state":"RUNNING","worker_id":"172.18.0.6:8083"},"tasks":[],"type":"source"}`, false},
		{"connector failed", `{"name":"access-log-source","connector":{"state":"FAILED","worker_id":"172.18.0.6:8083"},"tasks":[{"id":0,"state":"RUNNING","worker_id":"172.18.0.6:8083"}],"type":"source"}`, false},
		{"paused", `{"name":"access-log-source","connector":{"state":"PAUSED","worker_id":"172.18.0.6:8083"},"tasks":[{"id":0,"state":"PAUSED","worker_id":"172.18.0.6:8083"}],"type":"source"}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/connectors/access-log-source/status" {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, c.body)
			})}
			go srv.Serve(ln)
			defer srv.Close()
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			cmd := exec.Command(bash, "-c", strings.Replace(script, "/dev/tcp/127.0.0.1/8083", "/dev/tcp/127.0.0.1/"+port, 1))
			out, err := cmd.CombinedOutput()
			if healthy := err == nil; healthy != c.healthy {
				t.Errorf("healthy %v (%v), want %v, for %s\n%s", healthy, err, c.healthy, c.body, out)
			}
		})
	}
}

// TestComposeLogRotation runs the nginx service's rotation script, with its
// settings from docker-compose.yml but small enough to rotate every check,
// beside a writer that appends to the log as nginx does (through a
// descriptor it reopens only when `nginx -s reopen`, a stand-in, tells it
// to), and follows the log with package tail, as oscheck ship does: every
// line comes once and in order across the rotations, and the directory
// never holds more than the log and one old file.
func TestComposeLogRotation(t *testing.T) {
	sh := tool(t, "sh")
	tool(t, "stat")
	rot, ok := loadCompose(t).services["nginx"].rotation(t)
	if !ok {
		t.FailNow()
	}
	dir, bin := t.TempDir(), t.TempDir()
	logFile := filepath.Join(dir, filepath.Base(rot.file))
	reopens := filepath.Join(bin, "reopens")
	stub := "#!/bin/sh\n[ \"$1 $2\" = \"-s reopen\" ] || exit 1\necho >>" + reopens + "\n"
	if err := os.WriteFile(filepath.Join(bin, "nginx"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(reopens, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	// nginx has the log open before the loop's first check.
	const lineLen = 100
	out, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { out.Close() }()

	const maxBytes, every = 8 << 10, "0.5"
	cmd := exec.Command(sh, rot.script, "sleep", "60")
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "ROTATE_LOG_FILE="+logFile,
		fmt.Sprintf("ROTATE_MAX_BYTES=%d", maxBytes), "ROTATE_CHECK_SECONDS="+every)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if stderr.Len() > 0 {
			t.Errorf("%s: %s", rot.script, stderr.String())
		}
	}()

	// The follower drains a rotated file for 200ms (oscheck ship: a
	// second); the script rotates at most every half second here, every
	// few hours in the demo.
	f, err := tail.Follow(logFile, nil, tail.WithPollInterval(10*time.Millisecond), tail.WithRotateDrain(200*time.Millisecond),
		tail.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make(chan []string, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var want int
	go func() {
		var lines []string
		for {
			batch, _, err := f.Next(ctx, 1000)
			for _, l := range batch {
				lines = append(lines, string(l))
			}
			if err != nil {
				got <- lines
				return
			}
		}
	}()

	// 100 bytes a millisecond for 3 seconds: each check finds the log over
	// 8 KiB, so it rotates about six times.
	seen := 0
	largest := int64(0)
	deadline := time.Now().Add(3 * time.Second)
	for ; time.Now().Before(deadline); want++ {
		if info, err := os.Stat(reopens); err == nil && info.Size() > int64(seen) {
			seen = int(info.Size())
			out.Close()
			if out, err = os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		line := fmt.Sprintf("%08d %s\n", want, strings.Repeat("x", lineLen-10))
		if _, err := out.WriteString(line); err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
			if info, err := e.Info(); err == nil {
				largest = max(largest, info.Size())
			}
		}
		if len(names) > 2 {
			t.Fatalf("the log directory holds %v: more than the log and one old file", names)
		}
		time.Sleep(time.Millisecond)
	}
	if seen < 3 {
		t.Fatalf("%d rotations in 3 s (%d lines written), want about six", seen, want)
	}
	// one check's worth of lines over the bound, with room for a slow machine
	if largest > maxBytes+int64(2*lineLen*1000) {
		t.Errorf("a log file grew to %d bytes, rotated at %d", largest, maxBytes)
	}

	// Wait for the follower to read everything, then stop it.
	for start := time.Now(); f.Stats().Lines < uint64(want) && time.Since(start) < 10*time.Second; {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	lines := <-got
	next := 0
	for _, l := range lines {
		n, err := strconv.Atoi(strings.Fields(l)[0])
		if err != nil || n != next {
			t.Fatalf("after line %d, read %.20q: lines lost, repeated or out of order", next-1, l)
		}
		next++
	}
	if next != want {
		t.Fatalf("read %d lines of %d written", next, want)
	}
	if r := f.Stats().Rotations; r < uint64(seen)-1 {
		t.Errorf("the follower saw %d rotations of %d", r, seen)
	}
	t.Logf("%d lines across %d rotations, largest file %d bytes", want, seen, largest)
}

// TestNginxDeployConfig runs deploy/nginx/nginx.conf (paths moved into a
// temporary directory) with the site under deploy/nginx/site: the pages the
// traffic generator asks for answer 2xx, the healthcheck's page is not
// logged, and each logged line, as Connect ships it, decodes to the
// os_type the request had.
func TestNginxDeployConfig(t *testing.T) {
	nginx := tool(t, "nginx")
	dir := t.TempDir()
	addr := freeAddr(t)
	logPath := filepath.Join(dir, "access.log")
	site, err := filepath.Abs(filepath.Join(deployRoot, "deploy", "nginx", "site"))
	if err != nil {
		t.Fatal(err)
	}
	src := readText(t, filepath.Join(deployRoot, "deploy", "nginx", "nginx.conf"))
	shared, _ := nginxAccessLog(t, filepath.Join(deployRoot, "deploy", "nginx", "nginx.conf"))
	conf := src
	for _, r := range []struct{ re, with string }{
		{`(?m)^\s*pid\s+[^;]+;`, "pid " + dir + "/nginx.pid;"},
		{`(?m)^\s*error_log\s+[^;]+;`, "error_log " + dir + "/error.log info;"},
		{`(?m)^(\s*)listen\s+80\b`, "${1}listen " + addr},
		{`(?m)^(\s*)root\s+[^;]+;`, "${1}root " + site + ";"},
		{regexp.QuoteMeta(shared), logPath},
		{`(?m)^http \{`, "http {\n    client_body_temp_path " + dir + "/body;\n    proxy_temp_path " + dir + "/proxy;\n" +
			"    fastcgi_temp_path " + dir + "/fastcgi;\n    uwsgi_temp_path " + dir + "/uwsgi;\n    scgi_temp_path " + dir + "/scgi;"},
	} {
		re := regexp.MustCompile(r.re)
		if !re.MatchString(conf) {
			t.Fatalf("deploy/nginx/nginx.conf has no %s to move into the test's directory", r.re)
		}
		conf = re.ReplaceAllString(conf, r.with)
	}
	if _, err := os.Stat("/etc/nginx/mime.types"); err != nil {
		conf = strings.Replace(conf, "include /etc/nginx/mime.types;", "types { text/html html; }", 1)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // workers as nobody could not write under dir
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(user+"daemon off;\n"+conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginx, "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	startNginxConf(t, nginx, dir, confPath, addr)

	decoder := decode.NewDecoder("os_type")
	classifier := classify.New()
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(target, userAgent string) int {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+target, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("User-Agent", userAgent)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	healthURL := ""
	if hc := loadCompose(t).services["nginx"].healthTest(); len(hc) > 0 {
		if u, err := url.Parse(hc[len(hc)-1]); err == nil {
			healthURL = u.RequestURI()
		}
	}
	if healthURL == "" {
		t.Fatal("the nginx service's healthcheck names no URL")
	}
	if code := get(healthURL, "Wget"); code != http.StatusOK {
		t.Fatalf("healthcheck %s: %d", healthURL, code)
	}
	targets := []string{"/", "/index.html", "/v1/open/product_list?user_key=1&os_type=%s", "/v1/open/product_detail?id=7&os_type=%s",
		"/product/list", "/product/detail/42", "/static/js/app.8f3c2a1e.js", "/static/css/main.4b2d9e07.css", "/favicon.ico",
		"/robots.txt", "/sitemap.xml", "/api/v2/cart", "/search?q=phone+case&page=2"}
	var want []string
	var clients []int // the nginx clients whose User-Agent says their os_type
	for i, c := range nginxClients {
		if c.osParam == "" {
			clients = append(clients, i)
		}
	}
	for i, target := range targets {
		c := nginxClients[clients[i%len(clients)]]
		wantOS := c.want
		if strings.Contains(target, "%s") {
			target, wantOS = fmt.Sprintf(target, "ios"), "ios"
		}
		if code := get(target, c.userAgent); code/100 != 2 {
			t.Errorf("GET %s: %d", target, code)
		}
		want = append(want, wantOS)
	}
	// nginx logs a request after it has answered it: wait for the last line
	// (and a moment for any line too many).
	var lines []string
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		lines = strings.Split(strings.TrimSuffix(readText(t, logPath), "\n"), "\n")
		if len(lines) >= len(targets) || time.Since(start) > 5*time.Second {
			time.Sleep(100 * time.Millisecond)
			lines = strings.Split(strings.TrimSuffix(readText(t, logPath), "\n"), "\n")
			break
		}
	}
	if len(lines) != len(targets) {
		t.Fatalf("nginx logged %d lines for %d requests and one healthcheck (which it must not log):\n%s", len(lines), len(targets), strings.Join(lines, "\n"))
	}
	for i, line := range lines {
		payload, _ := json.Marshal(line)
		record := `{"schema":{"type":"string","optional":false},"payload":` + string(payload) + `}`
		var req decode.Request
		if err := decoder.Decode([]byte(record), &req); err != nil {
			t.Errorf("line %q, as Connect ships it: %v", line, err)
			continue
		}
		if got := classifier.OSType(req.OSParam, req.UserAgent); got != want[i] {
			t.Errorf("line %q: os_type %q, want %q", line, got, want[i])
		}
	}
}

// ---- the compose file

type compose struct {
	services map[string]*composeService
	volumes  map[string]bool
}

type composeService struct {
	name           string
	image, build   string
	profiles       []string // none: in the default stack
	command        []string
	env            map[string]string
	mounts         []composeMount
	ports          []string // "host:container"
	dependsOn      map[string]string
	health         []string
	healthDisabled bool
	restart        string
	stopGrace      string
}

type composeMount struct {
	source, target string
	bind, readOnly bool
}

// loadCompose reads docker-compose.yml; YAML anchors and merge keys are
// resolved by the decoder.
func loadCompose(t *testing.T) *compose {
	t.Helper()
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(readText(t, filepath.Join(deployRoot, "docker-compose.yml"))), &raw); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	c := &compose{services: make(map[string]*composeService), volumes: make(map[string]bool)}
	for name := range mapAt(raw, "volumes") {
		c.volumes[name] = true
	}
	for name, v := range mapAt(raw, "services") {
		m, _ := v.(map[string]any)
		s := &composeService{name: name, image: str(m, "image"), restart: str(m, "restart"), stopGrace: str(m, "stop_grace_period"),
			env: make(map[string]string), dependsOn: make(map[string]string)}
		switch b := m["build"].(type) {
		case string:
			s.build = b
		case map[string]any:
			s.build = str(b, "context")
		}
		s.command = commandWords(t, name, m["command"])
		s.profiles = strList(list(m, "profiles"))
		switch e := m["environment"].(type) {
		case map[string]any:
			for k, v := range e {
				s.env[k] = fmt.Sprint(v)
			}
		case []any:
			for _, kv := range e {
				k, v, _ := strings.Cut(fmt.Sprint(kv), "=")
				s.env[k] = v
			}
		}
		for _, v := range list(m, "volumes") {
			var mt composeMount
			switch v := v.(type) {
			case string:
				parts := strings.Split(v, ":")
				if len(parts) < 2 {
					t.Fatalf("service %s: volume %q", name, v)
				}
				mt = composeMount{source: parts[0], target: parts[1], readOnly: len(parts) > 2 && strings.Contains(parts[2], "ro")}
				mt.bind = strings.HasPrefix(mt.source, ".") || strings.HasPrefix(mt.source, "/")
			case map[string]any:
				mt = composeMount{source: str(v, "source"), target: str(v, "target"), bind: str(v, "type") == "bind", readOnly: v["read_only"] == true}
			}
			s.mounts = append(s.mounts, mt)
		}
		for _, p := range list(m, "ports") {
			s.ports = append(s.ports, fmt.Sprint(p))
		}
		switch d := m["depends_on"].(type) {
		case []any:
			for _, dep := range d {
				s.dependsOn[fmt.Sprint(dep)] = "service_started"
			}
		case map[string]any:
			for dep, v := range d {
				cond := str(v.(map[string]any), "condition")
				if cond == "" {
					cond = "service_started"
				}
				s.dependsOn[dep] = cond
			}
		}
		if hc := mapAt(m, "healthcheck"); hc != nil {
			s.healthDisabled = hc["disable"] == true
			switch test := hc["test"].(type) {
			case string:
				s.health = []string{"CMD-SHELL", test}
			case []any:
				s.health = strList(test)
			}
			if len(s.health) > 0 && s.health[0] == "NONE" {
				s.healthDisabled = true
			}
		}
		c.services[name] = s
	}
	return c
}

// commandWords is a service's command as words (a string is split as
// Compose splits it).
func commandWords(t *testing.T, name string, v any) []string {
	switch v := v.(type) {
	case string:
		w, err := shellWords(v)
		if err != nil {
			t.Fatalf("service %s: command: %v", name, err)
		}
		return w
	case []any:
		return strList(v)
	}
	return nil
}

// oscheckServices are the services that run the oscheck service.
func (c *compose) oscheckServices() []string {
	var names []string
	for name, s := range c.services {
		if s.build != "" && len(s.command) > 0 && s.command[0] == "run" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// healthTest is the healthcheck's command, without CMD or CMD-SHELL.
func (s *composeService) healthTest() []string {
	if s.healthDisabled || len(s.health) == 0 {
		return nil
	}
	return s.health[1:]
}

// volumeAt returns the mount holding the container path p and p's path
// inside it.
func (s *composeService) volumeAt(p string) (*composeMount, string) {
	var best *composeMount
	for i, m := range s.mounts {
		if (p == m.target || strings.HasPrefix(p, strings.TrimSuffix(m.target, "/")+"/")) && (best == nil || len(m.target) > len(best.target)) {
			best = &s.mounts[i]
		}
	}
	if best == nil {
		return nil, ""
	}
	return best, strings.TrimPrefix(strings.TrimPrefix(p, best.target), "/")
}

// hostFile is the file of the repository that a bind mount shows at the
// container path p.
func (s *composeService) hostFile(t *testing.T, p string) string {
	t.Helper()
	m, rel := s.volumeAt(p)
	if m == nil || !m.bind {
		t.Fatalf("service %s: %s is not bind-mounted from the repository", s.name, p)
	}
	f := filepath.Join(deployRoot, m.source, rel)
	if _, err := os.Stat(f); err != nil {
		t.Fatalf("service %s: %s: %v", s.name, p, err)
	}
	return f
}

// containerPath is where the service sees the repository's file f, or "".
func (s *composeService) containerPath(f string) string {
	for _, m := range s.mounts {
		if !m.bind {
			continue
		}
		rel, err := filepath.Rel(filepath.Join(deployRoot, m.source), f)
		if err == nil && !strings.HasPrefix(rel, "..") {
			return path.Join(m.target, filepath.ToSlash(rel))
		}
	}
	return ""
}

// dependencyCycle returns a cycle of depends_on, or nil.
func (c *compose) dependencyCycle() []string {
	state := make(map[string]int) // 1: on the path, 2: done
	var stack []string
	var visit func(string) []string
	visit = func(n string) []string {
		switch state[n] {
		case 1:
			return append(stack[slices.Index(stack, n):], n)
		case 2:
			return nil
		}
		state[n] = 1
		stack = append(stack, n)
		if s := c.services[n]; s != nil {
			for _, d := range slices.Sorted(maps.Keys(s.dependsOn)) {
				if cyc := visit(d); cyc != nil {
					return cyc
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = 2
		return nil
	}
	for _, n := range slices.Sorted(maps.Keys(c.services)) {
		if cyc := visit(n); cyc != nil {
			return cyc
		}
	}
	return nil
}

// logRotation is how the nginx service rotates its access log.
type logRotation struct {
	script   string // the rotation script, in the repository
	command  []string
	env      map[string]string // interpolated as Compose does
	file     string
	maxBytes int64
}

// rotation reads the nginx service's rotation: its command runs the script
// deploy/nginx/rotate-log.sh with nginx as its arguments, and its
// ROTATE_* variables say what to rotate and when. It reports, and returns
// false, when the service does not rotate its log.
func (s *composeService) rotation(t *testing.T) (logRotation, bool) {
	t.Helper()
	if len(s.command) < 3 || s.command[0] != "sh" || s.command[2] != "nginx" || !slices.Contains(s.command, "daemon off;") {
		t.Errorf("%s: command %q, want sh <rotation script> nginx -g 'daemon off;': the log is not rotated", s.name, s.command)
		return logRotation{}, false
	}
	r := logRotation{script: s.hostFile(t, s.command[1]), command: s.command, env: make(map[string]string)}
	for k, v := range s.env {
		r.env[k] = interpolate(v)
	}
	script := readText(t, r.script)
	for _, want := range []string{"ROTATE_LOG_FILE", "ROTATE_MAX_BYTES", "mv -f", "nginx -s reopen", `exec "$@"`} {
		if !strings.Contains(script, want) {
			t.Errorf("%s: no %s", r.script, want)
		}
	}
	r.file = r.env["ROTATE_LOG_FILE"]
	n, err := strconv.ParseInt(r.env["ROTATE_MAX_BYTES"], 10, 64)
	if err != nil {
		t.Errorf("%s: ROTATE_MAX_BYTES %q: %v", s.name, r.env["ROTATE_MAX_BYTES"], err)
		return r, false
	}
	r.maxBytes = n
	return r, true
}

// interpolate does what Compose does to a value: ${VAR}, ${VAR:-default},
// ${VAR-default} and $$.
func interpolate(v string) string {
	return regexp.MustCompile(`\$\$|\$\{(\w+)(?:(:?-)([^}]*))?\}`).ReplaceAllStringFunc(v, func(m string) string {
		if m == "$$" {
			return "$"
		}
		p := regexp.MustCompile(`^\$\{(\w+)(?:(:?-)([^}]*))?\}$`).FindStringSubmatch(m)
		val, set := os.LookupEnv(p[1])
		switch {
		case p[2] == ":-" && val == "", p[2] == "-" && !set:
			return p[3]
		}
		return val
	})
}

// shipperConfig reads an oscheck ship command's flags and OSCHECK_*
// variables as oscheck ship does; it must accept them. It returns the
// configuration and the http-addr.
func shipperConfig(t *testing.T, who string, args []string, env map[string]string) (ship.Config, string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OSCHECK_") {
			t.Setenv(k, "")
		}
	}
	for k, v := range env {
		if strings.HasPrefix(k, "OSCHECK_") {
			t.Setenv(k, v)
		}
	}
	v, err := flagsAndEnv(shipFlags(), args)
	if err != nil {
		t.Fatalf("%s: %v", who, err)
	}
	cfg, _, err := shipConfig(v)
	if err != nil {
		t.Fatalf("%s: oscheck ship would refuse this configuration: %v", who, err)
	}
	return cfg, v.GetString("http-addr")
}

// ---- oscheck's configuration as a deployment sets it

type deployed struct {
	cfg      topology.Config
	httpAddr string
	shutdown time.Duration
}

// deployedConfig reads a deployment's OSCHECK_* variables as oscheck run
// does; every variable must name a key and the configuration must be valid.
func deployedConfig(t *testing.T, who string, env map[string]string) deployed {
	t.Helper()
	fs := newRunFlags()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OSCHECK_") {
			t.Setenv(k, "") // viper ignores empty variables
		}
	}
	for k, v := range env {
		name, ok := strings.CutPrefix(k, "OSCHECK_")
		if !ok {
			continue
		}
		key := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if fs.Lookup(key) == nil || key == "config" {
			t.Errorf("%s: %s names no key of oscheck run", who, k)
		}
		t.Setenv(k, v)
	}
	v, err := flagsAndEnv(fs, nil)
	if err != nil {
		t.Fatalf("%s: %v", who, err)
	}
	cfg, err := serviceConfig(v)
	if err != nil {
		t.Fatalf("%s: oscheck run would refuse this configuration: %v", who, err)
	}
	d := deployed{cfg: cfg, httpAddr: v.GetString("http-addr")}
	if d.shutdown, err = time.ParseDuration(v.GetString("shutdown-timeout")); err != nil {
		t.Fatalf("%s: shutdown-timeout: %v", who, err)
	}
	return d
}

func (d deployed) httpPort(t *testing.T) string {
	t.Helper()
	_, port, err := net.SplitHostPort(d.httpAddr)
	if err != nil || port == "" {
		t.Fatalf("http-addr %q has no port (%v)", d.httpAddr, err)
	}
	return port
}

// ---- the Dockerfile

// nginxAccessLog returns the one access log an nginx config writes and its
// format ("" for the default, combined).
func nginxAccessLog(t *testing.T, conf string) (string, string) {
	t.Helper()
	var logPath, format string
	for _, m := range regexp.MustCompile(`(?m)^\s*access_log\s+([^\s;]+)(?:\s+([^\s;]+))?[^;]*;`).FindAllStringSubmatch(readText(t, conf), -1) {
		if m[1] == "off" {
			continue
		}
		if logPath != "" && (m[1] != logPath || m[2] != format) {
			t.Fatalf("%s: more than one access log (%s %s, %s %s)", conf, logPath, format, m[1], m[2])
		}
		logPath, format = m[1], m[2]
	}
	if logPath == "" {
		t.Fatalf("%s: no access_log", conf)
	}
	return logPath, format
}
