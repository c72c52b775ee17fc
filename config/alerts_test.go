package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAlertsSection(t *testing.T) {
	c := Default()
	if c.Alerts.Interval != time.Minute || len(c.Alerts.Rules) != 6 || !c.Alerts.InRun {
		t.Fatalf("default alerts: %+v", c.Alerts)
	}
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "c.yml")
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	got, err := Load(write("alerts:\n  interval: 30s\n  alertmanager: {urls: [http://am:9093]}\n  rules:\n    - {name: r, kind: code_spike, code: 503, window: 2m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Alerts.Interval != 30*time.Second || len(got.Alerts.Rules) != 1 || got.Alerts.Rules[0].Window != 2*time.Minute ||
		got.Alerts.Alertmanager.URLs[0] != "http://am:9093" {
		t.Fatalf("parsed %+v", got.Alerts)
	}
	for _, tc := range []struct{ yml, want string }{
		{"alerts:\n  rules:\n    - {name: r, kind: nope}\n", `kind "nope"`},
		{"alerts:\n  rules:\n    - {name: r, kind: code_spike, code: 42}\n", "code 42"},
		{"alerts:\n  rules:\n    - {name: r, kind: mos_drop}\n    - {name: r, kind: mos_drop}\n", "duplicate rule"},
		{"alerts:\n  interval: 0s\n", "alerts.interval"},
		{"alerts:\n  webhooks: [{secret: x}]\n", "url is empty"},
		{"alerts:\n  rulez: []\n", "field rulez not found"},
	} {
		if _, err := Load(write(tc.yml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yml, err, tc.want)
		}
	}
}
