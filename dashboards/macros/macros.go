// Package macros expands the Grafana ClickHouse datasource plugin's macros
// and Grafana's template variables exactly as they are expanded before a
// query reaches ClickHouse, so that trunkscope can run its dashboards' and
// alert rules' SQL itself.
package macros

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Expansion of the ClickHouse plugin's macros, as the plugin does it
// (grafana/clickhouse-datasource pkg/macros with grafana/sqlds'
// interpolate): each macro name is matched as `$__name` optionally followed
// by `(args)`, args split on commas and trimmed, and every occurrence is
// replaced by the macro's text. Times are whole seconds:
//
//	$__timeFilter(c)  c >= toDateTime(FROM) AND c <= toDateTime(TO)
//	$__fromTime       toDateTime(FROM)
//	$__toTime         toDateTime(TO)
//	$__interval_s     max(interval, 1s) in whole seconds
//
// Macros ClickHouse 18.16 cannot run ($__timeInterval, the _ms forms) are
// refused rather than expanded, so a panel using them fails the check.

// TimeRange is what Grafana hands the plugin with a query.
type TimeRange struct {
	From, To time.Time
	Interval time.Duration
}

var (
	macroNames = []string{"timeFilter", "fromTime", "toTime", "interval_s"}
	refused    = regexp.MustCompile(`\$__(timeInterval|timeInterval_ms|fromTime_ms|toTime_ms|timeFilter_ms|dateFilter|dateTimeFilter|dt)\b`)
	anyMacro   = regexp.MustCompile(`\$__[A-Za-z_]+`)
)

// Expand returns sql with the plugin's macros expanded for r.
func Expand(sql string, r TimeRange) (string, error) {
	if m := refused.FindString(sql); m != "" {
		return "", fmt.Errorf("macro %s is not allowed: ClickHouse 18.16 cannot run its expansion", m)
	}
	// Longest names first: "$__fromTime" must not eat a longer macro's
	// prefix (the plugin's own map order is random; ours is fixed).
	names := append([]string(nil), macroNames...)
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, name := range names {
		re := regexp.MustCompile(`\$__` + name + `(?:\((.*?)\))?`)
		for _, m := range re.FindAllStringSubmatch(sql, -1) {
			var args []string
			if len(m) > 1 && m[1] != "" {
				for _, a := range strings.Split(m[1], ",") {
					args = append(args, strings.TrimSpace(a))
				}
			}
			res, err := expand(name, args, r)
			if err != nil {
				return "", fmt.Errorf("macro $__%s: %w", name, err)
			}
			sql = strings.Replace(sql, m[0], res, -1)
		}
	}
	if m := anyMacro.FindString(sql); m != "" {
		return "", fmt.Errorf("unknown macro %s", m)
	}
	return sql, nil
}

func expand(name string, args []string, r TimeRange) (string, error) {
	from, to := fmt.Sprintf("toDateTime(%d)", r.From.Unix()), fmt.Sprintf("toDateTime(%d)", r.To.Unix())
	switch name {
	case "timeFilter":
		if len(args) != 1 {
			return "", fmt.Errorf("unexpected number of arguments: expected 1, received %d", len(args))
		}
		return fmt.Sprintf("%s >= %s AND %s <= %s", args[0], from, args[0], to), nil
	case "fromTime":
		return from, nil
	case "toTime":
		return to, nil
	case "interval_s":
		return fmt.Sprint(int(math.Max(r.Interval.Seconds(), 1))), nil
	}
	return "", fmt.Errorf("unknown macro")
}

// Interval is the $__interval Grafana computes for a panel: the range
// over max data points, rounded like Grafana's interval calculator, and
// no less than the panel's minimum interval.
func Interval(from, to time.Time, maxDataPoints int, min time.Duration) time.Duration {
	if maxDataPoints <= 0 {
		maxDataPoints = 1000
	}
	iv := roundInterval(to.Sub(from) / time.Duration(maxDataPoints))
	return max(iv, min)
}

// roundInterval is Grafana's table of "nice" intervals.
func roundInterval(d time.Duration) time.Duration {
	ms := d.Milliseconds()
	steps := []struct {
		below int64
		to    time.Duration
	}{
		{10, time.Millisecond}, {15, 10 * time.Millisecond}, {35, 20 * time.Millisecond}, {75, 50 * time.Millisecond},
		{150, 100 * time.Millisecond}, {350, 200 * time.Millisecond}, {750, 500 * time.Millisecond},
		{1500, time.Second}, {3500, 2 * time.Second}, {7500, 5 * time.Second}, {12500, 10 * time.Second},
		{17500, 15 * time.Second}, {25000, 20 * time.Second}, {45000, 30 * time.Second}, {90000, time.Minute},
		{210000, 2 * time.Minute}, {450000, 5 * time.Minute}, {750000, 10 * time.Minute}, {1050000, 15 * time.Minute},
		{1500000, 20 * time.Minute}, {2700000, 30 * time.Minute}, {5400000, time.Hour}, {9000000, 2 * time.Hour},
		{16200000, 3 * time.Hour}, {24300000, 6 * time.Hour}, {32400000, 8 * time.Hour}, {86400000, 12 * time.Hour},
		{604800000, 24 * time.Hour}, {1814400000, 7 * 24 * time.Hour}, {3628800000, 30 * 24 * time.Hour},
	}
	for _, s := range steps {
		if ms < s.below {
			return s.to
		}
	}
	return 365 * 24 * time.Hour
}

// ExpandVariables substitutes dashboard template variables the way Grafana
// does before the query reaches the plugin: ${name:sqlstring} quoted with
// single quotes doubled, ${name} and $name raw.
func ExpandVariables(sql string, vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		v := vars[k]
		sql = strings.ReplaceAll(sql, "${"+k+":sqlstring}", SQLString(v))
		sql = strings.ReplaceAll(sql, "${"+k+"}", v)
		sql = strings.ReplaceAll(sql, "$"+k, v)
	}
	return sql
}

// SQLString renders a literal the way Grafana's sqlstring format does.
func SQLString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
