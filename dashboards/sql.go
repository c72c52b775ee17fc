package dashboards

import (
	"fmt"
	"strings"

	"github.com/trunkscope/trunkscope/dashboards/macros"
)

// SQL building blocks shared by the panels. Every statement must run on
// ClickHouse 18.16 and chDB: one JOIN per SELECT (nested subqueries),
// ALL LEFT/INNER JOIN ... USING, no toStartOfInterval, no window functions.
// Aggregates get prefixed aliases (k_...) so that an alias never shadows a
// column inside another aggregate.

// timeBucket groups a DateTime column by the panel's interval.
func timeBucket(col string) string {
	return fmt.Sprintf("toDateTime(intDiv(toUInt32(%s), $__interval_s) * $__interval_s, 'UTC') AS time", col)
}

// Template variables. Grafana interpolates them before the plugin sees the
// SQL; :sqlstring quotes the value and doubles single quotes.
const (
	allValue      = "__all"
	varTrunk      = "${trunk:sqlstring}"
	varDirection  = "${direction:sqlstring}"
	trunkFilter   = "(" + varTrunk + " = '" + allValue + "' OR trunk = " + varTrunk + ")"
	dirFilter     = "(" + varDirection + " = '" + allValue + "' OR direction = " + varDirection + ")"
	trunkDirWhere = trunkFilter + " AND " + dirFilter
)

// Channels is a SQL expression mapping the `trunk` column to the trunk's
// configured channels (0: unknown), from the configuration the dashboards
// and rules were generated with.
func (o Options) Channels() string {
	var names, vals []string
	for _, t := range o.Trunks {
		if t.Channels > 0 {
			names = append(names, macros.SQLString(t.Name))
			vals = append(vals, fmt.Sprint(t.Channels))
		}
	}
	if len(names) == 0 {
		return "toUInt32(0)"
	}
	return fmt.Sprintf("toUInt32(transform(trunk, [%s], [%s], 0))", strings.Join(names, ", "), strings.Join(vals, ", "))
}

// callMOS is one row per answered leg with the call's MOS (the lower of
// its final stream reports), loss and jitter, in the time range; extra
// filters the legs (e.g. a trunk).
func callMOS(db, legWhere string) string {
	return fmt.Sprintf(`SELECT call_id, trunk, direction, start_time, mos, loss_pct, jitter_ms, streams FROM (
	SELECT call_id, trunk, direction, start_time FROM %[1]s.cdrs FINAL
	WHERE $__timeFilter(start_time) AND outcome = 'answered'%[2]s
) AS l ALL INNER JOIN (
	SELECT call_id, min(mos_x1000) / 1000 AS mos,
		if(sum(expected) > 0, 100 * sum(lost) / sum(expected), 0) AS loss_pct,
		max(jitter_max_us) / 1000 AS jitter_ms, count() AS streams
	FROM %[1]s.rtp_reports FINAL
	WHERE final = 1 AND mos_x1000 > 0 AND ts >= $__fromTime AND ts < $__toTime + 14400
	GROUP BY call_id
) AS r USING call_id`, db, legWhere)
}

