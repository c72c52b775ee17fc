package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/probe/synth"
	"github.com/trunkscope/trunkscope/store"
	"github.com/trunkscope/trunkscope/store/chserver"
	"github.com/trunkscope/trunkscope/store/storetest"
)

// checkLine is one line of `dashboards check --format json`.
type checkLine struct {
	Dashboard, Panel, Error string
	OK                      bool
	Columns                 []string
	Rows                    int
	Data                    [][]string
}

func dashboardsCheck(t *testing.T, args ...string) []checkLine {
	t.Helper()
	r := trunkscope(t, nil, append([]string{"dashboards", "check", "--format", "json"}, args...)...)
	var out []checkLine
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var c checkLine
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatalf("check line %q: %v\nstderr: %s", l, err, r.stderr)
		}
		out = append(out, c)
	}
	for _, c := range out {
		if !c.OK {
			t.Errorf("%s / %s: %s", c.Dashboard, c.Panel, c.Error)
		}
	}
	if r.code != 0 && !t.Failed() {
		t.Fatalf("dashboards check exit %d with every panel ok:\n%s", r.code, r.stderr)
	}
	return out
}

// contractTables creates the active probe's tables as contracts.md
// defines them, when its migrations have not (CREATE ... IF NOT EXISTS),
// and stores a few probe results so the probe panels return rows.
func contractTables(t *testing.T, st store.Store, db string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	for _, ddl := range []string{
		`CREATE TABLE IF NOT EXISTS %s.options_pings (id String, ts DateTime('UTC'), ts_us UInt64, trunk String, target String,
			transport String, code UInt16, rtt_us UInt32, result String, state String) ENGINE = ReplacingMergeTree ORDER BY (trunk, ts_us, id)`,
		`CREATE TABLE IF NOT EXISTS %s.test_calls (id String, ts DateTime('UTC'), ts_us UInt64, trunk String, call_id String, target String,
			result String, code UInt16, pdd_ms UInt32, setup_ms UInt32, duration_ms UInt32, rx_packets UInt32, rx_lost UInt32,
			jitter_us UInt32, mos_x1000 UInt16) ENGINE = ReplacingMergeTree ORDER BY (trunk, ts_us, id)`,
	} {
		if err := st.Exec(ctx, fmt.Sprintf(ddl, db)); err != nil {
			t.Fatal(err)
		}
	}
	var pings, calls [][]any
	for i := 0; i < 6; i++ {
		ts := at.Add(time.Duration(i) * 30 * time.Second)
		for _, tr := range []string{"carrier-a", "carrier-b"} {
			code, rtt, res, state := uint16(200), uint32(12000+1000*i), "ok", "up"
			if tr == "carrier-b" && i >= 3 {
				code, rtt, res, state = 0, 0, "timeout", "down"
			}
			pings = append(pings, []any{fmt.Sprintf("p%d%s", i, tr), ts, uint64(ts.UnixMicro()), tr, "sip:" + tr, "udp", code, rtt, res, state})
		}
		calls = append(calls, []any{fmt.Sprintf("c%d", i), ts, uint64(ts.UnixMicro()), "carrier-a", fmt.Sprintf("tc%d@probe", i), "sip:echo@carrier-a",
			"answered", uint16(200), uint32(800), uint32(900), uint32(10000), uint32(500), uint32(2), uint32(1500), uint16(4300)})
	}
	if err := st.Insert(ctx, db+".options_pings", []string{"id", "ts", "ts_us", "trunk", "target", "transport", "code", "rtt_us", "result", "state"}, pings); err != nil {
		t.Fatal(err)
	}
	if err := st.Insert(ctx, db+".test_calls", []string{"id", "ts", "ts_us", "trunk", "call_id", "target", "result", "code", "pdd_ms", "setup_ms",
		"duration_ms", "rx_packets", "rx_lost", "jitter_us", "mos_x1000"}, calls); err != nil {
		t.Fatal(err)
	}
}

