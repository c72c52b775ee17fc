package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/bus/kafkatest"
	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/synth"
	"github.com/trunkscope/trunkscope/store/storetest"
)

// The production path: Apache Kafka (kafkatest, KRaft on loopback), Debian's
// ClickHouse 18.16 servers, and trunkscope's roles as separate processes.

// prodSetup names the servers a production-path configuration points at.
type prodSetup struct {
	brokers  string   // host:port
	ch       []string // ClickHouse native addresses, in the order collectors try them
	cluster  string   // "" for a single server
	prefix   string   // topic, group and database names of the test's own (the broker is shared)
	batch    int
	database string
	// tlsCA, when set, makes the configuration reach brokers over TLS
	// (this CA file) with SCRAM-SHA-512: brokers is then a SASL_SSL listener.
	tlsCA string
}

// prodConfig writes the built-in configuration pointed at the servers.
func prodConfig(t *testing.T, dir string, p prodSetup) string {
	t.Helper()
	if p.batch == 0 {
		p.batch = 100
	}
	return writeConfig(t, dir, func(s string) string {
		for _, r := range [][2]string{
			{"  brokers: []          # empty: the embedded broker under the data directory", "  brokers: [" + p.brokers + "]"},
			{"  partitions: 4", "  partitions: 6"},
			{"  group: trunkscope-collector", "  group: " + p.prefix + "-collectors"},
			{"    sip: trunkscope.sip", "    sip: " + p.prefix + ".sip"},
			{"    rtp: trunkscope.rtp", "    rtp: " + p.prefix + ".rtp"},
			{"    rtcp: trunkscope.rtcp", "    rtcp: " + p.prefix + ".rtcp"},
			{"  addrs: []            # empty: embedded chDB under the data directory", "  addrs: [" + strings.Join(p.ch, ", ") + "]"},
			{"  database: trunkscope", "  database: " + p.database},
			{`  cluster: ""`, `  cluster: "` + p.cluster + `"`},
			{"  batch_size: 20000 ", fmt.Sprintf("  batch_size: %d ", p.batch)},
			{"  flush_interval: 1s", "  flush_interval: 200ms"},
		} {
			if p.tlsCA != "" && r[0] == "  partitions: 4" {
				s = strings.Replace(s, `  tls: {enabled: false, ca_file: "", cert_file: "", key_file: "", insecure_skip_verify: false, server_name: ""}`,
					"  tls: {enabled: true, ca_file: "+p.tlsCA+"}", 1)
				s = strings.Replace(s, `  sasl: {mechanism: "", username: "", password: ""}`,
					"  sasl: {mechanism: SCRAM-SHA-512, username: "+kafkatest.ScramUser+", password: "+kafkatest.ScramPassword+"}", 1)
			}
			if !strings.Contains(s, r[0]) {
				t.Fatalf("built-in configuration has no line %q", r[0])
			}
			s = strings.Replace(s, r[0], r[1], 1)
		}
		return s
	})
}

// role is a trunkscope process of a test.
type role struct {
	cmd    *exec.Cmd
	logs   chan string
	exited chan struct{}
}

// startRole starts a trunkscope role and waits for its "running" log line.
func startRole(t *testing.T, env []string, args ...string) *role {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "TRUNKSCOPE_AS_MAIN=1"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &role{cmd: cmd, logs: make(chan string, 100000), exited: make(chan struct{})}
	var mu sync.Mutex
	var all []string
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-r.exited
		if t.Failed() {
			mu.Lock()
			t.Logf("%s %v log:\n%s", os.Args[0], args, strings.Join(all[max(0, len(all)-60):], "\n"))
			mu.Unlock()
		}
	})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			all = append(all, sc.Text())
			mu.Unlock()
			select {
			case r.logs <- sc.Text():
			default:
			}
		}
		cmd.Wait()
		close(r.logs)
		close(r.exited)
	}()
	awaitLog(t, r.logs, regexp.MustCompile(`msg="collector running"`))
	return r
}

// stop sends SIGTERM and waits for a clean exit.
func (r *role) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.exited:
		if !r.cmd.ProcessState.Success() {
			t.Fatalf("%v did not exit cleanly: %v", r.cmd.Args[1:3], r.cmd.ProcessState)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%v did not stop within 60 s", r.cmd.Args[1:3])
	}
}

