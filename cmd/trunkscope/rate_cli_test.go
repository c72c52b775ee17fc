package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trunkscope/trunkscope/rating"
)

// TestRateCLI drives `trunkscope rate` as a process on the embedded store:
// imports (carrier and CGRateS), refusals with line numbers, quotes built
// from the imported versions, period close, export and summary.
func TestRateCLI(t *testing.T) {
	data := t.TempDir()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("prefix,rate,increments\n44,0.01,60/60\n44,0.02,60/60\n447,-1,60/60\n33,0.01,60/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := trunkscope(t, nil, "rate", "import", bad, "--deck", "carrier-a", "--data", data)
	if r.code != exitError || !strings.Contains(r.stderr, "line 3") || !strings.Contains(r.stderr, "line 4") ||
		!strings.Contains(r.stderr, "line 5") || !strings.Contains(r.stderr, "3 invalid rows") {
		t.Fatalf("bad deck: exit %d\n%s", r.code, r.stderr)
	}
	r = mustRun(t, "rate", "import", bad, "--deck", "carrier-a", "--skip-invalid", "--data", data)
	if !strings.Contains(r.stdout, "1 rows, 3 skipped") {
		t.Errorf("skip-invalid: %s", r.stdout)
	}
	// The imported version (0.01 for 44, 60/60) now prices carrier-a.
	r = mustRun(t, "rate", "quote", "--deck", "carrier-a", "--destination", "+442079460000", "--start", "2026-11-03T12:00:00Z", "--duration", "61s", "--data", data)
	if !strings.Contains(r.stdout, "cost        0.0200 EUR") || !strings.Contains(r.stdout, "billable    120 s") {
		t.Errorf("quote on the imported deck:\n%s", r.stdout)
	}

	r = mustRun(t, "rate", "import", "../../rating/testdata/cgrates/tutorial", "--deck", "tutorial", "--format", "cgrates", "--data", data)
	if !strings.Contains(r.stdout, "deck tutorial version") {
		t.Errorf("cgrates import: %s", r.stdout)
	}
	r = mustRun(t, "rate", "quote", "--deck", "tutorial", "--subject", "1002", "--destination", "1002",
		"--start", "2014-08-04T13:00:00Z", "--duration", "1m25s", "--data", data)
	for _, want := range []string{"cost         0.3208 EUR", "connect fee  0.2", "25 x 0.00083 (increment 1s)", "prefix       1002 (DST_1002) on RP_1002"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("cgrates quote lacks %q:\n%s", want, r.stdout)
		}
	}

	if r := trunkscope(t, nil, "rate", "close", "--period", "2026-13", "--data", data); r.code != exitUsage {
		t.Errorf("bad period: exit %d", r.code)
	}
	mustRun(t, "rate", "close", "--period", "2026-11", "--data", data)
	r = mustRun(t, "rate", "rerate", "--from", "2026-11-01", "--to", "2026-12-01", "--data", data)
	if !strings.Contains(r.stdout, "0 calls re-priced, 0 changed") {
		t.Errorf("rerate of an empty period: %s", r.stdout)
	}
	r = mustRun(t, "rate", "export", "--from", "2026-11-01", "--to", "2026-12-01", "--data", data)
	if !strings.HasPrefix(r.stdout, "call_id,leg,side,status,reason,trunk,customer,start_time,number,billed_from,duration_ms,deck,deck_version,prefix") {
		t.Errorf("export header: %q", r.stdout)
	}
	mustRun(t, "rate", "summary", "--by", "day", "--from", "2026-11-01", "--to", "2026-12-01", "--data", data)
	if r := trunkscope(t, nil, "rate", "summary", "--by", "planet", "--data", data); r.code != exitUsage {
		t.Errorf("bad --by: exit %d", r.code)
	}
	if r := mustRun(t, "rate", "--help"); !strings.Contains(r.stdout, "rerate --from --to") {
		t.Errorf("help: %s", r.stdout)
	}
}

// TestRatePipelineReconciles runs calls through the whole pipeline (demo:
// capture, probe, Kafka, collector with continuous rating, chDB) with a
// customer and a channel fee configured, then checks that every rated row
// has both sides, and that `rate summary` totals equal the sum of
// `rate export` to the smallest unit.
func TestRatePipelineReconciles(t *testing.T) {
	dir := t.TempDir()
	defaults := mustRun(t, "config", "defaults").stdout
	cfg := defaults + `  - name: retail
    file: retail.csv
    currency: EUR
    decimals: 4
    timezone: Europe/Amsterdam
    bands: {peak: "Mon-Fri 08:00-18:00"}

rating:
  reporting_zone: Europe/Amsterdam
  customers:
    - {name: acme, deck: retail, callers: ["31"]}
  channel_fees:
    - {trunk: carrier-a, monthly_per_channel: "2.50", currency: EUR}
`
	files := map[string]string{
		"trunkscope.yml": cfg,
		"retail.csv": "prefix,destination,rate,connect_fee,increments,band\n1,US,0.0150,0,60/60,\n1,US,0.0200,0,60/60,peak\n" +
			"3,Europe,0.0250,0,60/60,\n44,UK,0.0250,0,60/60,\n44,UK,0.0300,0,60/60,peak\n4,Europe,0.0250,0,1/1,\n",
	}
	for _, deck := range []string{"carrier-a", "carrier-b", "carrier-c", "did-in"} {
		b, err := os.ReadFile("../../config/defaults/decks/" + deck + ".csv")
		if err != nil {
			t.Fatal(err)
		}
		files["decks/"+deck+".csv"] = string(b)
	}
	for name, s := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "trunkscope.yml")
	data := filepath.Join(dir, "data")
	mustRun(t, "demo", "--calls", "60", "--config", conf, "--data", data)

	r := mustRun(t, "rate", "export", "--format", "jsonl", "--config", conf, "--data", data)
	sums := map[string]int64{}
	rows := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var row map[string]string
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		rows++
		if row["status"] != "rated" {
			t.Errorf("unrated row in the demo: %v", row)
			continue
		}
		whole, frac, _ := strings.Cut(row["amount"], ".")
		units, err := strconv.ParseInt(whole+frac, 10, 64)
		if err != nil || len(frac) != 4 {
			t.Fatalf("amount %q: want 4 decimals", row["amount"])
		}
		sums[row["side"]] += units
	}
	if rows == 0 || sums["price"] == 0 || sums["cost"] == 0 {
		t.Fatalf("%d rows, sums %v: want cost and price rows", rows, sums)
	}
	t.Logf("%d rated rows, sums %v", rows, sums)
	r = mustRun(t, "rate", "summary", "--by", "customer", "--config", conf, "--data", data)
	for side, units := range sums {
		want := rating.Amount{Units: units, Decimals: 4}.String()
		found := false
		for _, line := range strings.Split(r.stdout, "\n") {
			f := strings.Fields(line)
			if len(f) == 4 && f[0] == "TOTAL" && f[1] == side && f[2] == want {
				found = true
			}
		}
		if !found {
			t.Errorf("summary lacks TOTAL %s %s:\n%s", side, want, r.stdout)
		}
	}
}
