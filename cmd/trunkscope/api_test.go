package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads /metrics and parses it with Prometheus's own text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not valid Prometheus text: %v", err)
	}
	return fams
}

// value returns the sample of family name whose labels include want
// (counter, gauge, or a histogram's count); -1 when absent.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// awaitAPI waits for the service to advertise its API in the data
// directory and returns its URL.
func awaitAPI(t *testing.T, data string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(data, apiEndpointFile)); err == nil {
			var ep apiEndpoint
			if json.Unmarshal(b, &ep) == nil && ep.URL != "" {
				return ep.URL
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the service did not advertise its API")
	return ""
}

// The service's API on loopback: /metrics parsed by the Prometheus parser
// with counters moving as events flow, /readyz, the bearer token, and the
// ladder and pcap commands reading through the API while the service owns
// the data directory (and the store directly once it stopped).
func TestServiceAPI(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "calls.pcap")
	mustRun(t, "gen", "--calls", "40", "--seed", "7", "--no-rtp", "--out", pcap)
	evs := captureEvents(t, pcap)
	data := filepath.Join(dir, "data")
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte("s3cret\n"), 0o600)
	cmd, _, brokers := startService(t, "run", "--data", data, "--api-token-file", tokFile)
	url := awaitAPI(t, data)

	sip := map[string]string{"topic": "trunkscope.sip"}
	consumed := func(f map[string]*dto.MetricFamily) float64 {
		return max(value(f, "trunkscope_collector_topic_events_consumed_total", sip), 0)
	}
	before := scrape(t, url)
	if v := value(before, "trunkscope_collector_open_dialogs", nil); v != 0 {
		t.Fatalf("open dialogs before traffic: %v", v)
	}
	half := len(evs) / 2
	// Cut between calls: the first half's calls whole.
	for half < len(evs) && string(evs[half].Method) != "INVITE" {
		half++
	}
	waitFor := func(n int) map[string]*dto.MetricFamily {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			f := scrape(t, url)
			if consumed(f) >= float64(n) && value(f, "trunkscope_collector_events_stored_total", nil) >= float64(n) {
				return f
			}
			if time.Now().After(deadline) {
				t.Fatalf("consumed %v events, want %d", consumed(f), n)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	publish(t, brokers, evs[:half])
	mid := waitFor(half)
	publish(t, brokers, evs[half:])
	after := waitFor(len(evs))
	if consumed(mid) != float64(half) || consumed(after) != float64(len(evs)) {
		t.Errorf("per-topic consumed: %v then %v, want %d then %d", consumed(mid), consumed(after), half, len(evs))
	}
	if a, b := value(after, "trunkscope_collector_events_consumed_total", nil), value(mid, "trunkscope_collector_events_consumed_total", nil); a <= b {
		t.Errorf("events consumed did not move: %v -> %v", b, a)
	}
	if value(after, "trunkscope_store_insert_seconds", map[string]string{"table": "sip_events"}) <=
		value(mid, "trunkscope_store_insert_seconds", map[string]string{"table": "sip_events"}) {
		t.Errorf("insert latency histogram did not move")
	}
	for _, name := range []string{"trunkscope_collector_lag_events", "trunkscope_collector_rating_backlog", "trunkscope_collector_open_dialogs"} {
		if value(after, name, nil) < 0 {
			t.Errorf("no %s", name)
		}
	}
	if value(after, "trunkscope_collector_drops_total", map[string]string{"reason": "undecodable_event"}) != 0 {
		t.Errorf("drops: %v", value(after, "trunkscope_collector_drops_total", map[string]string{"reason": "undecodable_event"}))
	}
	// Readiness: broker, store, lag.
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"lag": "ok"`) {
		t.Fatalf("readyz %d: %s", resp.StatusCode, body)
	}
	// The JSON API needs the token.
	resp, err = http.Get(url + "/api/v1/cdrs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	callID := string(evs[0].CallID)
	tok := []string{"TRUNKSCOPE_API_TOKEN=s3cret"}
	var viaAPI result
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The call's CDR is stored once the collector flushes.
		viaAPI = trunkscope(t, tok, "ladder", callID, "--data", data)
		if viaAPI.code == 0 && strings.Contains(viaAPI.stdout, "leg 0") || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if viaAPI.code != 0 || !strings.Contains(viaAPI.stdout, "INVITE") {
		t.Fatalf("ladder through the API: exit %d\n%s\n%s", viaAPI.code, viaAPI.stdout, viaAPI.stderr)
	}
	if r := trunkscope(t, tok, "ladder", callID, "--api", url, "--data", t.TempDir()); r.code != 0 || r.stdout != viaAPI.stdout {
		t.Fatalf("ladder with --api: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	pcapAPI := filepath.Join(dir, "api.pcap")
	if r := trunkscope(t, tok, "call", "pcap", callID, "--data", data, "--out", pcapAPI); r.code != 0 {
		t.Fatalf("call pcap through the API: %s", r.stderr)
	}
	if r := trunkscope(t, nil, "ladder", callID, "--data", data); r.code != exitError || !strings.Contains(r.stderr, "bearer token") {
		t.Fatalf("ladder without the token: exit %d: %s", r.code, r.stderr)
	}
	stopService(t, cmd)
	if _, err := os.Stat(filepath.Join(data, apiEndpointFile)); !os.IsNotExist(err) {
		t.Errorf("api.json left behind after the service stopped: %v", err)
	}
	direct := mustRun(t, "ladder", callID, "--data", data)
	if direct.stdout != viaAPI.stdout {
		t.Errorf("ladder from the store differs from the ladder through the API:\n%s\n---\n%s", direct.stdout, viaAPI.stdout)
	}
	pcapDirect := filepath.Join(dir, "direct.pcap")
	mustRun(t, "call", "pcap", callID, "--data", data, "--out", pcapDirect)
	a, _ := os.ReadFile(pcapAPI)
	b, _ := os.ReadFile(pcapDirect)
	if len(a) < 100 || string(a) != string(b) {
		t.Errorf("pcap through the API (%d bytes) differs from the direct one (%d bytes)", len(a), len(b))
	}
}

// With TLS the API answers HTTPS; with the API off, commands that need the
// data directory fail with the "in use by PID" error.
func TestServiceAPITLSAndInUse(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	data := filepath.Join(dir, "data")
	cmd, _, _ := startService(t, "run", "--data", data, "--api-tls-cert", cert, "--api-tls-key", key)
	url := awaitAPI(t, data)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("API URL %s", url)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("healthz over TLS: %d", resp.StatusCode)
	}
	stopService(t, cmd)

	cmd, _, _ = startService(t, "run", "--data", data, "--api-listen", "off")
	r := trunkscope(t, nil, "ladder", "some-call", "--data", data)
	if r.code != exitError || !strings.Contains(r.stderr, "in use by PID "+itoa(cmd.Process.Pid)) {
		t.Fatalf("ladder on a busy data directory: exit %d: %s", r.code, r.stderr)
	}
	r = trunkscope(t, nil, "rebuild", "--data", data)
	if r.code != exitError || !strings.Contains(r.stderr, "in use by PID") {
		t.Fatalf("rebuild on a busy data directory: exit %d: %s", r.code, r.stderr)
	}
	stopService(t, cmd)
}

func itoa(n int) string { return strconv.Itoa(n) }

func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}
