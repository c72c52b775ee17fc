package dashboards

import (
	"fmt"
	"strings"
)

// Options select what the dashboards are generated for.
type Options struct {
	// Database is the ClickHouse database the panels read.
	Database string
	// DatasourceUID names the provisioned ClickHouse datasource every panel
	// and alert rule refers to.
	DatasourceUID string
	// Trunks in configuration order, with their channels (for utilisation).
	Trunks []Trunk
	// LadderURL links a call in the worst-calls table to the call ladder;
	// ${__value.raw} is the Call-ID.
	LadderURL string
}

// Trunk is a configured trunk.
type Trunk struct {
	Name     string
	Channels int
}

// DefaultDatasourceUID is the provisioned datasource's UID.
const DefaultDatasourceUID = "trunkscope-clickhouse"

// DefaultLadderURL is the ladder link of the worst-calls table.
const DefaultLadderURL = "http://localhost:9470/api/v1/calls/${__value.raw}/ladder" // the API's default --api-listen

func (o Options) withDefaults() Options {
	if o.Database == "" {
		o.Database = "trunkscope"
	}
	if o.DatasourceUID == "" {
		o.DatasourceUID = DefaultDatasourceUID
	}
	if o.LadderURL == "" {
		o.LadderURL = DefaultLadderURL
	}
	return o
}

// Panel kinds (Grafana panel plugin types).
const (
	kindTable      = "table"
	kindTimeSeries = "timeseries"
	kindBarChart   = "barchart"
	kindStat       = "stat"
)

// Panel is one panel: its visualisation, its SQL and the columns the SQL
// must return (checked by Check).
type Panel struct {
	Title, Description string
	Kind               string
	Format             Format
	SQL                string
	Columns            []string
	Unit               string
	Width, Height      int
	// Thresholds colour values (table cells, stats): ascending steps.
	Thresholds []Step
	// Overrides by column: unit and thresholds per field.
	Fields []Field
	// Link, when set, makes the first column a link.
	Link string
	// Tables the panel reads that another component creates (e.g. the
	// active probe's): Check names them when missing.
	Needs []string
}

// Step is a threshold step: from Value upwards, Color.
type Step struct {
	Value *float64
	Color string
}

// Field overrides one column's display.
type Field struct {
	Name       string
	Unit       string
	Thresholds []Step
}

// Variable is a dashboard template variable.
type Variable struct {
	Name, Label string
	// Query, when set, is a ClickHouse query listing the values; else
	// Values is a fixed list.
	Query    string
	Values   []string
	IncludeA bool
}

// Dashboard is one dashboard's definition.
type Dashboard struct {
	UID, Title, Description string
	Tags                    []string
	Variables               []Variable
	Panels                  []Panel
}

func f(v float64) *float64 { return &v }

var (
	// higher is better (ASR, NER, MOS): red, orange, green.
	stepsASR = []Step{{nil, "red"}, {f(0.3), "orange"}, {f(0.45), "green"}}
	stepsNER = []Step{{nil, "red"}, {f(0.8), "orange"}, {f(0.95), "green"}}
	stepsMOS = []Step{{nil, "red"}, {f(3.1), "orange"}, {f(3.6), "green"}}
	// lower is better (error rates, PDD, utilisation).
	stepsRate = []Step{{nil, "green"}, {f(0.05), "orange"}, {f(0.15), "red"}}
	stepsPDD  = []Step{{nil, "green"}, {f(3), "orange"}, {f(6), "red"}}
	stepsUtil = []Step{{nil, "green"}, {f(0.75), "orange"}, {f(0.9), "red"}}
)

// Specs returns the six dashboards' definitions.
func Specs(o Options) []Dashboard {
	o = o.withDefaults()
	db := o.Database
	chExpr := o.Channels()
	trunkVar := func(all bool) Variable {
		return Variable{Name: "trunk", Label: "Trunk", IncludeA: all,
			Query: fmt.Sprintf("SELECT DISTINCT trunk FROM %s.kpi_minute FINAL WHERE $__timeFilter(minute) ORDER BY trunk", db)}
	}
	dirVar := Variable{Name: "direction", Label: "Direction", Values: []string{"outbound", "inbound"}, IncludeA: true}
	return []Dashboard{
		noc(db, chExpr),
		trunkDetail(db, chExpr, trunkVar(false), dirVar),
		quality(db, o.LadderURL, trunkVar(true)),
		sipErrors(db, trunkVar(true)),
		probes(db),
		finance(db),
	}
}

