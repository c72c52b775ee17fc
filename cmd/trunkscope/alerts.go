package main

import (
	"context"
	"fmt"
	"net/http"
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
	ev, err := alertEvaluator(s, e, c.data, *statePath, *am, *hook, *secret)
	if err != nil {
		return err
	}
	for {
		if err := alertRound(ctx, s, e, ev, *clock); err != nil {
			if *once || ctx.Err() != nil {
				return err
			}
			e.log.Error("alerts", "err", err)
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
		case <-time.After(s.cfg.Alerts.Interval):
		}
	}
}

// alertEvaluator builds the evaluator of a stack: its state file (flag,
// config, or DATA/alerts/state.json) and notifiers (config plus flags).
func alertEvaluator(s *stack, e *env, data, statePath, am, hook, secret string) (*alert.Evaluator, error) {
	ac := s.cfg.Alerts
	path := statePath
	if path == "" {
		path = ac.StateFile
	}
	if path == "" {
		path = filepath.Join(data, "alerts", "state.json")
	}
	st, err := alert.LoadState(path)
	if err != nil {
		return nil, err
	}
	ev := newEvaluator(s.st, s.cfg, st, e)
	ev.StatePath = path
	urls := append([]string(nil), ac.Alertmanager.URLs...)
	if am != "" {
		urls = append(urls, strings.Split(am, ",")...)
	}
	if len(urls) > 0 {
		ev.Notifiers = append(ev.Notifiers, &alert.Alertmanager{URLs: urls, BearerToken: ac.Alertmanager.BearerToken, Resend: 4 * ac.Interval})
	}
	hooks := append([]config.Webhook(nil), ac.Webhooks...)
	if hook != "" {
		hooks = append(hooks, config.Webhook{URL: hook, Secret: secret})
	}
	for _, h := range hooks {
		wh := &alert.Webhook{URL: h.URL, Secret: h.Secret, Retries: h.Retries}
		if h.Timeout > 0 {
			wh.Client = &http.Client{Timeout: h.Timeout}
		}
		ev.Notifiers = append(ev.Notifiers, wh)
	}
	return ev, nil
}

// alertRound evaluates up to now once and prints the transitions.
func alertRound(ctx context.Context, s *stack, e *env, ev *alert.Evaluator, clock string) error {
	first, now, ok, err := alertClock(ctx, s.st, s.db(), clock)
	if err != nil {
		return err
	}
	if !ok {
		e.log.Debug("alerts: no data yet")
		return nil
	}
	trs, err := ev.Run(ctx, first, now)
	for _, t := range trs {
		printTransition(e, ev, t)
	}
	return err
}

// startServiceAlerts runs the alert rules inside `run` (alerts.in_run):
// every interval, on the data clock, logging instead of failing. The
// returned function stops it and waits, so the store outlives its queries.
func startServiceAlerts(ctx context.Context, s *stack, e *env, data string) (stop func()) {
	if !s.cfg.Alerts.InRun {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		serviceAlerts(ctx, s, e, data)
	}()
	return func() {
		cancel()
		<-done
	}
}

func serviceAlerts(ctx context.Context, s *stack, e *env, data string) {
	ev, err := alertEvaluator(s, e, data, "", "", "", "")
	if err != nil {
		e.log.Error("alerts disabled", "err", err)
		return
	}
	for {
		if err := alertRound(ctx, s, e, ev, "data"); err != nil && ctx.Err() == nil {
			e.log.Error("alerts", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.cfg.Alerts.Interval):
		}
	}
}

func newEvaluator(st store.Store, cfg *config.Config, state *alert.State, e *env) *alert.Evaluator {
	return &alert.Evaluator{Store: st, DB: cfg.ClickHouse.Database, Rules: alert.Rules(cfg.Alerts),
		Channels: dashboards.FromConfig(cfg).Channels(), Interval: cfg.Alerts.Interval,
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
