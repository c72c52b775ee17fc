package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestProbeConfig(t *testing.T) {
	t.Setenv("TRUNKSCOPE_TEST_SECRET", "s3cret-from-env")
	c, err := Load(filepath.Join("testdata", "probe.good.yml"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Probe
	if p.Options.Interval != 10*time.Second || p.Options.DownAfter != 2 || p.Calls.Codec != "PCMA" || p.Calls.Timeout != 8*time.Second || p.UserAgent != "noc-probe" {
		t.Fatalf("probe %+v", p)
	}
	pr, bk := c.Trunks[0].Probe, c.Trunks[1].Probe
	if pr.Transport != "tcp" || len(pr.Targets) != 2 || pr.Call.To != "31201234567" || pr.Auth.Password.Reveal() != "hunter2" {
		t.Fatalf("primary %+v", pr)
	}
	if bk.Transport != "udp" || bk.Auth.Password.Reveal() != "s3cret-from-env" {
		t.Fatalf("backup %+v", bk)
	}
	if len(c.Groups) != 1 || c.Groups[0].Trunks[1].Priority != 2 {
		t.Fatalf("groups %+v", c.Groups)
	}
	// The password never prints: fmt, slog, YAML.
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("auth", "auth", pr.Auth, "pw", pr.Auth.Password)
	y, _ := yaml.Marshal(c.Trunks[0])
	for what, s := range map[string]string{"fmt %v": fmt.Sprintf("%v %+v %#v %s", pr.Auth, pr.Auth, pr.Auth, pr.Auth.Password),
		"slog": logs.String(), "yaml": string(y)} {
		if strings.Contains(s, "hunter2") || !strings.Contains(s, "[redacted]") {
			t.Errorf("%s shows the password: %s", what, s)
		}
	}
}

func TestBadProbeConfigs(t *testing.T) {
	base := "trunks:\n  - name: a\n    addresses: [192.0.2.1]\n%s  - name: b\n    addresses: [192.0.2.2]\n%s"
	for _, tc := range []struct{ a, b, extra, wantErr string }{
		{"    probe: {targets: [\"http://x\"]}\n", "", "", `is not a sip: or sips: URI`},
		{"    probe: {targets: [\"sip:x\"], transport: sctp}\n", "", "", `transport: "sctp"`},
		{"    probe: {targets: [\"sip:x\"], source: nothere}\n", "", "", `is not an IP address`},
		{"    probe: {targets: [\"sip:x\"], auth: {password: x}}\n", "", "", `auth.username is empty`},
		{"    probe: {targets: [\"sip:x\"], auth: {username: u, password_env: TRUNKSCOPE_UNSET_VAR}}\n", "", "", `TRUNKSCOPE_UNSET_VAR is not set`},
		{"    probe: {call: {to: \"123\"}}\n", "", "", `no probe.targets`},
		{"    probe: {targets: [\"sip:u:pw@x\"]}\n", "", "", `carries a password`},
		{"", "", "groups: [{name: g, trunks: [{trunk: a, priority: 1}, {trunk: zz, priority: 2}]}]\n", `trunk "zz" is not defined`},
		{"", "", "groups: [{name: g, trunks: [{trunk: a, priority: 1}]}]\n", `at least two trunks`},
		{"", "", "groups: [{name: g, trunks: [{trunk: a, priority: 0}, {trunk: b, priority: 1}]}]\n", `priority 0`},
		{"", "", "probe: {options: {down_after: 0}}\n", `down_after and up_after`},
		{"", "", "probe: {calls: {codec: opus}}\n", `want PCMU or PCMA`},
	} {
		dir := t.TempDir()
		f := filepath.Join(dir, "c.yml")
		os.WriteFile(f, []byte(fmt.Sprintf(base, tc.a, tc.b)+tc.extra), 0o644)
		_, err := Load(f)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%q%q: got %v, want error containing %q", tc.a, tc.extra, err, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("error shows a URI password: %v", err)
		}
	}
}
