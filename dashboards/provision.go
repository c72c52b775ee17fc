package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/alerting"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"gopkg.in/yaml.v3"

	"github.com/trunkscope/trunkscope/alert"
	"github.com/trunkscope/trunkscope/config"
)

// Folder and rule group the dashboards and alert rules live in.
const (
	FolderUID   = "trunkscope"
	FolderTitle = "trunkscope"
	RuleGroup   = "trunkscope"
)

// Bundle is everything generate writes: dashboards, the Grafana alert
// rules (API model) and the provisioning files.
type Bundle struct {
	Dashboards []Generated
	Rules      []alerting.Rule
	Interval   time.Duration
	// Files maps relative paths to contents.
	Files map[string][]byte
}

// FromConfig derives the options from a trunkscope configuration.
func FromConfig(cfg *config.Config) Options {
	o := Options{Database: cfg.ClickHouse.Database}
	for _, t := range cfg.Trunks {
		o.Trunks = append(o.Trunks, Trunk{Name: t.Name, Channels: t.Channels})
	}
	return o
}

// ProvisionOptions say where Grafana finds things.
type ProvisionOptions struct {
	// DashboardsPath is where Grafana reads the dashboard JSON files.
	DashboardsPath string
}

// Generate builds the bundle for a configuration.
func Generate(cfg *config.Config, o Options, po ProvisionOptions) (*Bundle, error) {
	o = o.withDefaults()
	if po.DashboardsPath == "" {
		po.DashboardsPath = "/var/lib/grafana/dashboards/trunkscope"
	}
	ds, err := Build(o)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Dashboards: ds, Interval: cfg.Alerts.Interval, Files: map[string][]byte{}}
	for _, d := range ds {
		b.Files["dashboards/"+d.UID+".json"] = d.JSON
	}
	b.Rules, err = GrafanaRules(o, alert.Rules(cfg.Alerts))
	if err != nil {
		return nil, err
	}
	if b.Files["provisioning/datasources/trunkscope.yaml"], err = datasourceFile(cfg, o); err != nil {
		return nil, err
	}
	if b.Files["provisioning/dashboards/trunkscope.yaml"], err = providerFile(po); err != nil {
		return nil, err
	}
	if b.Files["provisioning/alerting/trunkscope.yaml"], err = rulesFile(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Write puts the bundle's files under dir.
func (b *Bundle) Write(dir string) error {
	paths := make([]string, 0, len(b.Files))
	for p := range b.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, b.Files[p], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func yamlBytes(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// datasourceFile provisions the ClickHouse plugin's datasource (native
// protocol) with the UID every panel and rule refers to. The password
// comes from Grafana's environment, never from the file.
func datasourceFile(cfg *config.Config, o Options) ([]byte, error) {
	host, port := "clickhouse", 9000
	if len(cfg.ClickHouse.Addrs) > 0 {
		h, p, err := net.SplitHostPort(cfg.ClickHouse.Addrs[0])
		if err == nil {
			host = h
			if n, err := strconv.Atoi(p); err == nil {
				port = n
			}
		}
	}
	user := cfg.ClickHouse.User
	if user == "" {
		user = "default"
	}
	type jsonData struct {
		Host            string `yaml:"host"`
		Port            int    `yaml:"port"`
		Protocol        string `yaml:"protocol"`
		Secure          bool   `yaml:"secure"`
		Username        string `yaml:"username"`
		DefaultDatabase string `yaml:"defaultDatabase"`
	}
	type dsrc struct {
		Name           string            `yaml:"name"`
		UID            string            `yaml:"uid"`
		Type           string            `yaml:"type"`
		Access         string            `yaml:"access"`
		IsDefault      bool              `yaml:"isDefault"`
		Editable       bool              `yaml:"editable"`
		JSONData       jsonData          `yaml:"jsonData"`
		SecureJSONData map[string]string `yaml:"secureJsonData"`
	}
	return yamlBytes(struct {
		APIVersion  int    `yaml:"apiVersion"`
		Datasources []dsrc `yaml:"datasources"`
	}{1, []dsrc{{Name: "trunkscope ClickHouse", UID: o.DatasourceUID, Type: PluginID, Access: "proxy", IsDefault: true,
		JSONData:       jsonData{Host: host, Port: port, Protocol: "native", Secure: cfg.ClickHouse.TLS.Enabled, Username: user, DefaultDatabase: o.Database},
		SecureJSONData: map[string]string{"password": "${TRUNKSCOPE_CLICKHOUSE_PASSWORD}"}}}})
}

func providerFile(po ProvisionOptions) ([]byte, error) {
	type provider struct {
		Name                  string            `yaml:"name"`
		OrgID                 int               `yaml:"orgId"`
		Folder                string            `yaml:"folder"`
		FolderUID             string            `yaml:"folderUid"`
		Type                  string            `yaml:"type"`
		DisableDeletion       bool              `yaml:"disableDeletion"`
		AllowUIUpdates        bool              `yaml:"allowUiUpdates"`
		UpdateIntervalSeconds int               `yaml:"updateIntervalSeconds"`
		Options               map[string]string `yaml:"options"`
	}
	return yamlBytes(struct {
		APIVersion int        `yaml:"apiVersion"`
		Providers  []provider `yaml:"providers"`
	}{1, []provider{{Name: "trunkscope", OrgID: 1, Folder: FolderTitle, FolderUID: FolderUID, Type: "file",
		UpdateIntervalSeconds: 30, Options: map[string]string{"path": po.DashboardsPath}}}})
}

// exprModel is a server-side expression (threshold) as a rule query model.
func exprModel(refID, input string) variants.UnknownDataquery {
	return variants.UnknownDataquery{
		"refId": refID, "type": "threshold", "expression": input,
		"datasource": map[string]any{"type": "__expr__", "uid": "__expr__"},
		"conditions": []any{map[string]any{"evaluator": map[string]any{"type": "gt", "params": []any{0}}}},
	}
}

type modelBuilder struct{ q variants.Dataquery }

func (m modelBuilder) Build() (variants.Dataquery, error) { return m.q, nil }

// GrafanaRules are trunkscope's alert rules as Grafana-managed rules: A is
// the rule's SQL (one row per trunk: trunk label, firing 0/1) over the
// window and baseline, B fires where A > 0.
func GrafanaRules(o Options, rules []alert.Rule) ([]alerting.Rule, error) {
	o = o.withDefaults()
	ch := o.Channels()
	var out []alerting.Rule
	for _, r := range rules {
		q := newQuery(datasource(o.DatasourceUID), FormatTable, r.GrafanaSQL(o.Database, ch))
		annotations := map[string]string{
			"summary":     fmt.Sprintf("%s on trunk {{ $labels.trunk }}", r.Name),
			"description": r.Summary(),
		}
		labels := r.Labels("")
		delete(labels, "trunk")     // from the query's trunk column
		delete(labels, "alertname") // Grafana sets it to the title
		rb := alerting.NewRuleBuilder(r.Name).
			Uid("trunkscope-" + r.Name).
			FolderUID(FolderUID).
			RuleGroup(RuleGroup).
			OrgID(1).
			Condition("B").
			WithQuery(alerting.NewQueryBuilder("A").DatasourceUid(o.DatasourceUID).
				RelativeTimeRange(alerting.Duration(secs(r.Range())), 0).Model(q)).
			WithQuery(alerting.NewQueryBuilder("B").DatasourceUid("__expr__").Model(modelBuilder{exprModel("B", "A")})).
			For(promDuration(r.For)).
			KeepFiringFor(secs(r.KeepFiringFor)).
			NoDataState(alerting.RuleNoDataStateOK).
			ExecErrState(alerting.RuleExecErrStateError).
			Labels(labels).
			Annotations(annotations)
		built, err := rb.Build()
		if err != nil {
			return nil, fmt.Errorf("dashboards: alert rule %s: %w", r.Name, err)
		}
		out = append(out, built)
	}
	return out, nil
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }

// promDuration writes a duration as Grafana parses it ("5m", "90s").
func promDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", secs(d))
}

// rulesFile is Grafana's file provisioning format for alert rules: the
// API model of each rule, grouped, with the folder by UID.
func rulesFile(b *Bundle) ([]byte, error) {
	var rules []map[string]any
	for _, r := range b.Rules {
		j, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(j, &m); err != nil {
			return nil, err
		}
		for _, k := range []string{"folderUID", "ruleGroup", "orgID"} {
			delete(m, k)
		}
		rules = append(rules, m)
	}
	iv := b.Interval
	if iv <= 0 {
		iv = time.Minute
	}
	return yamlBytes(map[string]any{
		"apiVersion": 1,
		"groups": []map[string]any{{
			"orgId": 1, "name": RuleGroup, "folder": FolderTitle, "interval": promDuration(iv), "rules": rules,
		}},
	})
}
