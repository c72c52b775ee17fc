package main

import (
	"context"
	"fmt"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/trunkscope/trunkscope/alert"
	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/dashboards"
	"github.com/trunkscope/trunkscope/store"
)

func cmdAlerts(e *env, args []string) error {
	fs := flagSet(e, "alerts", "[flags]", `The alerting role: evaluates the configured alert rules (config "alerts:";
defaults: SIP 503 and 408 spikes, MOS drop, ASR drop, OPTIONS down, channel
utilisation) on the KPI rollups every interval, in event time: each run catches
up minute by minute from the last evaluated instant, so a replayed capture
fires the same alerts, at the same event times, as live traffic did. Per rule
and trunk: pending -> firing (after "for") -> resolved (after "keep_firing_for"
without the condition). The state is saved after each run and survives
restarts. Fired and resolved alerts go to Alertmanager (API v2) and webhooks,
and are printed on stdout.

--clock data (default) takes "now" from the data (the last minute with CDRs);
--clock wall from the system clock.`)
	var c common
	c.register(fs)
	once := fs.Bool("once", false, "evaluate up to now once and exit")
	clock := fs.String("clock", "data", "data or wall")
	statePath := fs.String("state", "", "state file (default: the config's alerts.state_file, else DATA/alerts/state.json)")
	am := fs.String("alertmanager", "", "Alertmanager base URL(s), comma-separated (adds to the config's alerts.alertmanager.urls)")
	hook := fs.String("webhook", "", "webhook URL (adds to the config's alerts.webhooks)")
	secret := fs.String("webhook-secret", "", "HMAC secret of --webhook")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *clock != "data" && *clock != "wall" {
		return usagef("--clock %q: want data or wall", *clock)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := c.open(ctx, e, false)
	if err != nil {
		return err
	}
	defer s.Close()
	ac := s.cfg.Alerts
	path := *statePath
	if path == "" {
		path = ac.StateFile
	}
	if path == "" {
		path = filepath.Join(c.data, "alerts", "state.json")
	}
	st, err := alert.LoadState(path)
	if err != nil {
		return err
	}
	ev := newEvaluator(s.st, s.cfg, st, e)
	ev.StatePath = path
	urls := append([]string(nil), ac.Alertmanager.URLs...)
	if *am != "" {
		urls = append(urls, strings.Split(*am, ",")...)
	}
	if len(urls) > 0 {
		ev.Notifiers = append(ev.Notifiers, &alert.Alertmanager{URLs: urls, BearerToken: ac.Alertmanager.BearerToken, Resend: 4 * ac.Interval})
	}
	hooks := append([]config.Webhook(nil), ac.Webhooks...)
	if *hook != "" {
		hooks = append(hooks, config.Webhook{URL: *hook, Secret: *secret})
	}
	for _, h := range hooks {
		ev.Notifiers = append(ev.Notifiers, &alert.Webhook{URL: h.URL, Secret: h.Secret, Retries: h.Retries})
	}
	for {
		first, now, ok, err := alertClock(ctx, s.st, s.db(), *clock)
		if err != nil {
			return err
		}
		if ok {
			trs, err := ev.Run(ctx, first, now)
			for _, t := range trs {
				printTransition(e, ev, t)
			}
			if err != nil {
				if *once || ctx.Err() != nil {
					return err
				}
				e.log.Error("alerts", "err", err)
			}
		} else {
			e.log.Info("alerts: no data yet")
		}
		if *once {
			firing := 0
			for _, in := range ev.State.Instances {
				if in.Phase == alert.Firing {
					firing++
				}
			}
			fmt.Fprintf(e.stderr, "alerts: evaluated up to %s, %d firing\n", ev.State.LastEval.Format(time.RFC3339), firing)
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(ac.Interval):
		}
	}
}

func newEvaluator(st store.Store, cfg *config.Config, state *alert.State, e *env) *alert.Evaluator {
	o := dashboards.FromConfig(cfg)
	channels := map[string]int{}
	var order []string
	for _, t := range o.Trunks {
		channels[t.Name], order = t.Channels, append(order, t.Name)
	}
	return &alert.Evaluator{Store: st, DB: cfg.ClickHouse.Database, Rules: alert.Rules(cfg.Alerts),
		Channels: dashboards.ChannelsExpr("trunk", channels, order), Interval: cfg.Alerts.Interval,
		State: state, DashboardURL: cfg.Alerts.DashboardURL, Log: e.log}
}

// alertClock says where evaluation starts (the first minute with data) and
// the instant it runs up to.
func alertClock(ctx context.Context, st store.Store, db, clock string) (first, now time.Time, ok bool, err error) {
	r, err := st.Query(ctx, "SELECT toUInt32(min(minute)) AS a, toUInt32(max(minute)) AS b, count() AS n FROM "+db+".kpi_minute FINAL")
	if err != nil {
		return first, now, false, fmt.Errorf("alerts: data range: %w", err)
	}
	if r.Int(0, "n") == 0 {
		return first, now, false, r.Err()
	}
	first = time.Unix(r.Int(0, "a"), 0).UTC()
	now = time.Unix(r.Int(0, "b"), 0).UTC().Add(time.Minute)
	if clock == "wall" {
		now = time.Now().UTC()
	}
	return first, now, true, r.Err()
}

func printTransition(e *env, ev *alert.Evaluator, t alert.Transition) {
	word := "FIRING"
	if t.Resolved() {
		word = "RESOLVED"
	}
	in := t.Instance
	var fig []string
	keys := make([]string, 0, len(in.Figures))
	for k := range in.Figures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fig = append(fig, k+"="+in.Figures[k])
	}
	sev := ""
	if r, ok := ev.RuleByName(in.Rule); ok {
		sev = r.Severity
	}
	fmt.Fprintf(e.stdout, "%s %s %-9s %s trunk=%s %s\n", t.At.Format(time.RFC3339), word, sev, in.Rule, in.Trunk, strings.Join(fig, " "))
}
