package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trunkscope/trunkscope/alert"
	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/dashboards"
	"github.com/trunkscope/trunkscope/store"
)

func cmdDashboards(e *env, args []string) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "generate":
		return dashGenerate(e, args)
	case "check":
		return dashCheck(e, args)
	case "push":
		return dashPush(e, args)
	case "-h", "--help", "help":
		fs := flagSet(e, "dashboards", "generate|check|push [flags]", dashAbout)
		fs.Usage()
		return nil
	}
	return usagef("want a subcommand: generate, check or push (got %q)", sub)
}

const dashAbout = `Grafana dashboards for the ClickHouse datasource plugin
(grafana-clickhouse-datasource), generated with grafana-foundation-sdk:
NOC overview, trunk detail, call quality, SIP errors, active probes, finance;
plus Grafana provisioning (datasource, dashboard provider, alert rules).

  generate --out DIR       write dashboards and provisioning files (same input, same bytes)
  check [--from --to]      run every panel's SQL against the configured ClickHouse with
                           the plugin's macros expanded; exit 1 if any panel fails
  push --grafana URL --token T
                           upsert folder, dashboards and alert rules through Grafana's HTTP API`

func dashOptions(cfg *config.Config, ladder string) dashboards.Options {
	o := dashboards.FromConfig(cfg)
	o.LadderURL = ladder
	return o
}

func dashGenerate(e *env, args []string) error {
	fs := flagSet(e, "dashboards generate", "--out DIR [flags]", `Writes DIR/dashboards/*.json (one per dashboard) and Grafana provisioning:
DIR/provisioning/datasources/trunkscope.yaml (the ClickHouse datasource, UID
trunkscope-clickhouse, password from $TRUNKSCOPE_CLICKHOUSE_PASSWORD),
DIR/provisioning/dashboards/trunkscope.yaml (a file provider reading
--dashboards-path) and DIR/provisioning/alerting/trunkscope.yaml (the alert
rules of the configuration as Grafana-managed rules). Output is deterministic.`)
	cfgPath := fs.String("config", "", "configuration file (YAML); default: the built-in configuration")
	out := fs.String("out", "", "output directory (required)")
	path := fs.String("dashboards-path", "/var/lib/grafana/dashboards/trunkscope", "where Grafana will find the dashboard JSON files")
	ladder := fs.String("ladder-url", dashboards.DefaultLadderURL, "call ladder link of the worst-calls table (${__value.raw} is the Call-ID)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	b, err := dashboards.Generate(cfg, dashOptions(cfg, *ladder), dashboards.ProvisionOptions{DashboardsPath: *path})
	if err != nil {
		return err
	}
	if err := b.Write(*out); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "dashboards: %d dashboards, %d alert rules, %d files -> %s\n", len(b.Dashboards), len(b.Rules), len(b.Files), *out)
	return nil
}

