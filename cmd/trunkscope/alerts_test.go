package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/alert"
	"github.com/trunkscope/trunkscope/probe/synth"
	"github.com/trunkscope/trunkscope/store/storetest"
)

// alertmanagerBinary is Debian's prometheus-alertmanager.
const alertmanagerBinary = "/usr/bin/prometheus-alertmanager"

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startAlertmanager runs a real Alertmanager on loopback with a temporary
// configuration and storage; its one receiver is a webhook to hookURL with
// a bearer credential (http_config.authorization).
func startAlertmanager(t *testing.T, hookURL, token string) string {
	t.Helper()
	if _, err := os.Stat(alertmanagerBinary); err != nil {
		t.Fatalf("%s missing: run ./scripts/setup --servers (installs Debian's prometheus-alertmanager)", alertmanagerBinary)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, trunk]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: %s
`, hookURL, token)
	path := filepath.Join(dir, "alertmanager.yml")
	os.WriteFile(path, []byte(cfg), 0o644)
	addr := freePort(t)
	cmd := exec.Command(alertmanagerBinary, "--config.file="+path, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	logf, _ := os.Create(filepath.Join(dir, "log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Logf("alertmanager log:\n%s", b)
		}
	})
	base := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if i > 100 {
			t.Fatal("alertmanager did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// amAlerts lists the alerts Alertmanager holds (GET /api/v2/alerts: active
// ones; resolved alerts are not listed) as "alertname/trunk/severity".
func amAlerts(t *testing.T, base string) []string {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var as []struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		Status      struct{ State string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&as); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		if a.Annotations["figures"] == "" || a.Annotations["description"] == "" || a.Labels["rule"] == "" {
			t.Errorf("alert without figures or description: %+v", a)
		}
		out = append(out, a.Labels["alertname"]+"/"+a.Labels["trunk"]+"/"+a.Labels["severity"]+"/"+a.Status.State)
	}
	sort.Strings(out)
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 150; i++ {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// receiver records Alertmanager's webhook notifications (checking the
// bearer credential and the payload) and trunkscope's own signed webhook.
type receiver struct {
	t               *testing.T
	amToken, secret string
	mu              sync.Mutex
	am              map[string]bool // "status alertname/trunk" from Alertmanager
	direct          []string        // "status alertname/trunk" from trunkscope
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch r.URL.Path {
	case "/am":
		if got := r.Header.Get("Authorization"); got != "Bearer "+rc.amToken {
			rc.t.Errorf("Alertmanager webhook Authorization %q", got)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p struct {
			Version, Status, Receiver string
			Alerts                    []struct {
				Status              string
				Labels, Annotations map[string]string
				StartsAt, EndsAt    time.Time
			}
		}
		if err := json.Unmarshal(body, &p); err != nil || p.Version != "4" || p.Receiver != "hook" || len(p.Alerts) == 0 {
			rc.t.Errorf("Alertmanager payload %s: %v", body, err)
		}
		for _, a := range p.Alerts {
			if a.Labels["source"] != "trunkscope" || a.Annotations["summary"] == "" || a.StartsAt.IsZero() {
				rc.t.Errorf("Alertmanager alert %+v", a)
			}
			rc.am[a.Status+" "+a.Labels["alertname"]+"/"+a.Labels["trunk"]] = true
		}
	case "/hook":
		if err := alert.VerifySignature(rc.secret, r.Header, body, time.Now(), time.Minute); err != nil {
			rc.t.Errorf("webhook signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p alert.WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil || p.Version != "1" || p.Labels["trunk"] == "" {
			rc.t.Errorf("webhook payload %s: %v", body, err)
		}
		rc.direct = append(rc.direct, p.Status+" "+p.Labels["alertname"]+"/"+p.Labels["trunk"])
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (rc *receiver) has(keys ...string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, k := range keys {
		if !rc.am[k] {
			return false
		}
	}
	return true
}

func writeCapture(t *testing.T, path string, o synth.Options) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := synth.Generate(f, o)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	tf, _ := os.Create(synth.TruthPath(path))
	truth.WriteJSON(tf)
	tf.Close()
}

func transitions(out, word string) []string {
	var got []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 5 && f[1] == word {
			got = append(got, f[3]+"/"+strings.TrimPrefix(f[4], "trunk="))
		}
	}
	sort.Strings(got)
	return got
}

// A capture with a 503 burst on carrier-a and a MOS collapse (RTP loss) on
// carrier-b fires exactly those two alerts, in Alertmanager (API v2) and
// in its webhook receiver, and on trunkscope's signed webhook; recovery
// traffic resolves both. The second evaluation is a new process: the state
// survives the restart.
func TestAlertsEndToEndWithAlertmanager(t *testing.T) { alertsEndToEnd(t, "") }

// The same with Debian's ClickHouse 18.16 server as the store.
func TestAlertsEndToEndClickHouseServer(t *testing.T) {
	addr := storetest.ServerAddr(t)
	cfg := writeConfig(t, t.TempDir(), func(s string) string {
		return strings.Replace(s, "  addrs: []            # empty: embedded chDB under the data directory", "  addrs: ["+addr+"]", 1)
	})
	alertsEndToEnd(t, cfg)
}

func alertsEndToEnd(t *testing.T, cfg string) {
	rc := &receiver{t: t, amToken: "am-bearer-token", secret: "hook-secret", am: map[string]bool{}}
	hooks := httptest.NewServer(rc)
	defer hooks.Close()
	am := startAlertmanager(t, hooks.URL+"/am", rc.amToken)

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	incident := filepath.Join(dir, "incident.pcap")
	writeCapture(t, incident, synth.Options{Calls: 1080, Seed: 31, CPS: 1.5, MeanDuration: 3 * time.Second, Start: start,
		Incidents: []synth.Incident{
			{Trunk: "carrier-a", From: 6 * time.Minute, To: 13 * time.Minute, Code: 503, Share: 0.6},
			{Trunk: "carrier-b", From: 6 * time.Minute, To: 13 * time.Minute, Loss: 0.25},
		}})
	recovery := filepath.Join(dir, "recovery.pcap")
	writeCapture(t, recovery, synth.Options{Calls: 900, Seed: 32, CPS: 1.5, MeanDuration: 3 * time.Second, Start: start.Add(12 * time.Minute)})

	alerts := []string{"alerts", "--once", "--data", data, "--alertmanager", am, "--webhook", hooks.URL + "/hook", "--webhook-secret", rc.secret}
	replay := []string{"--data", data}
	if cfg != "" {
		alerts = append(alerts, "--config", cfg)
		replay = append(replay, "--config", cfg)
	}
	mustRun(t, append([]string{"replay", incident}, replay...)...)
	r := mustRun(t, alerts...)
	want := []string{"mos_drop/carrier-b", "sip_503_spike/carrier-a"}
	if got := transitions(r.stdout, "FIRING"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("fired %v, want %v\n%s\n%s", got, want, r.stdout, r.stderr)
	}
	if got := transitions(r.stdout, "RESOLVED"); len(got) != 0 {
		t.Fatalf("resolved %v during the incident\n%s", got, r.stdout)
	}
	t.Logf("incident:\n%s", r.stdout)
	wantAM := []string{"mos_drop/carrier-b/critical/active", "sip_503_spike/carrier-a/critical/active"}
	waitFor(t, "both alerts in Alertmanager", func() bool { return strings.Join(amAlerts(t, am), " ") == strings.Join(wantAM, " ") })
	waitFor(t, "Alertmanager's firing notifications", func() bool {
		return rc.has("firing mos_drop/carrier-b", "firing sip_503_spike/carrier-a")
	})
	if resp, err := http.Get(am + "/api/v2/alerts"); err == nil {
		var v []map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		for _, a := range v {
			delete(a, "receivers")
			delete(a, "updatedAt")
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		t.Logf("GET /api/v2/alerts:\n%s", b)
	}

	mustRun(t, append([]string{"replay", recovery}, replay...)...)
	r = mustRun(t, alerts...)
	if got := transitions(r.stdout, "RESOLVED"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("resolved %v, want %v\n%s\n%s", got, want, r.stdout, r.stderr)
	}
	if got := transitions(r.stdout, "FIRING"); len(got) != 0 {
		t.Fatalf("fired %v during recovery\n%s", got, r.stdout)
	}
	t.Logf("recovery:\n%s", r.stdout)
	waitFor(t, "no alerts left in Alertmanager", func() bool { return len(amAlerts(t, am)) == 0 })
	waitFor(t, "Alertmanager's resolved notifications", func() bool {
		return rc.has("resolved mos_drop/carrier-b", "resolved sip_503_spike/carrier-a")
	})
	rc.mu.Lock()
	direct := append([]string(nil), rc.direct...)
	rc.mu.Unlock()
	sort.Strings(direct)
	wantDirect := "firing mos_drop/carrier-b firing sip_503_spike/carrier-a resolved mos_drop/carrier-b resolved sip_503_spike/carrier-a"
	if strings.Join(direct, " ") != wantDirect {
		t.Fatalf("signed webhook got %v", direct)
	}
	// A third run has nothing new to say.
	r = mustRun(t, alerts...)
	if strings.Contains(r.stdout, "FIRING") || strings.Contains(r.stdout, "RESOLVED") {
		t.Fatalf("third run:\n%s", r.stdout)
	}
}

// `run` evaluates the rules too (alerts.in_run): on a data directory that
// holds a 503 burst, the service posts the alert to the Alertmanager of its
// configuration.
func TestAlertsInsideRun(t *testing.T) {
	rc := &receiver{t: t, amToken: "tok", am: map[string]bool{}}
	hooks := httptest.NewServer(rc)
	defer hooks.Close()
	am := startAlertmanager(t, hooks.URL+"/am", rc.amToken)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	pcap := filepath.Join(dir, "burst.pcap")
	writeCapture(t, pcap, synth.Options{Calls: 500, Seed: 33, CPS: 1.5, NoRTP: true,
		Incidents: []synth.Incident{{Trunk: "carrier-a", From: 3 * time.Minute, To: 6 * time.Minute, Code: 503}}})
	mustRun(t, "replay", pcap, "--data", data)
	cfg := writeConfig(t, dir, func(s string) string {
		return s + "\nalerts:\n  alertmanager:\n    urls: [" + am + "]\n"
	})
	cmd := exec.Command(os.Args[0], "run", "--data", data, "--config", cfg)
	cmd.Env = append(os.Environ(), "TRUNKSCOPE_AS_MAIN=1")
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "the 503 alert in Alertmanager", func() bool {
		return strings.Join(amAlerts(t, am), " ") == "sip_503_spike/carrier-a/critical/active"
	})
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	if _, err := os.Stat(filepath.Join(data, "alerts", "state.json")); err != nil {
		t.Fatalf("no alert state saved by run: %v", err)
	}
}