func noc(db, ch string) Dashboard {
	return Dashboard{UID: "trunkscope-noc", Title: "trunkscope / NOC overview", Tags: []string{"trunkscope", "noc"},
		Description: "All trunks at a glance: one row per trunk and direction, coloured by thresholds.",
		Panels: []Panel{
			{Title: "Trunks", Kind: kindTable, Format: FormatTable, Width: 24, Height: 10, SQL: nocSQL(db, ch),
				Description: "KPIs from the per-minute rollups over the dashboard's time range; MOS is the mean of the answered calls' MOS (the lower direction).",
				Columns:     []string{"trunk", "direction", "attempts", "answered", "asr", "acd_s", "ner", "pdd_s", "c503", "c408", "r503", "r408", "peak_concurrent", "channels", "utilisation", "mos", "mos_calls"},
				Fields: []Field{{Name: "asr", Unit: "percentunit", Thresholds: stepsASR}, {Name: "ner", Unit: "percentunit", Thresholds: stepsNER},
					{Name: "acd_s", Unit: "s"}, {Name: "pdd_s", Unit: "s", Thresholds: stepsPDD},
					{Name: "r503", Unit: "percentunit", Thresholds: stepsRate}, {Name: "r408", Unit: "percentunit", Thresholds: stepsRate},
					{Name: "utilisation", Unit: "percentunit", Thresholds: stepsUtil}, {Name: "mos", Thresholds: stepsMOS}}},
			{Title: "OPTIONS state", Kind: kindTable, Format: FormatTable, Width: 8, Height: 8, Needs: []string{"options_pings"},
				Description: "Latest OPTIONS probe result per trunk (active probe).",
				SQL: fmt.Sprintf(`SELECT trunk, argMax(state, ts_us) AS state, argMax(code, ts_us) AS last_code,
	argMax(rtt_us, ts_us) / 1000 AS rtt_ms, max(ts) AS last_probe
FROM %s.options_pings FINAL WHERE $__timeFilter(ts)
GROUP BY trunk ORDER BY trunk`, db),
				Columns: []string{"trunk", "state", "last_code", "rtt_ms", "last_probe"}},
			{Title: "Attempts per minute", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 16, Height: 8,
				SQL: fmt.Sprintf(`SELECT %s, trunk, sum(attempts) AS attempts
FROM %s.kpi_minute FINAL WHERE $__timeFilter(minute)
GROUP BY time, trunk ORDER BY time, trunk`, timeBucket("minute"), db),
				Columns: []string{"time", "trunk", "attempts"}},
			{Title: "ASR", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 12, Height: 8, Unit: "percentunit",
				SQL: fmt.Sprintf(`SELECT time, trunk, if(k_attempts > 0, k_answered / k_attempts, 0) AS asr FROM (
	SELECT %s, trunk, sum(attempts) AS k_attempts, sum(answered) AS k_answered
	FROM %s.kpi_minute FINAL WHERE $__timeFilter(minute)
	GROUP BY time, trunk
) ORDER BY time, trunk`, timeBucket("minute"), db),
				Columns: []string{"time", "trunk", "asr"}},
			{Title: "503 and 408 per minute", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 12, Height: 8,
				SQL: fmt.Sprintf(`SELECT %s, trunk, sum(c503) AS c503, sum(c408) AS c408
FROM %s.kpi_minute FINAL WHERE $__timeFilter(minute)
GROUP BY time, trunk ORDER BY time, trunk`, timeBucket("minute"), db),
				Columns: []string{"time", "trunk", "c503", "c408"}},
			{Title: "Concurrent calls vs channels", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 24, Height: 8, Unit: "percentunit",
				Description: "Peak concurrent legs per minute divided by the trunk's configured channels.",
				SQL: fmt.Sprintf(`SELECT time, trunk, if(%[3]s > 0, k_peak / %[3]s, 0) AS utilisation FROM (
	SELECT %[1]s, trunk, max(k_minute_peak) AS k_peak FROM (
		SELECT minute, trunk, sum(peak) AS k_minute_peak
		FROM %[2]s.kpi_concurrency_minute FINAL WHERE $__timeFilter(minute)
		GROUP BY minute, trunk
	) GROUP BY time, trunk
) ORDER BY time, trunk`, timeBucket("minute"), db, ch),
				Columns: []string{"time", "trunk", "utilisation"}},
		}}
}

