package main

import (
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/trunkscope/trunkscope/config"
)

// No Docker engine runs here, so docker-compose.yml is kept correct by
// reading it: the services and their wiring, and every trunkscope role's
// command line run through trunkscope's own flag parsing.

type composeService struct {
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Deploy struct {
		Replicas int `yaml:"replicas"`
	} `yaml:"deploy"`
	Profiles    []string `yaml:"profiles"`
	NetworkMode string   `yaml:"network_mode"`
	CapAdd      []string `yaml:"cap_add"`
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

var envDefault = regexp.MustCompile(`\$\{\w+:-([^}]*)\}`)

// expand applies compose's ${VAR:-default} with the defaults.
func expand(s string) string { return envDefault.ReplaceAllString(s, "$1") }

// flagValue returns the value of --name in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == "--"+name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

func TestDockerCompose(t *testing.T) {
	root := filepath.Join("..", "..")
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kafka", "clickhouse", "grafana", "alertmanager", "probe", "probe-capture", "collector", "alerts", "dashboards"} {
		if _, ok := f.Services[name]; !ok {
			t.Errorf("service %s missing", name)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "Dockerfile")); err != nil {
		t.Error("Dockerfile missing: the trunkscope services build it")
	}

	// Kafka: the official image in KRaft mode, its log on a volume.
	k := f.Services["kafka"]
	env := k.Environment
	if !strings.HasPrefix(k.Image, "apache/kafka:4.") || !strings.Contains(env["KAFKA_PROCESS_ROLES"], "broker") ||
		!strings.Contains(env["KAFKA_PROCESS_ROLES"], "controller") || env["KAFKA_CONTROLLER_QUORUM_VOTERS"] != "1@kafka:9093" {
		t.Errorf("kafka is not a KRaft node of apache/kafka 4.x: %s %v", k.Image, env)
	}
	if id, err := base64.RawURLEncoding.DecodeString(env["CLUSTER_ID"]); err != nil || len(id) != 16 {
		t.Errorf("kafka CLUSTER_ID %q is not a base64url UUID", env["CLUSTER_ID"])
	}
	advertised := map[string]string{} // listener -> host:port
	for _, l := range strings.Split(env["KAFKA_ADVERTISED_LISTENERS"], ",") {
		name, addr, _ := strings.Cut(l, "://")
		advertised[name] = addr
	}
	if !hasVolume(k, "kafka-data:"+env["KAFKA_LOG_DIRS"]) {
		t.Errorf("kafka's log dir %s is not on the kafka-data volume", env["KAFKA_LOG_DIRS"])
	}
	ch := f.Services["clickhouse"]

	// Volumes: every named volume a service mounts is declared and every
	// declared one is used; every bind mount exists.
	used := map[string]bool{}
	for name, s := range f.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("%s mounts %s, which does not exist", name, src)
				}
				continue
			}
			used[src] = true
			if _, ok := f.Volumes[src]; !ok {
				t.Errorf("%s mounts volume %s, not declared", name, src)
			}
		}
		if s.Healthcheck == nil && name != "dashboards" && name != "alerts" {
			t.Errorf("%s has no health check", name)
		}
	}
	for v := range f.Volumes {
		if !used[v] {
			t.Errorf("volume %s is declared but unused", v)
		}
	}

	// Every trunkscope role: a registered command whose flags parse, its
	// configuration file mounted and pointing at the compose services.
	registered := map[string]bool{}
	for _, c := range commands() {
		registered[c.name] = true
	}
	roles := 0
	for name, s := range f.Services {
		if s.Image != "trunkscope:local" {
			continue
		}
		roles++
		args := make([]string, len(s.Command))
		for i, a := range s.Command {
			args[i] = expand(a)
		}
		if len(args) == 0 {
			t.Errorf("%s: no command", name)
			continue
		}
		if !registered[args[0]] {
			t.Errorf("%s runs unknown command %q", name, args[0])
		} else if r := trunkscope(t, nil, append(args, "--help")...); r.code != exitOK {
			t.Errorf("%s: trunkscope %s: exit %d\n%s", name, strings.Join(args, " "), r.code, r.stderr)
		}
		if s.Environment["TRUNKSCOPE_DATA"] == "" {
			t.Errorf("%s: TRUNKSCOPE_DATA not set", name)
		}
		cfgPath := flagValue(args, "config")
		host := ""
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 && strings.HasPrefix(cfgPath, parts[1]+"/") {
				host = filepath.Join(root, parts[0], strings.TrimPrefix(cfgPath, parts[1]))
			}
		}
		if host == "" {
			t.Errorf("%s: --config %s is not under a mounted directory", name, cfgPath)
			continue
		}
		cfg, err := config.Load(host)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		wantBroker, wantCH := advertised["PLAINTEXT"], "clickhouse:9000"
		if s.NetworkMode == "host" {
			wantBroker, wantCH = advertised["EXTERNAL"], "127.0.0.1:9000"
			_, port, _ := net.SplitHostPort(wantBroker)
			if !hasPort(k, port+":"+port) || !hasPort(ch, "127.0.0.1:9000:9000") {
				t.Errorf("%s is on the host network but kafka (%v) or clickhouse (%v) does not publish its port", name, k.Ports, ch.Ports)
			}
		}
		if strings.Join(cfg.Kafka.Brokers, ",") != wantBroker || strings.Join(cfg.ClickHouse.Addrs, ",") != wantCH {
			t.Errorf("%s: config %s has brokers %v and clickhouse %v, want %s and %s", name, cfgPath, cfg.Kafka.Brokers, cfg.ClickHouse.Addrs, wantBroker, wantCH)
		}
		if cfg.ClickHouse.User != ch.Environment["CLICKHOUSE_USER"] || cfg.ClickHouse.Password != expand(ch.Environment["CLICKHOUSE_PASSWORD"]) ||
			cfg.ClickHouse.Database != ch.Environment["CLICKHOUSE_DB"] {
			t.Errorf("%s: config's ClickHouse user/password/database differ from the clickhouse service's", name)
		}
		if args[0] != "dashboards" && (s.DependsOn["kafka"].Condition != "service_healthy" && args[0] != "alerts" || s.DependsOn["clickhouse"].Condition != "service_healthy") {
			t.Errorf("%s does not wait for healthy servers: %v", name, s.DependsOn)
		}
		// The health check asks the role's own HTTP listener.
		if s.Healthcheck != nil {
			listen := flagValue(args, "listen") + flagValue(args, "metrics-listen")
			_, port, _ := net.SplitHostPort(listen)
			if port == "" || !strings.Contains(strings.Join(s.Healthcheck.Test, " "), "localhost:"+port+"/") {
				t.Errorf("%s: health check %v does not ask its listener %s", name, s.Healthcheck.Test, listen)
			}
		}
		if s.NetworkMode == "host" && !(contains(s.CapAdd, "NET_RAW") && flagValue(args, "iface") != "") {
			t.Errorf("%s: a capture probe needs --iface and CAP_NET_RAW", name)
		}
		if args[0] == "collector" && (s.Deploy.Replicas < 2 || cfg.Kafka.Partitions < s.Deploy.Replicas) {
			t.Errorf("collector: %d replicas over %d partitions; want at least 2, at most the partitions", s.Deploy.Replicas, cfg.Kafka.Partitions)
		}
	}
	if roles < 5 {
		t.Errorf("%d trunkscope services, want probe, probe-capture, collector, alerts, dashboards", roles)
	}

	// The probe's HEP listener is published over UDP and TCP.
	p := f.Services["probe"]
	_, hep, _ := net.SplitHostPort(flagValue(p.Command, "hep-listen"))
	if !hasPort(p, hep+":"+hep+"/udp") || !hasPort(p, hep+":"+hep+"/tcp") {
		t.Errorf("probe listens for HEP on %s but publishes %v", hep, p.Ports)
	}
	// Grafana: the ClickHouse plugin, provisioning written by `dashboards
	// generate` into a volume it reads, started after it.
	g, d := f.Services["grafana"], f.Services["dashboards"]
	out := flagValue(d.Command, "out")
	if !strings.Contains(g.Environment["GF_INSTALL_PLUGINS"], "grafana-clickhouse-datasource") ||
		g.Environment["GF_PATHS_PROVISIONING"] != out+"/provisioning" || !hasVolume(g, "grafana-provisioning:"+out+":ro") ||
		!hasVolume(d, "grafana-provisioning:"+out) || !strings.HasPrefix(flagValue(d.Command, "dashboards-path"), out+"/") ||
		g.DependsOn["dashboards"].Condition != "service_completed_successfully" || g.Environment["TRUNKSCOPE_CLICKHOUSE_PASSWORD"] == "" {
		t.Errorf("grafana is not provisioned from `dashboards generate --out %s`: %+v", out, g)
	}
	// Alerts go to the Alertmanager service.
	if am := flagValue(f.Services["alerts"].Command, "alertmanager"); am != "http://alertmanager:9093" || !hasPort(f.Services["alertmanager"], "9093:9093") {
		t.Errorf("alerts post to %q", am)
	}
}

func hasVolume(s composeService, v string) bool { return contains(s.Volumes, v) }
func hasPort(s composeService, p string) bool   { return contains(s.Ports, p) }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
