package dashboards

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/dashboards/macros"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func generate(t *testing.T) *Bundle {
	t.Helper()
	cfg := config.Default()
	b, err := Generate(cfg, FromConfig(cfg), ProvisionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The generated files equal the reviewed golden files byte for byte
// (go test ./dashboards -run Golden -update rewrites them).
func TestGolden(t *testing.T) {
	b := generate(t)
	golden := filepath.Join("testdata", "golden")
	if *update {
		os.RemoveAll(golden)
		if err := b.Write(golden); err != nil {
			t.Fatal(err)
		}
	}
	var onDisk []string
	filepath.Walk(golden, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(golden, p)
			onDisk = append(onDisk, filepath.ToSlash(rel))
		}
		return nil
	})
	var want []string
	for p := range b.Files {
		want = append(want, p)
	}
	sort.Strings(want)
	if strings.Join(onDisk, " ") != strings.Join(want, " ") {
		t.Fatalf("golden files %v, generated %v", onDisk, want)
	}
	for _, p := range want {
		g, err := os.ReadFile(filepath.Join(golden, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(g, b.Files[p]) {
			t.Errorf("%s differs from its golden file (run with -update after review)", p)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, b := generate(t), generate(t)
	for p, x := range a.Files {
		if !bytes.Equal(x, b.Files[p]) {
			t.Errorf("%s: two generations differ", p)
		}
	}
}

// collect walks a decoded JSON/YAML value and calls f on every map.
func collect(v any, f func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		f(x)
		for _, y := range x {
			collect(y, f)
		}
	case []any:
		for _, y := range x {
			collect(y, f)
		}
	}
}

// The provisioning files parse, and every datasource reference (panels,
// targets, variables, alert queries) is the provisioned datasource.
func TestProvisioningAndDatasourceUIDs(t *testing.T) {
	b := generate(t)
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, UID, Type string
			JSONData        map[string]any `yaml:"jsonData"`
		}
	}
	if err := yaml.Unmarshal(b.Files["provisioning/datasources/trunkscope.yaml"], &ds); err != nil {
		t.Fatal(err)
	}
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 || ds.Datasources[0].Type != PluginID || ds.Datasources[0].JSONData["protocol"] != "native" {
		t.Fatalf("datasource file: %+v", ds)
	}
	uid := ds.Datasources[0].UID
	var prov struct {
		Providers []struct {
			Name, Type string
			FolderUID  string            `yaml:"folderUid"`
			Options    map[string]string `yaml:"options"`
		}
	}
	if err := yaml.Unmarshal(b.Files["provisioning/dashboards/trunkscope.yaml"], &prov); err != nil {
		t.Fatal(err)
	}
	if len(prov.Providers) != 1 || prov.Providers[0].Type != "file" || prov.Providers[0].Options["path"] == "" || prov.Providers[0].FolderUID != FolderUID {
		t.Fatalf("provider file: %+v", prov)
	}
	var rules struct {
		APIVersion int `yaml:"apiVersion"`
		Groups     []struct {
			Name, Folder, Interval string
			Rules                  []map[string]any
		}
	}
	if err := yaml.Unmarshal(b.Files["provisioning/alerting/trunkscope.yaml"], &rules); err != nil {
		t.Fatal(err)
	}
	if len(rules.Groups) != 1 || len(rules.Groups[0].Rules) != len(config.DefaultAlerts().Rules) || rules.Groups[0].Interval != "1m" {
		t.Fatalf("alert rules file: %+v", rules)
	}
	refs := 0
	check := func(where string, v any) {
		collect(v, func(m map[string]any) {
			if d, ok := m["datasource"].(map[string]any); ok && d["type"] != "__expr__" {
				refs++
				if d["uid"] != uid || d["type"] != PluginID {
					t.Errorf("%s: datasource %v, want uid %s", where, d, uid)
				}
			}
			if u, ok := m["datasourceUid"]; ok && u != "__expr__" {
				refs++
				if u != uid {
					t.Errorf("%s: datasourceUid %v, want %s", where, u, uid)
				}
			}
		})
	}
	check("alert rules", rules.Groups[0].Rules)
	for _, r := range rules.Groups[0].Rules {
		if r["condition"] != "B" || r["uid"] == "" || r["for"] == "" {
			t.Errorf("rule %v", r)
		}
	}
	for _, d := range b.Dashboards {
		var m map[string]any
		if err := json.Unmarshal(d.JSON, &m); err != nil {
			t.Fatalf("%s: %v", d.UID, err)
		}
		if m["uid"] != d.UID || m["title"] == "" {
			t.Errorf("%s: uid %v", d.UID, m["uid"])
		}
		check(d.UID, m)
		// Every target is the plugin's SQL-editor query model.
		collect(m["panels"], func(p map[string]any) {
			if ts, ok := p["targets"].([]any); ok {
				for _, x := range ts {
					q := x.(map[string]any)
					if q["editorType"] != "sql" || q["rawSql"] == "" || (q["format"] != 0.0 && q["format"] != 1.0) {
						t.Errorf("%s: target %v", d.UID, q)
					}
				}
			}
		})
	}
	if refs < 40 {
		t.Fatalf("only %d datasource references checked", refs)
	}
}

// Panel SQL uses only the allowed macros, and expands without error.
func TestPanelMacros(t *testing.T) {
	cfg := config.Default()
	bad := regexp.MustCompile(`\$__(timeInterval|[A-Za-z]+_ms)`)
	r := macros.TimeRange{From: time.Unix(1767603600, 0), To: time.Unix(1767607200, 0), Interval: time.Minute}
	n := 0
	for _, d := range Specs(FromConfig(cfg)) {
		for _, p := range d.Panels {
			n++
			if bad.MatchString(p.SQL) {
				t.Errorf("%s / %s uses a macro ClickHouse 18.16 cannot run", d.Title, p.Title)
			}
			q, err := macros.Expand(macros.ExpandVariables(p.SQL, map[string]string{"trunk": "x", "direction": "outbound"}), r)
			if err != nil || strings.Contains(q, "$") {
				t.Errorf("%s / %s: %v\n%s", d.Title, p.Title, err, q)
			}
		}
	}
	if n < 30 {
		t.Fatalf("%d panels", n)
	}
}