func trunkDetail(db, ch string, tv, dv Variable) Dashboard {
	w := "$__timeFilter(minute) AND trunk = " + varTrunk + " AND " + dirFilter
	return Dashboard{UID: "trunkscope-trunk", Title: "trunkscope / Trunk detail", Tags: []string{"trunkscope", "trunk"},
		Description: "One trunk (and direction): every KPI over time, response codes, PDD distribution, failing destinations.",
		Variables:   []Variable{tv, dv},
		Panels: []Panel{
			{Title: "ASR, NER, SER", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 12, Height: 8, Unit: "percentunit",
				SQL: fmt.Sprintf(`SELECT time, if(k_attempts > 0, k_answered / k_attempts, 0) AS asr,
	if(k_attempts > 0, k_ner / k_attempts, 0) AS ner,
	if(k_attempts > k_redirected, k_answered / (k_attempts - k_redirected), 0) AS ser
FROM (
	SELECT %s, sum(attempts) AS k_attempts, sum(answered) AS k_answered, sum(ner_ok) AS k_ner, sum(redirected) AS k_redirected
	FROM %s.kpi_minute FINAL WHERE %s GROUP BY time
) ORDER BY time`, timeBucket("minute"), db, w),
				Columns: []string{"time", "asr", "ner", "ser"}},
			{Title: "Attempts and answered", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 12, Height: 8,
				SQL: fmt.Sprintf(`SELECT %s, sum(attempts) AS attempts, sum(answered) AS answered, sum(busy) AS busy,
	sum(no_answer) AS no_answer, sum(rejected) AS rejected, sum(timeout) AS timeout, sum(cancelled) AS cancelled
FROM %s.kpi_minute FINAL WHERE %s GROUP BY time ORDER BY time`, timeBucket("minute"), db, w),
				Columns: []string{"time", "attempts", "answered", "busy", "no_answer", "rejected", "timeout", "cancelled"}},
			{Title: "ACD and mean PDD", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 12, Height: 8, Unit: "s",
				SQL: fmt.Sprintf(`SELECT time, if(k_answered > 0, k_connected_ms / k_answered / 1000, 0) AS acd_s,
	if(k_pdd_count > 0, k_pdd_sum / k_pdd_count / 1000, 0) AS pdd_s
FROM (
	SELECT %s, sum(answered) AS k_answered, sum(connected_ms) AS k_connected_ms,
		sum(pdd_count) AS k_pdd_count, sum(pdd_sum_ms) AS k_pdd_sum
	FROM %s.kpi_minute FINAL WHERE %s GROUP BY time
) ORDER BY time`, timeBucket("minute"), db, w),
				Columns: []string{"time", "acd_s", "pdd_s"}},
			{Title: "Concurrent calls and calls per second", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 12, Height: 8,
				SQL: fmt.Sprintf(`SELECT %s, max(peak) AS peak_concurrent, max(cps_peak) AS cps_peak, any(%s) AS channels
FROM %s.kpi_concurrency_minute FINAL WHERE %s GROUP BY time ORDER BY time`, timeBucket("minute"), ch, db, w),
				Columns: []string{"time", "peak_concurrent", "cps_peak", "channels"}},
			{Title: "Final response codes", Kind: kindBarChart, Format: FormatTable, Width: 8, Height: 8,
				Description: "Code 0 is no final response (timeout).",
				SQL: fmt.Sprintf(`SELECT toString(code) AS response, sum(n) AS calls
FROM %s.kpi_codes_minute FINAL WHERE %s GROUP BY response ORDER BY calls DESC, response`, db, w),
				Columns: []string{"response", "calls"}},
			{Title: "PDD distribution", Kind: kindBarChart, Format: FormatTable, Width: 8, Height: 8,
				Description: "Legs by post-dial delay bucket (from the cumulative rollup buckets).",
				SQL: fmt.Sprintf(`SELECT bucket, calls FROM (
	SELECT sum(pdd_le_1s) AS b1, sum(pdd_le_2s) AS b2, sum(pdd_le_3s) AS b3, sum(pdd_le_5s) AS b5,
		sum(pdd_le_8s) AS b8, sum(pdd_le_13s) AS b13, sum(pdd_count) AS bn
	FROM %s.kpi_minute FINAL WHERE %s
) ARRAY JOIN
	['<=1s', '1-2s', '2-3s', '3-5s', '5-8s', '8-13s', '>13s'] AS bucket,
	[toInt64(b1), b2 - b1, b3 - b2, b5 - b3, b8 - b5, b13 - b8, bn - b13] AS calls`, db, w),
				Columns: []string{"bucket", "calls"}},
			{Title: "Top failing destinations", Kind: kindTable, Format: FormatTable, Width: 8, Height: 8,
				SQL: fmt.Sprintf(`SELECT destination, k_attempts AS attempts, k_attempts - k_answered AS failed,
	if(k_attempts > 0, k_answered / k_attempts, 0) AS asr, k_c503 AS c503, k_c408 AS c408
FROM (
	SELECT destination, sum(attempts) AS k_attempts, sum(answered) AS k_answered, sum(c503) AS k_c503, sum(c408) AS k_c408
	FROM %s.kpi_minute FINAL WHERE %s GROUP BY destination
) ORDER BY failed DESC, destination LIMIT 20`, db, w),
				Columns: []string{"destination", "attempts", "failed", "asr", "c503", "c408"},
				Fields:  []Field{{Name: "asr", Unit: "percentunit", Thresholds: stepsASR}}},
			{Title: "Response codes over time", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 24, Height: 8,
				SQL: fmt.Sprintf(`SELECT %s, toString(code) AS response, sum(n) AS calls
FROM %s.kpi_codes_minute FINAL WHERE %s AND code != 200 GROUP BY time, response ORDER BY time, response`, timeBucket("minute"), db, w),
				Columns: []string{"time", "response", "calls"}},
		}}
}

