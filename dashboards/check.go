package dashboards

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trunkscope/trunkscope/alert"
	"github.com/trunkscope/trunkscope/dashboards/macros"
	"github.com/trunkscope/trunkscope/store"
)

// Result is one panel's (or variable's) check.
type Result struct {
	Dashboard, Panel string
	OK               bool
	Columns          []string
	Rows             int
	Took             time.Duration
	Err              string
	// SQL is the statement as run (macros and variables expanded).
	SQL string
	// Data holds the rows, for tests that compare figures.
	Data *store.Rows
}

// CheckOptions select the range and variable values the panels run with.
type CheckOptions struct {
	From, To time.Time
	// Vars fixes template variables; unset ones take the All value, or
	// the first value their query returns.
	Vars map[string]string
	// Rules are the alert rules provisioned as Grafana rules: their
	// queries run too, over the rule's range ending at To.
	Rules []alert.Rule
}

// Check runs every panel's query against st the way Grafana and the
// ClickHouse plugin would run it, and reports per panel: ok, the columns
// returned (which must be the panel's expected columns), rows and time.
func Check(ctx context.Context, st store.Store, o Options, co CheckOptions) []Result {
	o = o.withDefaults()
	var out []Result
	for _, d := range Specs(o) {
		vars := map[string]string{}
		for k, v := range co.Vars {
			vars[k] = v
		}
		for _, v := range d.Variables {
			if _, set := vars[v.Name]; set {
				continue
			}
			switch {
			case v.IncludeA:
				vars[v.Name] = allValue
			case v.Query != "":
				r := run(ctx, st, d.Title, "variable $"+v.Name, v.Query, nil, co.From, co.To, 0, nil)
				if r.OK && r.Rows > 0 {
					vars[v.Name] = r.Data.Data[0][0]
				} else if r.OK {
					r.OK, r.Err = false, "no values in range (nothing to select)"
				}
				out = append(out, r)
			default:
				vars[v.Name] = v.Values[0]
			}
		}
		for _, p := range d.Panels {
			iv := time.Duration(0)
			if p.Kind == kindTimeSeries {
				iv = macros.Interval(co.From, co.To, 500, time.Minute)
			}
			r := run(ctx, st, d.Title, p.Title, p.SQL, vars, co.From, co.To, iv, p.Columns)
			if !r.OK && len(p.Needs) > 0 && missingTable(r.Err) {
				r.Err = fmt.Sprintf("table %s.%s does not exist: it is created by the active probe's migrations (contract tables options_pings/test_calls); %s",
					o.Database, strings.Join(p.Needs, ", "), r.Err)
			}
			out = append(out, r)
		}
	}
	for _, ar := range co.Rules {
		r := run(ctx, st, "Grafana alert rules", ar.Name, ar.GrafanaSQL(o.Database, o.Channels()),
			nil, co.To.Add(-ar.Range()), co.To, 0, []string{"trunk", "firing"})
		if !r.OK && ar.Kind == "options_down" && missingTable(r.Err) {
			r.Err = fmt.Sprintf("table %s.options_pings does not exist: it is created by the active probe's migrations; %s", o.Database, r.Err)
		}
		out = append(out, r)
	}
	return out
}

func missingTable(msg string) bool {
	return strings.Contains(msg, "doesn't exist") || strings.Contains(msg, "UNKNOWN_TABLE") || strings.Contains(msg, "Code: 60")
}

func run(ctx context.Context, st store.Store, dash, title, sql string, vars map[string]string, from, to time.Time, iv time.Duration, want []string) Result {
	r := Result{Dashboard: dash, Panel: title}
	q, err := macros.Expand(macros.ExpandVariables(sql, vars), macros.TimeRange{From: from, To: to, Interval: iv})
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.SQL = q
	t0 := time.Now()
	rows, err := st.Query(ctx, q)
	r.Took = time.Since(t0)
	if err != nil {
		r.Err = strings.TrimSpace(err.Error())
		return r
	}
	r.Data, r.Columns, r.Rows = rows, rows.Columns, len(rows.Data)
	if want != nil && !slices.Equal(rows.Columns, want) {
		r.Err = fmt.Sprintf("columns %v, want %v", rows.Columns, want)
		return r
	}
	r.OK = true
	return r
}
