package alert

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trunkscope/trunkscope/dashboards/macros"
	"github.com/trunkscope/trunkscope/store"
)

// Notifier hears about alerts after each run.
type Notifier interface {
	// Notify gets the changes of the run in event-time order (fired,
	// resolved) and every alert firing at its end.
	Notify(ctx context.Context, changes []Alert, firing []Alert) error
	Name() string
}

// Alert is a notification's view of an instance.
type Alert struct {
	Status      string            `json:"status"` // firing or resolved
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt,omitzero"`
	Value       float64           `json:"value"`
}

// MaxCatchUp bounds how much event time one run evaluates.
const MaxCatchUp = 24 * time.Hour

// Evaluator evaluates rules on the rollups and drives the state machines.
type Evaluator struct {
	Store store.Store
	DB    string
	Rules []Rule
	// Channels is the SQL expression mapping trunk to channels.
	Channels string
	Interval time.Duration
	State    *State
	// StatePath, when set, is where the state is saved after each run.
	StatePath    string
	Notifiers    []Notifier
	DashboardURL string
	Log          *slog.Logger

	warned map[string]bool
}

// Sample is one trunk's row of a rule's query.
type Sample struct {
	Trunk   string
	Firing  bool
	Value   float64
	Figures map[string]string
}

// Query runs rule r as of event time at.
func (e *Evaluator) Query(ctx context.Context, r Rule, at time.Time) ([]Sample, error) {
	q, err := macros.Expand(r.SQL(e.DB, e.Channels), macros.TimeRange{From: at.Add(-r.Range()), To: at, Interval: e.Interval})
	if err != nil {
		return nil, err
	}
	rows, err := e.Store.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("alert: rule %s (%s): %w", r.Name, r.Table(), err)
	}
	out := make([]Sample, 0, len(rows.Data))
	for i := range rows.Data {
		s := Sample{Trunk: rows.String(i, "trunk"), Firing: rows.Int(i, "firing") == 1, Figures: map[string]string{}}
		s.Value, _ = strconv.ParseFloat(rows.String(i, "value"), 64)
		for c, name := range rows.Columns {
			if name != "trunk" && name != "firing" {
				s.Figures[name] = rows.Data[i][c]
			}
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Step evaluates every rule at event time at and returns the transitions.
func (e *Evaluator) Step(ctx context.Context, at time.Time) []Transition {
	var out []Transition
	for _, r := range e.Rules {
		samples, err := e.Query(ctx, r, at)
		if err != nil {
			// A missing table (e.g. no active probe yet) or a store outage
			// leaves the rule's states as they are; said once per rule.
			if e.warned == nil {
				e.warned = map[string]bool{}
			}
			if !e.warned[r.Name] {
				e.logger().Warn("alert rule not evaluated", "rule", r.Name, "err", err)
				e.warned[r.Name] = true
			}
			continue
		}
		seen := map[string]bool{}
		for _, s := range samples {
			seen[s.Trunk] = true
			in := e.instance(r.Name, s.Trunk)
			if t := in.step(r, at, s.Firing, s.Value, s.Figures); t != nil {
				out = append(out, *t)
			}
		}
		// Trunks with no rows in range: the condition does not hold.
		for _, k := range sortedKeys(e.State.Instances) {
			in := e.State.Instances[k]
			if in.Rule == r.Name && !seen[in.Trunk] {
				if t := in.step(r, at, false, 0, nil); t != nil {
					out = append(out, *t)
				}
			}
		}
	}
	return out
}

func (e *Evaluator) instance(rule, trunk string) *Instance {
	k := key(rule, trunk)
	in := e.State.Instances[k]
	if in == nil {
		in = &Instance{Rule: rule, Trunk: trunk, Phase: Inactive}
		e.State.Instances[k] = in
	}
	return in
}

// Run evaluates from the last evaluated instant up to now in steps of
// Interval (event time: a replayed capture is evaluated minute by minute
// as live traffic was), notifies, and saves the state. With no state yet
// it starts at first.
func (e *Evaluator) Run(ctx context.Context, first, now time.Time) ([]Transition, error) {
	iv := e.Interval
	if iv <= 0 {
		iv = time.Minute
	}
	now = now.Truncate(iv)
	t := e.State.LastEval.Add(iv)
	if e.State.LastEval.IsZero() {
		t = first.Truncate(iv).Add(iv)
	}
	// A first run on a long history, or one after a long outage, catches
	// up at most a day: older alerts would be stale news.
	if oldest := now.Add(-MaxCatchUp); t.Before(oldest) {
		e.logger().Info("alerts: catching up the last day only", "from", t, "to", oldest)
		t = oldest
	}
	var all []Transition
	for ; !t.After(now); t = t.Add(iv) {
		if err := ctx.Err(); err != nil {
			return all, err
		}
		all = append(all, e.Step(ctx, t)...)
		e.State.LastEval = t
	}
	var changes, firing []Alert
	for _, tr := range all {
		if a, ok := e.alert(tr.Instance); ok {
			changes = append(changes, a)
		}
	}
	for _, k := range sortedKeys(e.State.Instances) {
		if in := e.State.Instances[k]; in.Phase == Firing {
			if a, ok := e.alert(*in); ok {
				firing = append(firing, a)
			}
		}
	}
	var errs []string
	for _, n := range e.Notifiers {
		if len(changes) == 0 && len(firing) == 0 {
			break
		}
		if err := n.Notify(ctx, changes, firing); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", n.Name(), err))
		}
	}
	if e.StatePath != "" {
		if err := e.State.Save(e.StatePath); err != nil {
			return all, err
		}
	}
	if len(errs) > 0 {
		return all, fmt.Errorf("alert: notify: %s", strings.Join(errs, "; "))
	}
	return all, nil
}

// alert renders an instance (as of its last transition) for notifiers.
func (e *Evaluator) alert(in Instance) (Alert, bool) {
	r, ok := e.RuleByName(in.Rule)
	if !ok {
		return Alert{}, false
	}
	a := Alert{Status: "firing", Labels: r.Labels(in.Trunk), Annotations: e.Annotations(r, in), StartsAt: in.FiredAt, Value: in.Value}
	if in.Phase != Firing {
		a.Status, a.EndsAt = "resolved", in.ResolvedAt
	}
	return a, true
}

// Annotations of an instance: what fired, the figures, a dashboard link.
func (e *Evaluator) Annotations(r Rule, in Instance) map[string]string {
	var fig []string
	for _, k := range sortedKeys(in.Figures) {
		fig = append(fig, k+"="+in.Figures[k])
	}
	a := map[string]string{
		"summary":     fmt.Sprintf("%s on trunk %s", r.Name, in.Trunk),
		"description": r.Summary(),
		"figures":     strings.Join(fig, " "),
	}
	if e.DashboardURL != "" {
		from, to := in.ActiveAt.Add(-r.Range()), in.LastTrue.Add(r.Window)
		if in.ActiveAt.IsZero() {
			from = in.FiredAt.Add(-r.Range())
		}
		a["dashboard"] = fmt.Sprintf("%s/d/trunkscope-trunk?var-trunk=%s&from=%d&to=%d", strings.TrimRight(e.DashboardURL, "/"),
			url.QueryEscape(in.Trunk), from.UnixMilli(), to.UnixMilli())
	}
	return a
}

func (e *Evaluator) logger() *slog.Logger {
	if e.Log == nil {
		return slog.Default()
	}
	return e.Log
}

// RuleByName finds a rule.
func (e *Evaluator) RuleByName(name string) (Rule, bool) {
	for _, r := range e.Rules {
		if r.Name == name {
			return r, true
		}
	}
	return Rule{}, false
}