func quality(db, ladder string, tv Variable) Dashboard {
	legs := callMOS(db, " AND "+trunkFilter)
	return Dashboard{UID: "trunkscope-quality", Title: "trunkscope / Call quality", Tags: []string{"trunkscope", "quality"},
		Description: "MOS (ITU-T G.107 E-model from the probe's RTP analysis), loss and jitter of answered calls.",
		Variables:   []Variable{tv},
		Panels: []Panel{
			{Title: "MOS distribution", Kind: kindBarChart, Format: FormatTable, Width: 8, Height: 8,
				Description: "Answered legs with media per MOS band (the lower direction's MOS), from the quality rollup.",
				SQL:         mosDistribution(db, "$__timeFilter(minute) AND "+trunkFilter),
				Columns:     []string{"mos_band", "calls"}},
			{Title: "MOS mean and low percentiles", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 16, Height: 8,
				Description: "Percentiles are the upper bounds of the rollup's MOS buckets.",
				SQL: fmt.Sprintf(`SELECT time, if(s_legs > 0, s_mos_sum / s_legs / 1000, 0) AS mos_mean, %s AS mos_p10, %s AS mos_p5 FROM (
	SELECT %s, %s FROM %s.kpi_quality_minute FINAL WHERE $__timeFilter(minute) AND %s GROUP BY time
) ORDER BY time`, mosQuantile(0.1), mosQuantile(0.05), timeBucket("minute"), mosSums(), db, trunkFilter),
				Columns: []string{"time", "mos_mean", "mos_p10", "mos_p5"}},
			{Title: "Packet loss and jitter", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 12, Height: 8,
				Description: "Loss of all streams; jitter: the mean and the largest of each stream's maximum.",
				SQL: fmt.Sprintf(`SELECT %s, if(sum(packets) + sum(lost) > 0, 100 * sum(lost) / (sum(packets) + sum(lost)), 0) AS loss_pct,
	if(sum(streams) > 0, sum(jitter_max_sum_us) / sum(streams) / 1000, 0) AS jitter_ms_mean, max(jitter_max_us) / 1000 AS jitter_ms_max
FROM %s.kpi_quality_minute FINAL WHERE $__timeFilter(minute) AND %s GROUP BY time ORDER BY time`, timeBucket("minute"), db, trunkFilter),
				Columns: []string{"time", "loss_pct", "jitter_ms_mean", "jitter_ms_max"}},
			{Title: "One-way audio calls", Kind: kindTable, Format: FormatTable, Width: 12, Height: 8,
				Description: "Answered legs with media in one direction only (final stream reports).",
				SQL: fmt.Sprintf(`SELECT call_id, trunk, direction, start_time, k_dirs AS media_directions FROM (
	SELECT call_id, trunk, direction, start_time FROM %[1]s.cdrs FINAL
	WHERE $__timeFilter(start_time) AND outcome = 'answered' AND %[2]s
) AS l ALL INNER JOIN (
	SELECT call_id, uniqExact(src_ip, src_port) AS k_dirs FROM %[1]s.rtp_reports FINAL
	WHERE final = 1 AND packets > 0 AND ts >= $__fromTime AND ts < $__toTime + 14400
	GROUP BY call_id
) AS r USING call_id
WHERE k_dirs = 1 ORDER BY start_time DESC LIMIT 100`, db, trunkFilter),
				Columns: []string{"call_id", "trunk", "direction", "start_time", "media_directions"}, Link: ladder},
			{Title: "Worst calls", Kind: kindTable, Format: FormatTable, Width: 24, Height: 10,
				Description: "Lowest MOS first; the Call-ID opens the call's SIP ladder.",
				SQL: fmt.Sprintf(`SELECT call_id, trunk, direction, start_time, mos, loss_pct, jitter_ms, streams
FROM (%s) ORDER BY mos, call_id LIMIT 50`, legs),
				Columns: []string{"call_id", "trunk", "direction", "start_time", "mos", "loss_pct", "jitter_ms", "streams"},
				Fields:  []Field{{Name: "mos", Thresholds: stepsMOS}}, Link: ladder},
		}}
}

