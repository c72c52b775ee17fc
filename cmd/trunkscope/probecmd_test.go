package main

import (
	"context"
	"fmt"
	"github.com/trunkscope/trunkscope/internal/testports"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store/chserver"
	"github.com/trunkscope/trunkscope/store/storetest"
)

// sippUAS runs SIPp (Debian's sip-tester) as a UAS that answers OPTIONS
// (-aa) and echoes RTP, on free loopback ports; it returns the SIP port.
func sippUAS(t *testing.T) int {
	t.Helper()
	port, mport := freeUDP(t), testports.Range(t, 4)
	cmd := exec.Command("/usr/bin/sipp", "-sn", "uas", "-aa", "-i", "127.0.0.1", "-p", fmt.Sprint(port), "-mi", "127.0.0.1",
		"-mp", fmt.Sprint(mport), "-rtp_echo", "-nostdin")
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("sipp (run ./scripts/setup --servers): %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			return port // SIPp holds it
		}
		c.Close()
	}
	t.Fatal("sipp did not bind")
	return 0
}

func TestProbeOptionsCLI(t *testing.T) {
	port := sippUAS(t)
	r := trunkscope(t, nil, "probe", "options", "--target", fmt.Sprintf("sip:127.0.0.1:%d", port), "--count", "3", "--interval", "100ms")
	if r.code != 0 || strings.Count(r.stdout, "200 OK from") != 3 || !strings.Contains(r.stdout, "3 requests sent, 3 answered, 0% without response") ||
		!regexp.MustCompile(`rtt min/avg/max/mdev = [0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+ ms`).MatchString(r.stdout) {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	dead := freeUDP(t)
	r = trunkscope(t, nil, "probe", "options", "--target", fmt.Sprintf("sip:127.0.0.1:%d", dead), "--count", "2", "--interval", "50ms", "--timeout", "300ms")
	if r.code != exitError || strings.Count(r.stdout, "refused from") != 2 || !strings.Contains(r.stderr, "is down") {
		t.Fatalf("dead target: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = trunkscope(t, nil, "probe", "options", "--target", "http://x")
	if r.code != exitUsage {
		t.Fatalf("bad target: exit %d %s", r.code, r.stderr)
	}
	r = trunkscope(t, nil, "probe", "options", "--target", "sip:127.0.0.1:1", "--transport", "tcp", "--count", "1")
	if r.code != exitError || !strings.Contains(r.stdout, "refused") {
		t.Fatalf("refused: exit %d\n%s", r.code, r.stdout)
	}
}

func TestProbeCallCLI(t *testing.T) {
	port := sippUAS(t)
	r := trunkscope(t, nil, "probe", "call", "--target", fmt.Sprintf("sip:127.0.0.1:%d", port), "--to", "31201234567", "--duration", "1s")
	if r.code != 0 || !strings.Contains(r.stdout, "result    answered (200 OK)") || !strings.Contains(r.stdout, "mos       4.41") ||
		!regexp.MustCompile(`rtp       sent 50, received 50, expected 50, lost 0`).MatchString(r.stdout) {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := trunkscope(t, nil, "probe", "call", "--target", "sip:127.0.0.1:9"); r.code != exitUsage {
		t.Fatalf("missing --to: exit %d", r.code)
	}
}

// `run` with trunks that have probe targets pings them on the configured
// interval, places the scheduled test call, and the collector stores the
// results in options_pings and test_calls (here on ClickHouse 18.16).
func TestRunSchedulesActiveProbe(t *testing.T) {
	port := sippUAS(t)
	dead := freeUDP(t)
	addr := storetest.ServerAddr(t)
	db := storetest.NewDatabase(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, func(s string) string {
		s = strings.Replace(s, "  addrs: []            # empty: embedded chDB under the data directory", "  addrs: ["+addr+"]", 1)
		s = strings.Replace(s, "  database: trunkscope", "  database: "+db, 1)
		s = strings.Replace(s, "    deck: carrier-a\n", fmt.Sprintf("    deck: carrier-a\n    probe:\n      targets: [\"sip:127.0.0.1:%d\"]\n"+
			"      call: {to: \"100\", interval: 1h, duration: 1s}\n", port), 1)
		s = strings.Replace(s, "    deck: carrier-b\n", fmt.Sprintf("    deck: carrier-b\n    probe:\n      targets: [\"sip:127.0.0.1:%d\"]\n", dead), 1)
		s = strings.Replace(s, "  options: {interval: 30s, jitter: 3s, timeout: 2s, down_after: 3, up_after: 2}",
			"  options: {interval: 200ms, jitter: 50ms, timeout: 300ms, down_after: 2, up_after: 1}", 1)
		return s + "groups:\n  - name: eu-out\n    trunks: [{trunk: carrier-b, priority: 1}, {trunk: carrier-a, priority: 2}]\n"
	})
	ml, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ml.Addr().String()
	ml.Close()
	cmd, logs, _ := startService(t, "run", "--data", filepath.Join(dir, "data"), "--config", cfg, "--stats-interval", "200ms",
		"--metrics-listen", metricsAddr)
	defer cmd.Process.Kill()
	down := regexp.MustCompile(`msg="trunk target state changed".* trunk=carrier-b .* to=down`)
	called := regexp.MustCompile(`msg="test call".* trunk=carrier-a result=answered`)
	var sawDown, sawCall bool
	for deadline := time.After(60 * time.Second); !sawDown || !sawCall; {
		select {
		case l, ok := <-logs:
			if !ok {
				t.Fatal("run exited")
			}
			sawDown = sawDown || down.MatchString(l)
			sawCall = sawCall || called.MatchString(l)
		case <-deadline:
			t.Fatalf("down %v, call %v", sawDown, sawCall)
		}
	}
	time.Sleep(1500 * time.Millisecond) // a flush interval for the last results
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		fmt.Sprintf(`trunkscope_active_target_state{trunk="carrier-a",target="sip:127.0.0.1:%d"} 1`, port),
		fmt.Sprintf(`trunkscope_active_target_state{trunk="carrier-b",target="sip:127.0.0.1:%d"} 3`, dead),
		`trunkscope_active_test_calls_total{trunk="carrier-a",result="answered"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("metrics lack %s:\n%s", want, body)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run: %v", err)
	}
	ctx := context.Background()
	st, err := chserver.Open(ctx, chserver.Options{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q, err := st.Query(ctx, "SELECT trunk, countIf(result = 'ok' AND code = 200 AND rtt_us > 0) AS ok, countIf(state = 'down') AS down, count() AS n FROM "+
		db+".options_pings FINAL GROUP BY trunk ORDER BY trunk")
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Data) != 2 || q.String(0, "trunk") != "carrier-a" || q.Int(0, "ok") == 0 || q.Int(0, "ok") != q.Int(0, "n") || q.Int(1, "down") == 0 || q.Int(1, "ok") != 0 {
		t.Fatalf("options_pings: %v", q.Data)
	}
	q, err = st.Query(ctx, "SELECT trunk, result, code, rx_packets, mos_x1000 FROM "+db+".test_calls FINAL")
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Data) != 1 || q.String(0, "result") != "answered" || q.Int(0, "rx_packets") < 45 || q.Int(0, "mos_x1000") < 4400 {
		t.Fatalf("test_calls: %v", q.Data)
	}

	// carrier-b (priority 1) was down, and no call went anywhere: failover
	// not verified. A call carried by carrier-a meanwhile verifies it.
	r := trunkscope(t, nil, "probe", "failover", "--config", cfg, "--data", filepath.Join(dir, "data"))
	if r.code != exitError || !strings.Contains(r.stdout, "carrier-b down") || !strings.Contains(r.stdout, "NOT verified: no calls") {
		t.Fatalf("failover: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	q, err = st.Query(ctx, "SELECT max(ts_us) AS t FROM "+db+".options_pings FINAL WHERE trunk = 'carrier-b' AND state = 'down'")
	if err != nil {
		t.Fatal(err)
	}
	at := q.Int(0, "t")
	c := collector.CDR{CallID: "moved", Leg: 1, Trunk: "carrier-a", Direction: "outbound", StartUS: at - 1, EndUS: at + 1000, Outcome: collector.Answered, PDDMs: -1, RingMs: -1, Version: 1}
	if err := st.Insert(ctx, db+".cdrs", schema.CDRColumns, [][]any{c.Row()}); err != nil {
		t.Fatal(err)
	}
	r = trunkscope(t, nil, "probe", "failover", "--config", cfg, "--data", filepath.Join(dir, "data"))
	if r.code != 0 || !strings.Contains(r.stdout, "failover verified: calls moved to carrier-a") || !strings.Contains(r.stdout, "carrier-a 1/1") {
		t.Fatalf("failover: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("\n%s", r.stdout)
}