// waitGroup waits until the consumer group is stable with n members.
func waitGroup(t *testing.T, k bus.Cluster, group string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		state, members, err := k.GroupState(ctx, group)
		if err == nil && state == "Stable" && members == n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("group %s: %q with %d members (%v), want Stable with %d", group, state, members, err, n)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// publishTo publishes events to topics like a probe.
func publishTo(t *testing.T, k bus.Cluster, topics bus.Topics, evs []*event.SIP) {
	t.Helper()
	prod := k.NewProducer(topics, bus.ProducerOptions{BatchSize: 200})
	for _, ev := range evs {
		if err := prod.SIP(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := prod.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// awaitAllCDRs exports until every call of the truth has a CDR (calls that
// end by Timer B close 32 s of idle time after their INVITE), then checks
// every CDR against the truth.
func awaitAllCDRs(t *testing.T, truth *synth.Truth, cfg string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		got := exportCDRsWith(t, t.TempDir(), "--config", cfg)
		if len(got) >= len(truth.Calls) {
			checkAgainstTruth(t, truth, got)
			return
		}
		if time.Now().After(deadline) {
			checkAgainstTruth(t, truth, got)
			t.Fatalf("%d CDRs after 3 minutes, truth has %d calls", len(got), len(truth.Calls))
		}
		time.Sleep(2 * time.Second)
	}
}

// checkKPITotals compares the KPI rollups, summed per trunk, with the truth.
// Rollups are rewritten after the CDRs they cover, so this polls briefly.
func checkKPITotals(t *testing.T, truth *synth.Truth, cfg string) {
	t.Helper()
	type totals struct{ Attempts, Answered, ConnectedMs, Timeout, Busy, Cancelled int64 }
	want := map[string]totals{}
	for _, c := range truth.Calls {
		w := want[c.Trunk]
		w.Attempts++
		switch c.Outcome {
		case "answered":
			w.Answered++
			w.ConnectedMs += c.DurationMs
		case "timeout":
			w.Timeout++
		case "busy":
			w.Busy++
		case "cancelled":
			w.Cancelled++
		}
		want[c.Trunk] = w
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := mustRun(t, "kpi", "--by", "trunk", "--format", "json", "--config", cfg, "--data", t.TempDir())
		got := map[string]totals{}
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var k struct {
				Trunk                                        string
				Attempts, Answered, Timeout, Busy, Cancelled int64
				ConnectedMs                                  int64 `json:"connected_ms"`
			}
			if err := json.Unmarshal([]byte(l), &k); err != nil {
				t.Fatalf("kpi line %q: %v", l, err)
			}
			g := got[k.Trunk]
			g.Attempts += k.Attempts
			g.Answered += k.Answered
			g.ConnectedMs += k.ConnectedMs
			g.Timeout += k.Timeout
			g.Busy += k.Busy
			g.Cancelled += k.Cancelled
			got[k.Trunk] = g
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("KPI totals per trunk:\n got  %v\n want %v", got, want)
		}
		time.Sleep(time.Second)
	}
}

func getHTTP(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Scale-out on Apache Kafka: two collectors in one group share six
// partitions; one dies by SIGKILL mid-stream (after storing a batch, before
// committing its offsets), the other takes its partitions over while more
// events arrive (calls straddle the rebalance), then it comes back and the
// group rebalances again. Every CDR and every KPI total equals the truth.
func TestScaleOutCollectorsOnKafka(t *testing.T) {
	kb := kafkatest.Shared(t)
	chAddr := storetest.ServerAddr(t)
	dir := t.TempDir()
	p := prodSetup{brokers: kb.Addr, ch: []string{chAddr}, prefix: "scaleout", database: storetest.NewDatabase(t)}
	cfg := prodConfig(t, dir, p)
	pcap := filepath.Join(dir, "calls.pcap")
	mustRun(t, "gen", "--calls", "300", "--seed", "41", "--no-rtp", "--cps", "5", "--out", pcap)
	evs := captureEvents(t, pcap)
	truth := loadTruth(t, pcap)

	listenA := freeAddr(t)
	a := startRole(t, nil, "collector", "--config", cfg, "--data", filepath.Join(dir, "a"), "--listen", listenA, "--stats-interval", "500ms")
	b := startRole(t, []string{"TRUNKSCOPE_FAILPOINT=collector-before-commit:3"},
		"collector", "--config", cfg, "--data", filepath.Join(dir, "b"), "--listen", "", "--stats-interval", "500ms")
	k := bus.Cluster{Brokers: []string{kb.Addr}}
	group := p.prefix + "-collectors"
	waitGroup(t, k, group, 2)
	if code, body := getHTTP(t, "http://"+listenA+"/readyz"); code != 200 {
		t.Fatalf("/readyz: %d %s", code, body)
	}

	topics := bus.Topics{SIP: p.prefix + ".sip", RTP: p.prefix + ".rtp", RTCP: p.prefix + ".rtcp"}
	cut := len(evs) * 6 / 10
	publishTo(t, k, topics, evs[:cut])
	select {
	case <-b.exited:
		if b.cmd.ProcessState.Exited() {
			t.Fatalf("collector b exited (%v) instead of being killed at its failpoint", b.cmd.ProcessState)
		}
	case <-time.After(60 * time.Second):
		b.cmd.Process.Kill() // it owned too little to reach the failpoint: kill it now
		<-b.exited
	}
	// While b is dead, the rest arrives: a takes b's partitions over once
	// the group evicts b, re-reading from b's committed offsets.
	publishTo(t, k, topics, evs[cut:])
	waitGroup(t, k, group, 1)
	b = startRole(t, nil, "collector", "--config", cfg, "--data", filepath.Join(dir, "b"), "--listen", "", "--stats-interval", "500ms")
	waitGroup(t, k, group, 2)

	awaitAllCDRs(t, truth, cfg)
	checkKPITotals(t, truth, cfg)
	code, body := getHTTP(t, "http://"+listenA+"/metrics")
	if code != 200 || !regexp.MustCompile(`trunkscope_collector_events_consumed_total [1-9]`).MatchString(body) {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	a.stop(t)
	b.stop(t)
}

// The production path end to end: a generated capture with RTP, published
// by `trunkscope probe --pcap` (its own process) to Apache Kafka, two
// collectors in one group, a ClickHouse cluster of two shards of two
// replicas (Debian's 18.16 and ZooKeeper) with the cluster schema. The CDRs
// and KPI totals read back from a server of the other shard equal the truth.
func TestProductionPathEndToEnd(t *testing.T) {
	kb := kafkatest.Shared(t)
	cl := storetest.Cluster(t, 2, 2)
	dir := t.TempDir()
	db := storetest.NewDatabase(t)
	p := prodSetup{brokers: kb.Addr, ch: cl.Addrs[0], cluster: cl.Name, prefix: "e2e", database: db, batch: 500}
	os.MkdirAll(filepath.Join(dir, "collectors"), 0o755)
	os.MkdirAll(filepath.Join(dir, "reader"), 0o755)
	os.MkdirAll(filepath.Join(dir, "probe"), 0o755)
	cfg := prodConfig(t, filepath.Join(dir, "collectors"), p)
	p.ch = []string{cl.Addrs[1][1]} // readers on another server
	readCfg := prodConfig(t, filepath.Join(dir, "reader"), p)
	pcap := filepath.Join(dir, "calls.pcap")
	mustRun(t, "gen", "--calls", "150", "--seed", "43", "--out", pcap)
	truth := loadTruth(t, pcap)

	// The schema first, as a deployment does: ON CLUSTER DDL waits for
	// every replica, and two collectors would otherwise both run it.
	mustRun(t, "migrate", "--config", cfg)
	a := startRole(t, nil, "collector", "--config", cfg, "--data", filepath.Join(dir, "a"), "--listen", "")
	b := startRole(t, nil, "collector", "--config", cfg, "--data", filepath.Join(dir, "b"), "--listen", "")
	waitGroup(t, bus.Cluster{Brokers: []string{kb.Addr}}, p.prefix+"-collectors", 2)
	// The probe publishes over TLS with SCRAM (the broker's SASL_SSL
	// listener), the collectors read the same topics in plain text.
	p.ch, p.brokers, p.tlsCA = cl.Addrs[0], kb.TLSAddr, kb.CAFile
	probeCfg := prodConfig(t, filepath.Join(dir, "probe"), p)
	r := mustRun(t, "probe", "--pcap", pcap, "--config", probeCfg)
	if !strings.Contains(r.stdout, "events published") {
		t.Fatalf("probe --pcap printed:\n%s", r.stdout)
	}
	awaitAllCDRs(t, truth, readCfg)
	checkKPITotals(t, truth, readCfg)
	// Every dashboard panel and alert rule query runs on the cluster's
	// Distributed tables.
	if r := mustRun(t, "dashboards", "check", "--config", readCfg); !strings.Contains(r.stdout, "NOC overview") {
		t.Fatalf("dashboards check printed:\n%s", r.stdout)
	}
	a.stop(t)
	b.stop(t)
}

// `bench collector --brokers --clickhouse` measures the production path next
// to the embedded figure.
func TestBenchCollectorProductionPath(t *testing.T) {
	kb := kafkatest.Shared(t)
	ch := storetest.ServerAddr(t)
	// TRUNKSCOPE_BENCH_CALLS sizes the run for the README's figure:
	//   TRUNKSCOPE_BENCH_CALLS=20000 go test -v -run TestBenchCollectorProductionPath ./cmd/trunkscope/
	calls := "100"
	if n := os.Getenv("TRUNKSCOPE_BENCH_CALLS"); n != "" {
		calls = n
	}
	r := mustRun(t, "bench", "collector", "--pipeline-calls", calls, "--brokers", kb.Addr, "--clickhouse", ch)
	t.Log("\n" + r.stdout)
	for _, want := range []string{"collector: kfake -> chDB, CDRs and rollups", "collector: Kafka " + kb.Addr + " -> ClickHouse " + ch + ", CDRs and rollups"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("bench printed:\n%s\nwant a line %q", r.stdout, want)
		}
	}
	if !regexp.MustCompile(`ClickHouse [0-9.:]+, CDRs and rollups\s+[1-9][0-9]* events/s\s+[1-9]`).MatchString(r.stdout) {
		t.Fatalf("no production-path figure in:\n%s", r.stdout)
	}
}