func sipErrors(db string, tv Variable) Dashboard {
	return Dashboard{UID: "trunkscope-sip-errors", Title: "trunkscope / SIP errors", Tags: []string{"trunkscope", "sip"},
		Description: "Final error responses and Reason header causes (SIP and Q.850).",
		Variables:   []Variable{tv},
		Panels: []Panel{
			{Title: "Error responses over time", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 24, Height: 8,
				Description: "Final codes 400 and above, and 0 (no final response).",
				SQL: fmt.Sprintf(`SELECT %s, toString(code) AS response, sum(n) AS calls
FROM %s.kpi_codes_minute FINAL WHERE $__timeFilter(minute) AND %s AND (code >= 400 OR code = 0)
GROUP BY time, response ORDER BY time, response`, timeBucket("minute"), db, trunkFilter),
				Columns: []string{"time", "response", "calls"}},
			{Title: "Error codes by trunk", Kind: kindTable, Format: FormatTable, Width: 12, Height: 10,
				SQL: fmt.Sprintf(`SELECT trunk, code, k_n AS calls, if(k_total > 0, k_n / k_total, 0) AS share FROM (
	SELECT trunk, code, k_n FROM (
		SELECT trunk, code, sum(n) AS k_n FROM %[1]s.kpi_codes_minute FINAL
		WHERE $__timeFilter(minute) AND %[2]s GROUP BY trunk, code
	)
) AS l ALL INNER JOIN (
	SELECT trunk, sum(n) AS k_total FROM %[1]s.kpi_codes_minute FINAL
	WHERE $__timeFilter(minute) AND %[2]s GROUP BY trunk
) AS r USING trunk
WHERE code >= 400 OR code = 0 ORDER BY trunk, calls DESC, code`, db, trunkFilter),
				Columns: []string{"trunk", "code", "calls", "share"},
				Fields:  []Field{{Name: "share", Unit: "percentunit", Thresholds: stepsRate}}},
			{Title: "Reason causes", Kind: kindTable, Format: FormatTable, Width: 12, Height: 10,
				Description: "Reason header (RFC 3326) of the message that ended the leg: SIP or Q.850 cause.",
				SQL: fmt.Sprintf(`SELECT reason_protocol AS protocol, reason_cause AS cause, any(reason_text) AS text, count() AS legs
FROM %s.cdrs FINAL WHERE $__timeFilter(start_time) AND %s AND reason_protocol != ''
GROUP BY protocol, cause ORDER BY legs DESC, protocol, cause`, db, trunkFilter),
				Columns: []string{"protocol", "cause", "text", "legs"}},
			{Title: "503 and 408 share of attempts", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 24, Height: 8, Unit: "percentunit",
				SQL: fmt.Sprintf(`SELECT time, trunk, if(k_attempts > 0, k_c503 / k_attempts, 0) AS r503, if(k_attempts > 0, k_c408 / k_attempts, 0) AS r408
FROM (
	SELECT %s, trunk, sum(attempts) AS k_attempts, sum(c503) AS k_c503, sum(c408) AS k_c408
	FROM %s.kpi_minute FINAL WHERE $__timeFilter(minute) AND %s GROUP BY time, trunk
) ORDER BY time, trunk`, timeBucket("minute"), db, trunkFilter),
				Columns: []string{"time", "trunk", "r503", "r408"}},
		}}
}