// nocAgainstTruth compares the NOC overview's trunk table with the
// capture's ground truth.
func nocAgainstTruth(t *testing.T, res []checkLine, truth *synth.Truth) {
	t.Helper()
	var noc *checkLine
	for i := range res {
		if res[i].Dashboard == "trunkscope / NOC overview" && res[i].Panel == "Trunks" {
			noc = &res[i]
		}
	}
	if noc == nil {
		t.Fatal("no NOC overview trunk table in the check output")
	}
	byTrunk := map[string][]synth.CallTruth{}
	for _, c := range truth.Calls {
		byTrunk[c.Trunk] = append(byTrunk[c.Trunk], c)
	}
	if len(noc.Data) != len(byTrunk) {
		t.Fatalf("NOC table has %d rows, truth %d trunks", len(noc.Data), len(byTrunk))
	}
	col := map[string]int{}
	for i, c := range noc.Columns {
		col[c] = i
	}
	for _, row := range noc.Data {
		get := func(c string) float64 {
			v, err := strconv.ParseFloat(row[col[c]], 64)
			if err != nil {
				t.Fatalf("column %s: %v", c, err)
			}
			return v
		}
		trunk := row[col["trunk"]]
		calls := byTrunk[trunk]
		want := handKPI(calls)
		peak := truthPeak(calls)
		near := func(name string, got, want, tol float64) {
			if math.Abs(got-want) > tol {
				t.Errorf("NOC %s %s = %v, truth %v", trunk, name, got, want)
			}
		}
		near("attempts", get("attempts"), float64(want.Attempts), 0)
		near("answered", get("answered"), float64(want.Answered), 0)
		near("asr", get("asr"), *want.ASR, 1e-9)
		near("ner", get("ner"), *want.NER, 1e-9)
		near("acd_s", get("acd_s"), float64(want.ConnectedMs)/float64(want.Answered)/1000, 1e-6)
		near("c503", get("c503"), float64(want.C503), 0)
		near("c408", get("c408"), float64(want.C408), 0)
		near("r503", get("r503"), float64(want.C503)/float64(want.Attempts), 1e-9)
		near("pdd_s", get("pdd_s"), float64(truthPDDSum(calls))/float64(want.PDDCount)/1000, 1e-6)
		near("peak_concurrent", get("peak_concurrent"), float64(peak), 0)
		if m := get("mos"); m < 4 || m > 4.5 {
			t.Errorf("NOC %s mos = %v, want a clean G.711 call's (4.0-4.5)", trunk, m)
		}
		if ch := get("channels"); ch == 0 || math.Abs(get("utilisation")-float64(peak)/ch) > 1e-9 {
			t.Errorf("NOC %s utilisation %v of %v channels, peak %d", trunk, get("utilisation"), ch, peak)
		}
	}
}

func truthPDDSum(calls []synth.CallTruth) (s int64) {
	for _, c := range calls {
		if c.PDDMs >= 0 {
			s += c.PDDMs
		}
	}
	return s
}

// truthPeak is the most legs in progress at once (INVITE to end; an end
// and a start at the same instant do not overlap).
func truthPeak(calls []synth.CallTruth) int {
	type edge struct {
		us int64
		d  int
	}
	var es []edge
	for _, c := range calls {
		es = append(es, edge{c.StartUS, 1}, edge{max(c.EndUS, c.StartUS), -1})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].us < es[j].us || (es[i].us == es[j].us && es[i].d < es[j].d) })
	cur, peak := 0, 0
	for _, e := range es {
		cur += e.d
		peak = max(peak, cur)
	}
	return peak
}

func checkedAll(t *testing.T, res []checkLine) {
	t.Helper()
	panels := map[string]bool{}
	for _, r := range res {
		panels[r.Dashboard] = true
		if r.OK && r.Rows == 0 && r.Panel != "One-way audio calls" && r.Panel != "Reason causes" && r.Panel != "By customer" &&
			r.Dashboard != "Grafana alert rules" {
			t.Errorf("%s / %s returned no rows", r.Dashboard, r.Panel)
		}
	}
	if len(panels) != 7 {
		t.Errorf("checked %d dashboards and the alert rules, want 6 and the rules", len(panels))
	}
}

