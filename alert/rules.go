// Package alert evaluates trunkscope's alert rules on the KPI rollups in
// event time, keeps a state machine per rule and trunk (pending, firing,
// resolved) that survives restarts, and notifies Prometheus Alertmanager
// (API v2) and webhooks. The rules' SQL uses the ClickHouse Grafana
// plugin's macros, so the same statements become Grafana alert rules
// (package dashboards) and are evaluated here with the macros expanded for
// the evaluation instant.
package alert

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/store"
)

// Rule is a configured rule with its kind's defaults filled in.
type Rule struct{ config.AlertRule }

// Defaults completes a configured rule with its kind's defaults.
func Defaults(r config.AlertRule) Rule {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	deff := func(f *float64, v float64) {
		if *f == 0 {
			*f = v
		}
	}
	defi := func(i *int, v int) {
		if *i == 0 {
			*i = v
		}
	}
	if r.Severity == "" {
		r.Severity = "warning"
	}
	def(&r.KeepFiringFor, 2*time.Minute)
	switch r.Kind {
	case "code_spike":
		def(&r.Window, 5*time.Minute)
		def(&r.Baseline, time.Hour)
		def(&r.For, time.Minute)
		defi(&r.MinAttempts, 10)
		defi(&r.MinCount, 5)
		deff(&r.Ratio, 0.2)
		deff(&r.Factor, 3)
	case "mos_drop":
		def(&r.Window, 5*time.Minute)
		def(&r.Baseline, time.Hour)
		def(&r.For, time.Minute)
		defi(&r.MinCalls, 5)
		deff(&r.MOSMean, 3.6)
		deff(&r.MOSP10, 3.1)
		deff(&r.MOSDrop, 0.5)
	case "asr_drop":
		def(&r.Window, 15*time.Minute)
		def(&r.Baseline, 2*time.Hour)
		def(&r.For, 5*time.Minute)
		defi(&r.MinAttempts, 30)
		deff(&r.ASRMin, 0.15)
		deff(&r.ASRDrop, 0.35)
	case "options_down":
		def(&r.Window, 2*time.Minute)
		def(&r.For, 0)
	case "channel_utilisation":
		def(&r.Window, 5*time.Minute)
		def(&r.For, 2*time.Minute)
		deff(&r.Utilisation, 0.9)
	}
	return Rule{r}
}

// Rules returns the enabled rules of a configuration, completed.
func Rules(a config.Alerts) []Rule {
	var out []Rule
	for _, r := range a.Rules {
		if !r.Disabled {
			out = append(out, Defaults(r))
		}
	}
	return out
}

// Range is how far back the rule's query reads: window and baseline.
func (r Rule) Range() time.Duration { return r.Window + r.Baseline }

// Table is the table the rule reads (for messages when it is missing).
func (r Rule) Table() string {
	switch r.Kind {
	case "code_spike":
		return "kpi_codes_minute"
	case "mos_drop":
		return "rtp_reports"
	case "asr_drop":
		return "kpi_minute"
	case "options_down":
		return "options_pings"
	}
	return "kpi_concurrency_minute"
}

// Summary says in words what the rule fires on.
func (r Rule) Summary() string {
	w := dur(r.Window)
	switch r.Kind {
	case "code_spike":
		return fmt.Sprintf("SIP %d on at least %.0f%% of attempts in %s (at least %d of %d), and %.1fx the baseline share or the baseline itself above %.0f%%",
			r.Code, 100*r.Ratio, w, r.MinCount, r.MinAttempts, r.Factor, 100*r.Ratio)
	case "mos_drop":
		return fmt.Sprintf("mean MOS below %.2f or 10th percentile below %.2f or mean %.2f below the baseline in %s (at least %d calls)",
			r.MOSMean, r.MOSP10, r.MOSDrop, w, r.MinCalls)
	case "asr_drop":
		return fmt.Sprintf("ASR below %.0f%% or %.0f points below the baseline in %s (at least %d attempts)", 100*r.ASRMin, 100*r.ASRDrop, w, r.MinAttempts)
	case "options_down":
		return fmt.Sprintf("latest OPTIONS state is down (last %s)", w)
	}
	return fmt.Sprintf("peak concurrent calls at least %.0f%% of the trunk's channels in %s", 100*r.Utilisation, w)
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }

// dur writes whole minutes as "5m", else seconds.
func dur(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", secs(d))
}

func (r Rule) trunkWhere() string {
	if len(r.Trunks) == 0 {
		return ""
	}
	q := make([]string, len(r.Trunks))
	for i, t := range r.Trunks {
		q[i] = store.Quote(t)
	}
	return " AND trunk IN (" + strings.Join(q, ", ") + ")"
}