func probes(db string) Dashboard {
	op, tc := []string{"options_pings"}, []string{"test_calls"}
	return Dashboard{UID: "trunkscope-probes", Title: "trunkscope / Active probes", Tags: []string{"trunkscope", "probes"},
		Description: "SIP OPTIONS pings (RTT, availability) and test calls (setup, MOS) of the active probe.",
		Panels: []Panel{
			{Title: "OPTIONS round-trip time", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 12, Height: 8, Unit: "ms", Needs: op,
				SQL: fmt.Sprintf(`SELECT %s, trunk, avg(rtt_us) / 1000 AS rtt_ms
FROM %s.options_pings FINAL WHERE $__timeFilter(ts) AND code > 0
GROUP BY time, trunk ORDER BY time, trunk`, timeBucket("ts"), db),
				Columns: []string{"time", "trunk", "rtt_ms"}},
			{Title: "OPTIONS availability", Kind: kindTable, Format: FormatTable, Width: 12, Height: 8, Needs: op,
				SQL: fmt.Sprintf(`SELECT trunk, count() AS probes, countIf(result = 'ok') AS ok,
	if(probes > 0, ok / probes, 0) AS availability, argMax(state, ts_us) AS state, argMax(result, ts_us) AS last_result
FROM %s.options_pings FINAL WHERE $__timeFilter(ts) GROUP BY trunk ORDER BY trunk`, db),
				Columns: []string{"trunk", "probes", "ok", "availability", "state", "last_result"},
				Fields:  []Field{{Name: "availability", Unit: "percentunit", Thresholds: []Step{{nil, "red"}, {f(0.95), "orange"}, {f(0.99), "green"}}}}},
			{Title: "Test call MOS", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 12, Height: 8, Needs: tc,
				SQL: fmt.Sprintf(`SELECT %s, trunk, avg(mos_x1000) / 1000 AS mos
FROM %s.test_calls FINAL WHERE $__timeFilter(ts) AND mos_x1000 > 0
GROUP BY time, trunk ORDER BY time, trunk`, timeBucket("ts"), db),
				Columns: []string{"time", "trunk", "mos"}},
			{Title: "Test call results", Kind: kindTable, Format: FormatTable, Width: 12, Height: 8, Needs: tc,
				SQL: fmt.Sprintf(`SELECT trunk, result, count() AS calls, avg(pdd_ms) / 1000 AS pdd_s, avg(mos_x1000) / 1000 AS mos
FROM %s.test_calls FINAL WHERE $__timeFilter(ts) GROUP BY trunk, result ORDER BY trunk, result`, db),
				Columns: []string{"trunk", "result", "calls", "pdd_s", "mos"}},
			{Title: "Recent test calls", Kind: kindTable, Format: FormatTable, Width: 24, Height: 8, Needs: tc,
				SQL: fmt.Sprintf(`SELECT ts, trunk, target, result, code, pdd_ms, duration_ms,
	if(rx_packets + rx_lost > 0, 100 * rx_lost / (rx_packets + rx_lost), 0) AS loss_pct, jitter_us / 1000 AS jitter_ms, mos_x1000 / 1000 AS mos, call_id
FROM %s.test_calls FINAL WHERE $__timeFilter(ts) ORDER BY ts DESC, call_id LIMIT 100`, db),
				Columns: []string{"ts", "trunk", "target", "result", "code", "pdd_ms", "duration_ms", "loss_pct", "jitter_ms", "mos", "call_id"}},
		}}
}