func dashCheck(e *env, args []string) error {
	fs := flagSet(e, "dashboards check", "[flags]", `Runs every panel's query (and every template variable's) against the configured
ClickHouse (chDB or server) exactly as Grafana's ClickHouse plugin would: template
variables substituted, macros $__timeFilter, $__fromTime, $__toTime and
$__interval_s expanded. Reports per panel: ok, columns, rows and time; a panel
fails when the query fails or its columns differ from the expected ones.
Default range: the minutes that hold data. Exit status 1 if any panel fails.`)
	var c common
	c.register(fs)
	from := fs.String("from", "", "start of the range (RFC 3339 or 2006-01-02[ 15:04]); default: first minute with data")
	to := fs.String("to", "", "end of the range; default: the minute after the last with data")
	trunk := fs.String("trunk", "", "value of the trunk variable (default: All, or the first trunk)")
	format := fs.String("format", "table", "table or json (json includes the rows)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *format != "table" && *format != "json" {
		return usagef("--format %q: want table or json", *format)
	}
	ctx := context.Background()
	s, err := c.open(ctx, e, false)
	if err != nil {
		return err
	}
	defer s.Close()
	f, t := time.Time{}, time.Time{}
	if *from != "" {
		if f, err = parseTime(*from, time.Time{}); err != nil {
			return usagef("--from: %v", err)
		}
	}
	if *to != "" {
		if t, err = parseTime(*to, time.Time{}); err != nil {
			return usagef("--to: %v", err)
		}
	}
	if f.IsZero() || t.IsZero() {
		r, err := s.st.Query(ctx, "SELECT toUInt32(min(minute)) AS a, toUInt32(max(minute)) AS b, count() AS n FROM "+s.db()+".kpi_minute FINAL")
		if err != nil {
			return fmt.Errorf("dashboards check: data range: %w", err)
		}
		if r.Int(0, "n") == 0 {
			now := time.Now().UTC().Truncate(time.Minute)
			f, t = now.Add(-24*time.Hour), now
		} else {
			if f.IsZero() {
				f = time.Unix(r.Int(0, "a"), 0).UTC()
			}
			if t.IsZero() {
				t = time.Unix(r.Int(0, "b"), 0).UTC().Add(time.Minute)
			}
		}
	}
	co := dashboards.CheckOptions{From: f, To: t, Vars: map[string]string{}, Rules: alert.Rules(s.cfg.Alerts)}
	if *trunk != "" {
		co.Vars["trunk"] = *trunk
	}
	res := dashboards.Check(ctx, s.st, dashOptions(s.cfg, ""), co)
	failed := 0
	for _, r := range res {
		if !r.OK {
			failed++
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		for _, r := range res {
			m := map[string]any{"dashboard": r.Dashboard, "panel": r.Panel, "ok": r.OK, "columns": r.Columns, "rows": r.Rows,
				"ms": r.Took.Milliseconds(), "error": r.Err}
			if r.Data != nil {
				m["data"] = r.Data.Data
			}
			if err := enc.Encode(m); err != nil {
				return err
			}
		}
	} else {
		fmt.Fprintf(e.stdout, "range %s .. %s (%s, %s)\n", f.Format(time.RFC3339), t.Format(time.RFC3339), s.st.Info().Engine, s.st.Info().Version)
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DASHBOARD\tPANEL\tRESULT\tROWS\tTIME\tCOLUMNS")
		for _, r := range res {
			st := "ok"
			if !r.OK {
				st = "FAIL"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%dms\t%s\n", strings.TrimPrefix(r.Dashboard, "trunkscope / "), r.Panel, st, r.Rows, r.Took.Milliseconds(), strings.Join(r.Columns, ","))
		}
		tw.Flush()
		for _, r := range res {
			if !r.OK {
				fmt.Fprintf(e.stdout, "\nFAIL %s / %s: %s\n", r.Dashboard, r.Panel, r.Err)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d panels failed", failed, len(res))
	}
	fmt.Fprintf(e.stderr, "dashboards check: %d panels ok\n", len(res))
	return nil
}

func dashPush(e *env, args []string) error {
	fs := flagSet(e, "dashboards push", "--grafana URL --token T [flags]", `Upserts the folder "trunkscope", every dashboard (POST /api/dashboards/db,
overwrite, with a version message), every alert rule (PUT
/api/v1/provisioning/alert-rules/UID, POST when missing) and the rule group
(PUT /api/v1/provisioning/folder/trunkscope/rule-groups/trunkscope) through
Grafana's HTTP API. T is a service account token (Editor or Admin); $GRAFANA_TOKEN works too.`)
	cfgPath := fs.String("config", "", "configuration file (YAML); default: the built-in configuration")
	url := fs.String("grafana", "", "Grafana base URL, e.g. http://grafana:3000 (required)")
	token := fs.String("token", os.Getenv("GRAFANA_TOKEN"), "service account token")
	msg := fs.String("message", "trunkscope dashboards push", "dashboard version message")
	ladder := fs.String("ladder-url", dashboards.DefaultLadderURL, "call ladder link of the worst-calls table")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *url == "" || *token == "" {
		return usagef("--grafana and --token are required")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	b, err := dashboards.Generate(cfg, dashOptions(cfg, *ladder), dashboards.ProvisionOptions{})
	if err != nil {
		return err
	}
	p := &dashboards.Pusher{URL: *url, Token: *token, Message: *msg, Progress: func(s string) { fmt.Fprintln(e.stderr, "push:", s) }}
	if err := p.Push(context.Background(), b); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "push: %d dashboards and %d alert rules in folder %q on %s\n", len(b.Dashboards), len(b.Rules), dashboards.FolderUID, *url)
	return nil
}

// benchDashboards times every panel (and alert rule) query over the bench's
// generated CDRs, for the last day and the whole range: the target is
// <= 300 ms a panel over 10 million CDRs on chDB.
func benchDashboards(ctx context.Context, tw io.Writer, st store.Store, db string, from, to time.Time) error {
	cfg := config.Default()
	cfg.ClickHouse.Database = db
	o := dashboards.FromConfig(cfg)
	for _, rng := range []struct {
		name     string
		from, to time.Time
	}{{"last day", to.Add(-24 * time.Hour), to}, {"30 days", from, to}} {
		res := dashboards.Check(ctx, st, o, dashboards.CheckOptions{From: rng.from, To: rng.to, Rules: alert.Rules(cfg.Alerts)})
		var took []time.Duration
		var slow, failed []string
		for _, r := range res {
			if !r.OK {
				failed = append(failed, r.Panel)
				continue
			}
			took = append(took, r.Took)
			if r.Took > 300*time.Millisecond {
				slow = append(slow, fmt.Sprintf("%s/%s %s", strings.TrimPrefix(r.Dashboard, "trunkscope / "), r.Panel, r.Took.Round(time.Millisecond)))
			}
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		if len(took) == 0 {
			return fmt.Errorf("no panel ran: %v", failed)
		}
		fmt.Fprintf(tw, "dashboards: %d panel queries, %s\tmedian %s, max %s\tover 300 ms: %s; not run (missing tables): %d\n",
			len(took), rng.name, took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond),
			strings.Join(append(slow, "none")[:max(len(slow), 1)], ", "), len(failed))
	}
	return nil
}