// SQL is the rule's query: one row per trunk with `firing` (0 or 1),
// `value` (the figure the rule compares) and the figures for the
// annotations. The window is the last Window before $__toTime; the
// baseline the Baseline before that ($__fromTime is $__toTime minus
// Range). channels maps the trunk column to channels (dashboards.Options.Channels).
func (r Rule) SQL(db, channels string) string {
	w := secs(r.Window)
	inW := fmt.Sprintf("minute >= $__toTime - %d", w)
	rng := "minute >= $__fromTime AND minute < $__toTime" + r.trunkWhere()
	switch r.Kind {
	case "code_spike":
		return fmt.Sprintf(`SELECT trunk, toUInt8(w_attempts >= %[4]d AND w_hits >= %[5]d AND value >= %[6]g AND (value >= %[7]g * base_ratio OR base_ratio >= %[6]g)) AS firing,
	value, w_hits AS hits, w_attempts AS attempts, base_ratio
FROM (
	SELECT trunk, sumIf(n, %[2]s) AS w_attempts, sumIf(n, %[2]s AND code = %[8]d) AS w_hits,
		sumIf(n, NOT (%[2]s)) AS b_attempts, sumIf(n, NOT (%[2]s) AND code = %[8]d) AS b_hits,
		if(w_attempts > 0, w_hits / w_attempts, 0) AS value, if(b_attempts > 0, b_hits / b_attempts, 0) AS base_ratio
	FROM %[1]s.kpi_codes_minute FINAL WHERE %[3]s
	GROUP BY trunk
) ORDER BY trunk`, db, inW, rng, r.MinAttempts, r.MinCount, r.Ratio, r.Factor, r.Code)
	case "asr_drop":
		return fmt.Sprintf(`SELECT trunk, toUInt8(w_attempts >= %[4]d AND (value < %[5]g OR (b_attempts >= %[4]d AND base_asr - value >= %[6]g))) AS firing,
	value, w_attempts AS attempts, base_asr
FROM (
	SELECT trunk, sumIf(attempts, %[2]s) AS w_attempts, sumIf(answered, %[2]s) AS w_answered,
		sumIf(attempts, NOT (%[2]s)) AS b_attempts, sumIf(answered, NOT (%[2]s)) AS b_answered,
		if(w_attempts > 0, w_answered / w_attempts, 0) AS value, if(b_attempts > 0, b_answered / b_attempts, 0) AS base_asr
	FROM %[1]s.kpi_minute FINAL WHERE %[3]s
	GROUP BY trunk
) ORDER BY trunk`, db, inW, rng, r.MinAttempts, r.ASRMin, r.ASRDrop)
	case "mos_drop":
		inWts := fmt.Sprintf("end_ts >= $__toTime - %d", w)
		return fmt.Sprintf(`SELECT trunk, toUInt8(w_calls >= %[4]d AND (value < %[5]g OR mos_p10 < %[6]g OR (b_calls >= %[4]d AND base_mos - value >= %[7]g))) AS firing,
	value, mos_p10, w_calls AS calls, base_mos
FROM (
	SELECT trunk, countIf(%[2]s) AS w_calls, if(w_calls > 0, avgIf(mos, %[2]s), 0) AS value,
		if(w_calls > 0, quantileExactIf(0.1)(mos, %[2]s), 0) AS mos_p10,
		countIf(NOT (%[2]s)) AS b_calls, if(b_calls > 0, avgIf(mos, NOT (%[2]s)), 0) AS base_mos
	FROM (
		SELECT call_id, end_ts, mos FROM (
			SELECT call_id, max(ts) AS end_ts, min(mos_x1000) / 1000 AS mos FROM %[1]s.rtp_reports FINAL
			WHERE final = 1 AND mos_x1000 > 0 AND ts >= $__fromTime AND ts < $__toTime
			GROUP BY call_id
		)
	) AS l ALL INNER JOIN (
		SELECT call_id, trunk FROM %[1]s.cdrs FINAL
		WHERE start_time >= $__fromTime - 14400 AND start_time < $__toTime AND outcome = 'answered'%[3]s
	) AS r USING call_id
	GROUP BY trunk
) ORDER BY trunk`, db, inWts, r.trunkWhere(), r.MinCalls, r.MOSMean, r.MOSP10, r.MOSDrop)
	case "options_down":
		return fmt.Sprintf(`SELECT trunk, toUInt8(state = 'down') AS firing, toFloat64(state = 'down') AS value, state, failures, probes FROM (
	SELECT trunk, argMax(state, ts_us) AS state, countIf(result != 'ok') AS failures, count() AS probes
	FROM %[1]s.options_pings FINAL WHERE ts >= $__toTime - %[2]d AND ts < $__toTime%[3]s
	GROUP BY trunk
) ORDER BY trunk`, db, w, r.trunkWhere())
	}
	// channel_utilisation: directions summed per minute (an upper bound when
	// a trunk carries both).
	return fmt.Sprintf(`SELECT trunk, toUInt8(channels > 0 AND value >= %[4]g) AS firing, value, peak, channels FROM (
	SELECT trunk, max(k_peak) AS peak, %[3]s AS channels, if(channels > 0, peak / channels, 0) AS value FROM (
		SELECT minute, trunk, sum(peak) AS k_peak FROM %[1]s.kpi_concurrency_minute FINAL
		WHERE minute >= $__toTime - %[2]d AND minute < $__toTime%[5]s
		GROUP BY minute, trunk
	) GROUP BY trunk
) ORDER BY trunk`, db, w, channels, r.Utilisation, r.trunkWhere())
}

// GrafanaSQL is the rule's query for a Grafana alert rule: one row per
// trunk, the label column and one numeric column (Grafana turns each row
// into a series labelled by trunk).
func (r Rule) GrafanaSQL(db, channels string) string {
	return "SELECT trunk, firing FROM (" + r.SQL(db, channels) + ")"
}

// Labels of an alert instance (Alertmanager and Grafana).
func (r Rule) Labels(trunk string) map[string]string {
	return map[string]string{"alertname": r.Name, "rule": r.Kind, "trunk": trunk, "severity": r.Severity, "source": "trunkscope"}
}

// sortedKeys returns m's keys in order (stable output).
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
