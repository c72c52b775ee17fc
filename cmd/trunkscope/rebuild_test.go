package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// After a replay, a rebuild of the full range with the same code and
// configuration changes nothing: same CDRs, same KPIs. After a trunk's
// digit rules change, it changes exactly the legs of that trunk whose
// numbers normalise differently, and says which.
func TestRebuild(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "calls.pcap")
	mustRun(t, "gen", "--calls", "300", "--seed", "11", "--out", pcap)
	data := filepath.Join(dir, "data")
	mustRun(t, "replay", pcap, "--data", data)
	before := exportAll(t, data)
	kpiBefore := mustRun(t, "kpi", "--data", data, "--by", "carrier-destination").stdout

	r := mustRun(t, "rebuild", "--data", data)
	if !strings.Contains(r.stdout, "no CDR changed") || !strings.Contains(r.stdout, " 0 changed, 0 new") ||
		strings.Contains(r.stdout, "(changed)") {
		t.Fatalf("rebuild with unchanged code:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "100%") {
		t.Errorf("no progress bar on stderr: %q", r.stderr)
	}
	if m := regexp.MustCompile(`legs: (\d+) rebuilt, (\d+) unchanged`).FindStringSubmatch(r.stdout); m == nil || m[1] != m[2] || m[1] == "0" {
		t.Fatalf("legs line: %s", r.stdout)
	}
	after := exportAll(t, data)
	if !reflect.DeepEqual(before, after) {
		t.Fatal("CDRs differ after a rebuild with unchanged code")
	}
	if k := mustRun(t, "kpi", "--data", data, "--by", "carrier-destination").stdout; k != kpiBefore {
		t.Fatalf("KPIs differ after a rebuild:\n%s\n---\n%s", kpiBefore, k)
	}

	// carrier-b now sends a technical prefix 49 to strip (a digit rule).
	cfg := strings.Replace(string(mustRun(t, "config", "defaults").stdout), "  - name: carrier-b\n",
		"  - name: carrier-b\n    numbering: {strip: \"49\"}\n", 1)
	if !strings.Contains(cfg, `strip: "49"`) {
		t.Fatal("config edit did not apply")
	}
	os.MkdirAll(filepath.Join(dir, "decks"), 0o755)
	for _, d := range []string{"carrier-a", "carrier-b", "carrier-c", "did-in"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "config", "defaults", "decks", d+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "decks", d+".csv"), b, 0o644)
	}
	cfgFile := filepath.Join(dir, "digits.yml")
	os.WriteFile(cfgFile, []byte(cfg), 0o644)
	r = mustRun(t, "rebuild", "--data", data, "--config", cfgFile, "--show", "100000")
	// Destinations moved between rollup groups; the totals did not move.
	if m := regexp.MustCompile(`attempts\s+(\d+) -> (\d+)`).FindStringSubmatch(r.stdout); m == nil || m[1] != m[2] {
		t.Fatalf("attempts changed with the digit rule:\n%s", r.stdout)
	}
	changed := exportAll(t, data)
	want := map[string]bool{}
	byKey := map[string]map[string]any{}
	for _, c := range before {
		byKey[fmt.Sprint(c["call_id"], "/", c["leg"])] = c
	}
	for _, c := range changed {
		k := fmt.Sprint(c["call_id"], "/", c["leg"])
		old := byKey[k]
		if old["caller_e164"] != c["caller_e164"] || old["callee_e164"] != c["callee_e164"] {
			if c["trunk"] != "carrier-b" {
				t.Errorf("%s on %s changed numbers: %v -> %v", k, c["trunk"], old["callee_e164"], c["callee_e164"])
			}
			want[k] = true
		}
	}
	if len(want) == 0 {
		t.Fatal("the digit rule changed no leg: the test proves nothing")
	}
	got := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  (\S+) leg (\d+): .*e164`).FindAllStringSubmatch(r.stdout, -1) {
		got[m[1]+"/"+m[2]] = true
	}
	if !sameKeys(got, want) {
		t.Fatalf("rebuild reported %d changed legs, %d changed numbers:\nreported %v\nchanged %v\n%s", len(got), len(want), keys(got), keys(want), r.stdout)
	}
	if !strings.Contains(r.stdout, itoa(len(want))+" changed, 0 new") {
		t.Fatalf("summary does not say %d changed:\n%s", len(want), r.stdout)
	}
	// Once applied, the same configuration changes nothing more.
	if r := mustRun(t, "rebuild", "--data", data, "--config", cfgFile); !strings.Contains(r.stdout, "no CDR changed") {
		t.Fatalf("second rebuild:\n%s", r.stdout)
	}
}

// exportAll reads every column of `cdr export --format jsonl`.
func exportAll(t *testing.T, data string) []map[string]any {
	t.Helper()
	r := mustRun(t, "cdr", "export", "--data", data, "--format", "jsonl")
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		out = append(out, m)
	}
	return out
}

func sameKeys(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
