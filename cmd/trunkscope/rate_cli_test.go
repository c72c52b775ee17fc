package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	if !strings.HasPrefix(r.stdout, "call_id,leg,side,status,reason,trunk,customer,start_time,number,duration_ms,deck,deck_version,prefix") {
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