// Every panel of every dashboard runs on chDB after a generated replay,
// returns its columns, and the NOC overview equals the ground truth.
func TestDashboardsCheckChDB(t *testing.T) {
	dir := t.TempDir()
	pcap, data := filepath.Join(dir, "calls.pcap"), filepath.Join(dir, "data")
	mustRun(t, "gen", "--calls", "160", "--seed", "21", "--mean-duration", "4s", "--out", pcap)
	mustRun(t, "replay", pcap, "--data", data)
	truth := loadTruth(t, pcap)
	st, err := store.OpenEmbedded(filepath.Join(data, "clickhouse"))
	if err != nil {
		t.Fatal(err)
	}
	contractTables(t, st, "trunkscope", truth.Start)
	st.Close()
	res := dashboardsCheck(t, "--data", data)
	checkedAll(t, res)
	nocAgainstTruth(t, res, truth)
	// The table output says ok per panel, with columns and times.
	out := mustRun(t, "dashboards", "check", "--data", data)
	if !strings.Contains(out.stdout, "NOC overview") || !strings.Contains(out.stdout, " ok ") {
		t.Fatalf("check table:\n%s", out.stdout)
	}
	t.Logf("dashboards check:\n%s", out.stdout)
}

// The same against Debian's ClickHouse 18.16 server.
func TestDashboardsCheckClickHouseServer(t *testing.T) {
	addr := storetest.ServerAddr(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, func(s string) string {
		return strings.Replace(s, "  addrs: []            # empty: embedded chDB under the data directory", "  addrs: ["+addr+"]", 1)
	})
	pcap, data := filepath.Join(dir, "calls.pcap"), filepath.Join(dir, "data")
	mustRun(t, "gen", "--calls", "160", "--seed", "21", "--mean-duration", "4s", "--out", pcap)
	mustRun(t, "replay", pcap, "--data", data, "--config", cfg)
	truth := loadTruth(t, pcap)
	st, err := chserver.Open(context.Background(), chserver.Options{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	contractTables(t, st, "trunkscope", truth.Start)
	st.Close()
	res := dashboardsCheck(t, "--data", data, "--config", cfg)
	checkedAll(t, res)
	nocAgainstTruth(t, res, truth)
}

// A missing contract table fails check with a message that names it.
func TestDashboardsCheckMissingProbeTables(t *testing.T) {
	dir := t.TempDir()
	pcap, data := filepath.Join(dir, "calls.pcap"), filepath.Join(dir, "data")
	mustRun(t, "gen", "--calls", "20", "--seed", "3", "--no-rtp", "--out", pcap)
	mustRun(t, "replay", pcap, "--data", data)
	st, err := store.OpenEmbedded(filepath.Join(data, "clickhouse"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range []string{"options_pings", "test_calls"} {
		if err := st.Exec(context.Background(), "DROP TABLE IF EXISTS trunkscope."+tb); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	r := trunkscope(t, nil, "dashboards", "check", "--data", data)
	if r.code != exitError || !strings.Contains(r.stdout, "table trunkscope.options_pings does not exist") ||
		!strings.Contains(r.stderr, "panels failed") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// generate is deterministic and writes every file; push sends them to a
// Grafana API (a recording server here: no Grafana can be installed).
func TestDashboardsGenerateAndPushCommands(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	mustRun(t, "dashboards", "generate", "--out", a)
	mustRun(t, "dashboards", "generate", "--out", b)
	n := 0
	filepath.Walk(a, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		n++
		rel, _ := filepath.Rel(a, p)
		x, _ := os.ReadFile(p)
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs: %v", rel, err)
		}
		return nil
	})
	if n != 9 {
		t.Fatalf("%d files generated, want 6 dashboards and 3 provisioning files", n)
	}
	var mu sync.Mutex
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Method == http.MethodGet || (r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/alert-rules/")) {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		io.WriteString(w, `{"status":"success"}`)
	}))
	defer srv.Close()
	mustRun(t, "dashboards", "push", "--grafana", srv.URL, "--token", "glsa_x")
	if len(calls) != 1+1+6+2*6+1 || !strings.HasSuffix(calls[0], "Bearer glsa_x") ||
		!strings.HasPrefix(calls[len(calls)-1], "PUT /api/v1/provisioning/folder/trunkscope/rule-groups/trunkscope") {
		t.Fatalf("push requests:\n%s", strings.Join(calls, "\n"))
	}
	if r := trunkscope(t, []string{"GRAFANA_TOKEN="}, "dashboards", "push", "--grafana", srv.URL); r.code != exitUsage {
		t.Fatalf("push without a token: exit %d", r.code)
	}
}