// nocSQL is the NOC overview's one row per trunk and direction: KPIs from
// kpi_minute, peak concurrency from kpi_concurrency_minute, MOS from
// kpi_quality_minute.
func nocSQL(db, channels string) string {
	return fmt.Sprintf(`SELECT trunk, direction, k_attempts AS attempts, k_answered AS answered,
	if(k_attempts > 0, k_answered / k_attempts, 0) AS asr,
	if(k_answered > 0, k_connected_ms / k_answered / 1000, 0) AS acd_s,
	if(k_attempts > 0, k_ner / k_attempts, 0) AS ner,
	if(k_pdd_count > 0, k_pdd_sum / k_pdd_count / 1000, 0) AS pdd_s,
	k_c503 AS c503, k_c408 AS c408,
	if(k_attempts > 0, k_c503 / k_attempts, 0) AS r503,
	if(k_attempts > 0, k_c408 / k_attempts, 0) AS r408,
	k_peak AS peak_concurrent, %[2]s AS channels,
	if(channels > 0, k_peak / channels, 0) AS utilisation,
	if(k_mos_calls > 0, k_mos_sum / k_mos_calls / 1000, 0) AS mos, k_mos_calls AS mos_calls
FROM (
	SELECT trunk, direction, k_attempts, k_answered, k_connected_ms, k_ner, k_pdd_count, k_pdd_sum, k_c503, k_c408, k_peak
	FROM (
		SELECT trunk, direction, sum(attempts) AS k_attempts, sum(answered) AS k_answered,
			sum(connected_ms) AS k_connected_ms, sum(ner_ok) AS k_ner, sum(pdd_count) AS k_pdd_count,
			sum(pdd_sum_ms) AS k_pdd_sum, sum(c503) AS k_c503, sum(c408) AS k_c408
		FROM %[1]s.kpi_minute FINAL WHERE $__timeFilter(minute)
		GROUP BY trunk, direction
	) AS k ALL LEFT JOIN (
		SELECT trunk, direction, max(peak) AS k_peak
		FROM %[1]s.kpi_concurrency_minute FINAL WHERE $__timeFilter(minute)
		GROUP BY trunk, direction
	) AS c USING (trunk, direction)
) AS kc ALL LEFT JOIN (
	SELECT trunk, direction, sum(mos_sum_x1000) AS k_mos_sum, sum(media_legs) AS k_mos_calls
	FROM %[1]s.kpi_quality_minute FINAL WHERE $__timeFilter(minute)
	GROUP BY trunk, direction
) AS m USING (trunk, direction)
ORDER BY trunk, direction`, db, channels)
}

// mosBuckets are kpi_quality_minute's cumulative MOS bucket columns and
// their upper bounds (collector/kpi.go).
var mosBuckets = []struct {
	col   string
	bound string
}{
	{"mos_le_2_0", "2.0"}, {"mos_le_2_5", "2.5"}, {"mos_le_3_0", "3.0"}, {"mos_le_3_5", "3.5"}, {"mos_le_3_6", "3.6"},
	{"mos_le_3_8", "3.8"}, {"mos_le_4_0", "4.0"}, {"mos_le_4_2", "4.2"}, {"mos_le_4_4", "4.4"},
}

// mosQuantile is the upper bound of the cumulative bucket that holds
// quantile q of the legs' MOS (4.5 above the last), from sums named
// s_<column> and s_legs in the same SELECT.
func mosQuantile(q float64) string {
	var cols, bounds []string
	for _, b := range mosBuckets {
		cols = append(cols, "s_"+b.col)
		bounds = append(bounds, b.bound)
	}
	return fmt.Sprintf("if(s_legs = 0, 0, arrayFirst((c, b) -> c >= ceil(%g * s_legs), [%s], [%s, 4.5]))",
		q, strings.Join(cols, ", ")+", s_legs", strings.Join(bounds, ", "))
}

// mosSums sums the quality rollup's buckets as s_<column>, and the legs.
func mosSums() string {
	var sums []string
	for _, b := range mosBuckets {
		sums = append(sums, fmt.Sprintf("sum(%[1]s) AS s_%[1]s", b.col))
	}
	return strings.Join(sums, ", ") + ", sum(media_legs) AS s_legs, sum(mos_sum_x1000) AS s_mos_sum"
}

// mosDistribution turns the summed cumulative buckets into one row per MOS
// band with its legs.
func mosDistribution(db, where string) string {
	var names, counts []string
	prev := ""
	for i, b := range mosBuckets {
		lo := "1.0"
		if i > 0 {
			lo = mosBuckets[i-1].bound
		}
		names = append(names, fmt.Sprintf("'%s-%s'", lo, b.bound))
		if prev == "" {
			counts = append(counts, "toInt64(s_"+b.col+")") // a difference of UInt64 is Int64
		} else {
			counts = append(counts, fmt.Sprintf("s_%s - %s", b.col, prev))
		}
		prev = "s_" + b.col
	}
	names = append(names, "'4.4-4.5'")
	counts = append(counts, "s_legs - "+prev)
	return fmt.Sprintf(`SELECT mos_band, calls FROM (
	SELECT [%s] AS bands, [%s] AS n FROM (
		SELECT %s FROM %s.kpi_quality_minute FINAL WHERE %s
	)
) ARRAY JOIN bands AS mos_band, n AS calls`, strings.Join(names, ", "), strings.Join(counts, ", "), mosSums(), db, where)
}