func finance(db string) Dashboard {
	money := func(side string) string {
		return fmt.Sprintf("sumIf(amount / pow(10, decimals), side = '%s')", side)
	}
	per := func(key, label string) Panel {
		return Panel{Title: "By " + label, Kind: kindTable, Format: FormatTable, Width: 8, Height: 10,
			SQL: fmt.Sprintf(`SELECT %[2]s AS %[3]s, currency, sumIf(billable_s, side = 'cost') / 60 AS minutes,
	%[4]s AS cost, %[5]s AS price, price - cost AS margin
FROM %[1]s.rated_cdrs FINAL WHERE $__timeFilter(start_time)
GROUP BY %[3]s, currency ORDER BY margin, %[3]s LIMIT 50`, db, key, strings.ReplaceAll(label, " ", "_"), money("cost"), money("price")),
			Columns: []string{strings.ReplaceAll(label, " ", "_"), "currency", "minutes", "cost", "price", "margin"},
			Fields:  []Field{{Name: "margin", Thresholds: []Step{{nil, "red"}, {f(0), "green"}}}}}
	}
	carrier := per("if(side = 'cost', trunk, '')", "carrier")
	carrier.SQL = fmt.Sprintf(`SELECT trunk AS carrier, currency, sum(billable_s) / 60 AS minutes, sum(amount / pow(10, decimals)) AS cost
FROM %s.rated_cdrs FINAL WHERE $__timeFilter(start_time) AND side = 'cost'
GROUP BY carrier, currency ORDER BY cost DESC, carrier LIMIT 50`, db)
	carrier.Columns = []string{"carrier", "currency", "minutes", "cost"}
	carrier.Fields = nil
	customer := per("", "customer")
	customer.SQL = fmt.Sprintf(`SELECT if(customer != '', customer, trunk) AS customer, currency, sum(billable_s) / 60 AS minutes, sum(amount / pow(10, decimals)) AS price
FROM %s.rated_cdrs FINAL WHERE $__timeFilter(start_time) AND side = 'price'
GROUP BY customer, currency ORDER BY price DESC, customer LIMIT 50`, db)
	customer.Columns = []string{"customer", "currency", "minutes", "price"}
	customer.Fields = nil
	return Dashboard{UID: "trunkscope-finance", Title: "trunkscope / Finance", Tags: []string{"trunkscope", "finance"},
		Description: "Rated minutes: cost (carrier side), price (customer side) and margin; display figures, the exact amounts are in rated_cdrs.",
		Panels: []Panel{
			{Title: "Totals", Kind: kindTable, Format: FormatTable, Width: 24, Height: 5,
				SQL: fmt.Sprintf(`SELECT currency, sumIf(billable_s, side = 'cost') / 60 AS cost_minutes, sumIf(billable_s, side = 'price') / 60 AS price_minutes,
	%s AS cost, %s AS price, price - cost AS margin
FROM %s.rated_cdrs FINAL WHERE $__timeFilter(start_time) GROUP BY currency ORDER BY currency`, money("cost"), money("price"), db),
				Columns: []string{"currency", "cost_minutes", "price_minutes", "cost", "price", "margin"}},
			{Title: "Cost, price and margin over time", Kind: kindTimeSeries, Format: FormatTimeSeries, Width: 24, Height: 8,
				SQL: fmt.Sprintf(`SELECT time, cost, price, price - cost AS margin FROM (
	SELECT %s, %s AS cost, %s AS price
	FROM %s.rated_cdrs FINAL WHERE $__timeFilter(start_time) GROUP BY time
) ORDER BY time`, timeBucket("start_time"), money("cost"), money("price"), db),
				Columns: []string{"time", "cost", "price", "margin"}},
			carrier, customer, per("destination", "destination"),
		}}
}
