package collector

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/trunkscope/trunkscope/store"
)

// KPI definitions. Rollups store the counts below per minute, trunk,
// direction and destination; ratios are computed at query time from sums,
// so they are exact over any range and grouping. The code sets:
//
//   - attempt: a leg's initial INVITE transaction (see outcome.go).
//   - ASR = answered / attempts.
//   - ACD = connected time of answered legs / answered.
//   - NER = (answered + final 486, 600, 603, 404, 484 + final 480 or 487
//     after an 18x) / attempts: the network did its job even when the
//     called user did not answer (ITU-T E.425 spirit, DESIGN.md's set).
//   - SER (RFC 6076 §4.6) = answered / (attempts - 3xx).
//   - SEER (RFC 6076 §4.7) = (answered + final 480, 486, 600, 603) /
//     (attempts - 3xx).
//   - ISA (RFC 6076 §4.8) = (final 408, 500, 503, 504 + no final response)
//     / attempts.
//   - SCR (RFC 6076 §4.9) = answered legs ended by a BYE / attempts.
//   - 3xx responses end the attempt and leave the SER/SEER denominators.
//   - PDD: mean from sum/count; percentiles from the cumulative buckets
//     (<= 1, 2, 3, 5, 8, 13 s), upper bound of the bucket.
//   - Concurrency: a leg occupies a channel from its INVITE to its end;
//     peak per minute against the trunk's channels.
//   - CPS: the most legs started in one second; per trunk from the
//     concurrency rollup, per trunk x destination from kpi_minute, and not
//     given per destination alone (it cannot be summed from either).
const (
	nerSQL  = "outcome = 'answered' OR final_code IN (486, 600, 603, 404, 484) OR (final_code IN (480, 487) AND ring_us > 0)"
	seerSQL = "outcome = 'answered' OR final_code IN (480, 486, 600, 603)"
	isaSQL  = "outcome = 'timeout' OR final_code IN (408, 500, 503, 504)"
	scrSQL  = "outcome = 'answered' AND hangup_by != ''"
)

var pddBounds = []int64{1000, 2000, 3000, 5000, 8000, 13000}

// rollup recomputes every per-minute KPI row the given CDRs touch, from
// cdrs FINAL, and writes whole rows with a new version (see the migration's
// notes on why this is exactly once).
// span is the range of time a set of stored CDRs touches: their starts (for
// the per-minute counts) and their ends (for concurrency).
type span struct {
	set                   bool
	first, last, concLast int64
}

func (s *span) add(c *CDR) {
	if !s.set {
		*s = span{set: true, first: c.StartUS, last: c.StartUS, concLast: max(c.EndUS, c.StartUS)}
		return
	}
	s.first, s.last = min(s.first, c.StartUS), max(s.last, c.StartUS)
	s.concLast = max(s.concLast, c.EndUS, c.StartUS)
}

// addStarts widens the span to call starts in [first, last].
func (s *span) addStarts(first, last int64) {
	if !s.set {
		*s = span{set: true, first: first, last: last, concLast: last}
		return
	}
	s.first, s.last, s.concLast = min(s.first, first), max(s.last, last), max(s.concLast, last)
}

func (s *span) merge(o span) {
	if o.set {
		s.addStarts(o.first, o.last)
		s.concLast = max(s.concLast, o.concLast)
	}
}

// rollup recomputes the rollups of every minute sp touches (concurrency
// up to the latest end). Rows are written at version+1 over zeros written
// at version, so both must be above every earlier rollup's.
func rollup(ctx context.Context, st store.Store, db string, sp span, version uint64) error {
	if !sp.set {
		return nil
	}
	from := time.UnixMicro(sp.first).UTC().Truncate(time.Minute)
	to := time.UnixMicro(sp.last).UTC().Truncate(time.Minute).Add(time.Minute)
	if err := recompute(ctx, st, db, from, to, version); err != nil {
		return err
	}
	concTo := time.UnixMicro(sp.concLast).UTC().Truncate(time.Minute).Add(time.Minute)
	if err := zeroGroups(ctx, st, db, "kpi_concurrency_minute", "minute, trunk, direction", from, concTo, version); err != nil {
		return err
	}
	return concurrency(ctx, st, db, from, concTo, version+1)
}

// rollupTables are the per-minute rollups recomputed from cdrs FINAL, with
// their grouping keys and statement.
var rollupTables = []struct {
	table, keys string
	sql         func(db string, from, to time.Time, version uint64) string
}{
	{"kpi_minute", "minute, trunk, direction, destination", minuteSQL},
	{"kpi_codes_minute", "minute, trunk, direction, code", codesSQL},
	{"kpi_quality_minute", "minute, trunk, direction, destination", qualitySQL},
}

// recompute rewrites the KPI, code and quality rollups of [from, to).
func recompute(ctx context.Context, st store.Store, db string, from, to time.Time, version uint64) error {
	for _, t := range rollupTables {
		if err := zeroGroups(ctx, st, db, t.table, t.keys, from, to, version); err != nil {
			return err
		}
		if err := st.Exec(ctx, t.sql(db, from, to, version+1)); err != nil {
			return fmt.Errorf("collector: %s rollup %s..%s: %w", t.table, from, to, err)
		}
	}
	return nil
}

// zeroGroups rewrites every group of table in [from, to) as zeros at
// version. A recompute writes the groups that exist now; a leg that moved
// (a late event changed its trunk, destination or final code, or a
// rebuild did) would otherwise stay counted in its old group too.
func zeroGroups(ctx context.Context, st store.Store, db, table, keys string, from, to time.Time, version uint64) error {
	q := fmt.Sprintf(`INSERT INTO %[1]s.%[2]s (%[3]s, version) SELECT %[3]s, toUInt64(%[4]d) FROM %[1]s.%[2]s FINAL
		WHERE minute >= toDateTime(%[5]d, 'UTC') AND minute < toDateTime(%[6]d, 'UTC')`, db, table, keys, version, from.Unix(), to.Unix())
	if err := st.Exec(ctx, q); err != nil {
		return fmt.Errorf("collector: clearing %s %s..%s: %w", table, from, to, err)
	}
	return nil
}

func rangeSQL(from, to time.Time) string {
	return fmt.Sprintf("start_time >= toDateTime(%d, 'UTC') AND start_time < toDateTime(%d, 'UTC')", from.Unix(), to.Unix())
}

// minuteSQL aggregates in two steps: per second first (for the peak calls
// per second), then per minute. Written for ClickHouse 18.16 as much as for
// current versions: no toStartOfInterval, ALL LEFT JOIN ... USING.
func minuteSQL(db string, from, to time.Time, version uint64) string {
	// Per-second columns carry an s_ prefix: an outer alias equal to an
	// inner column name would make ClickHouse see nested aggregates.
	var buckets, sums []string
	for _, b := range pddBounds {
		name := fmt.Sprintf("pdd_le_%ds", b/1000)
		buckets = append(buckets, fmt.Sprintf("countIf(pdd_ms >= 0 AND pdd_ms <= %d) AS s_%s", b, name))
		sums = append(sums, fmt.Sprintf("sum(s_%[1]s) AS %[1]s", name))
	}
	r := rangeSQL(from, to)
	return fmt.Sprintf(`INSERT INTO %[1]s.kpi_minute (minute, trunk, direction, destination, attempts, answered,
	connected_ms, busy, no_answer, cancelled, rejected, timeout, redirected, ner_ok, seer_ok, isa, scr, c408, c503,
	pdd_count, pdd_sum_ms, pdd_le_1s, pdd_le_2s, pdd_le_3s, pdd_le_5s, pdd_le_8s, pdd_le_13s, cps_peak, version)
SELECT toStartOfMinute(second) AS minute, trunk, direction, destination,
	sum(s_attempts) AS attempts, sum(s_answered) AS answered, sum(s_connected_ms) AS connected_ms, sum(s_busy) AS busy,
	sum(s_no_answer) AS no_answer, sum(s_cancelled) AS cancelled, sum(s_rejected) AS rejected, sum(s_timeout) AS timeout,
	sum(s_redirected) AS redirected, sum(s_ner_ok) AS ner_ok, sum(s_seer_ok) AS seer_ok, sum(s_isa) AS isa, sum(s_scr) AS scr,
	sum(s_c408) AS c408, sum(s_c503) AS c503, sum(s_pdd_count) AS pdd_count, sum(s_pdd_sum_ms) AS pdd_sum_ms,
	%[3]s, toUInt32(max(s_attempts)) AS cps_peak, toUInt64(%[4]d) AS version
FROM (
	SELECT start_time AS second, trunk, direction,
		if(rdest != '', rdest, if(country != '', concat('+', country), 'unknown')) AS destination,
		count() AS s_attempts, countIf(outcome = 'answered') AS s_answered,
		sumIf(duration_ms, outcome = 'answered') AS s_connected_ms,
		countIf(outcome = 'busy') AS s_busy, countIf(outcome = 'no_answer') AS s_no_answer,
		countIf(outcome = 'cancelled') AS s_cancelled, countIf(outcome = 'rejected') AS s_rejected,
		countIf(outcome = 'timeout') AS s_timeout, countIf(final_code >= 300 AND final_code < 400) AS s_redirected,
		countIf(%[5]s) AS s_ner_ok, countIf(%[6]s) AS s_seer_ok, countIf(%[7]s) AS s_isa, countIf(%[8]s) AS s_scr,
		countIf(final_code = 408) AS s_c408, countIf(final_code = 503) AS s_c503,
		countIf(pdd_ms >= 0) AS s_pdd_count, sumIf(toUInt64(pdd_ms), pdd_ms >= 0) AS s_pdd_sum_ms,
		%[2]s
	FROM (SELECT call_id, leg, start_time, trunk, direction, outcome, duration_ms, final_code, ring_us, hangup_by,
			pdd_ms, country FROM %[1]s.cdrs FINAL WHERE %[9]s) AS c
	ALL LEFT JOIN (SELECT call_id, leg, destination AS rdest FROM %[1]s.rated_cdrs FINAL
			WHERE side = 'cost' AND %[9]s) AS r USING (call_id, leg)
	GROUP BY second, trunk, direction, destination
)
GROUP BY minute, trunk, direction, destination`,
		db, strings.Join(buckets, ", "), strings.Join(sums, ", "), version, nerSQL, seerSQL, isaSQL, scrSQL, r)
}

func codesSQL(db string, from, to time.Time, version uint64) string {
	return fmt.Sprintf(`INSERT INTO %[1]s.kpi_codes_minute (minute, trunk, direction, code, n, version)
SELECT toStartOfMinute(start_time) AS minute, trunk, direction, final_code AS code, count() AS n, toUInt64(%[2]d) AS version
FROM %[1]s.cdrs FINAL WHERE %[3]s
GROUP BY minute, trunk, direction, code`, db, version, rangeSQL(from, to))
}

// concurrency recomputes the peak number of legs in progress per minute in
// [from, to) by a sweep over the legs that overlap it.
func concurrency(ctx context.Context, st store.Store, db string, from, to time.Time, version uint64) error {
	// Legs overlapping the range started at most max_duration before it; a
	// day bounds the scan (longer calls are closed by max_duration anyway).
	r, err := st.Query(ctx, fmt.Sprintf(`SELECT trunk, direction, start_us, end_us FROM %s.cdrs FINAL
		WHERE start_time >= toDateTime(%d, 'UTC') AND start_time < toDateTime(%d, 'UTC') AND end_us >= %d`,
		db, from.Add(-24*time.Hour).Unix(), to.Unix(), from.UnixMicro()))
	if err != nil {
		return fmt.Errorf("collector: concurrency legs: %w", err)
	}
	type edge struct {
		us    int64
		delta int
	}
	edges := map[[2]string][]edge{}
	for i := range r.Data {
		k := [2]string{r.String(i, "trunk"), r.String(i, "direction")}
		s, e := r.Int(i, "start_us"), r.Int(i, "end_us")
		if e < s {
			e = s
		}
		edges[k] = append(edges[k], edge{s, +1}, edge{e, -1})
	}
	if err := r.Err(); err != nil {
		return err
	}
	keys := make([][2]string, 0, len(edges))
	for k := range edges {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	var rows [][]any
	fromUS, toUS := from.UnixMicro(), to.UnixMicro()
	const minuteUS = int64(time.Minute / time.Microsecond)
	for _, k := range keys {
		es := edges[k]
		// Ends before starts at the same instant: a channel freed and taken
		// in one microsecond is not two calls at once.
		sort.Slice(es, func(i, j int) bool {
			return es[i].us < es[j].us || (es[i].us == es[j].us && es[i].delta < es[j].delta)
		})
		peaks := map[int64]int{}
		perSecond := map[int64]int{}
		cps := map[int64]int{}
		cur := 0
		for _, e := range es {
			cur += e.delta
			if e.delta > 0 {
				m := e.us - e.us%minuteUS
				peaks[m] = max(peaks[m], cur)
				sec := e.us / 1e6
				perSecond[sec]++
				cps[m] = max(cps[m], perSecond[sec])
			}
		}
		// A minute's peak is also at least what was in progress when it
		// began.
		cur, i := 0, 0
		for m := fromUS; m < toUS; m += minuteUS {
			for i < len(es) && es[i].us < m {
				cur += es[i].delta
				i++
			}
			// Every minute is written, zeros too: a rewritten leg that ended
			// sooner must be able to lower a peak written before.
			rows = append(rows, []any{time.UnixMicro(m).UTC(), k[0], k[1], uint32(max(peaks[m], cur)), uint32(cps[m]), version})
		}
	}
	if err := st.Insert(ctx, db+".kpi_concurrency_minute", []string{"minute", "trunk", "direction", "peak", "cps_peak", "version"}, rows); err != nil {
		return fmt.Errorf("collector: concurrency rollup: %w", err)
	}
	return nil
}

// RecomputeRollups rewrites the per-minute KPI, code and quality rollups
// of every minute in [from, to) from cdrs FINAL (a bench, a repair). Peak
// concurrency is recomputed by the collector as CDRs are stored; over a
// whole history it is a sweep of every leg, left to the caller.
func RecomputeRollups(ctx context.Context, st store.Store, db string, from, to time.Time) error {
	return recompute(ctx, st, db, from, to, uint64(time.Now().UnixNano()))
}

// mosBounds are the quality rollup's cumulative MOS buckets (x1000): fine
// around the 3.5-4.0 band where G.711 calls degrade, so low percentiles and
// the alert thresholds read well.
var mosBounds = []int64{2000, 2500, 3000, 3500, 3600, 3800, 4000, 4200, 4400}

// qualitySQL recomputes the audio-quality rollup of the answered legs that
// started in [from, to). Per leg and direction it takes the final stream
// reports of the Call-ID (direction 1 from the caller, 2 towards it, 0 when
// the SDP did not say); the leg's MOS is the lower direction's. A leg is
// one-way when all its streams flow in one known direction (a stream exists
// only once packets were seen). One
// JOIN per SELECT, ALL ... USING: ClickHouse 18.16 runs it as chDB does.
func qualitySQL(db string, from, to time.Time, version uint64) string {
	var buckets, sums []string
	for _, b := range mosBounds {
		name := fmt.Sprintf("mos_le_%d_%d", b/1000, b%1000/100)
		buckets = append(buckets, name)
		sums = append(sums, fmt.Sprintf("countIf(leg_mos <= %d) AS %s", b, name))
	}
	r := rangeSQL(from, to)
	return fmt.Sprintf(`INSERT INTO %[1]s.kpi_quality_minute (minute, trunk, direction, destination, media_legs, mos_sum_x1000,
	%[2]s, streams, packets, lost, jitter_max_sum_us, jitter_max_us, one_way, version)
SELECT toStartOfMinute(start_time) AS minute, trunk, direction, destination,
	count() AS media_legs, sum(leg_mos) AS mos_sum_x1000, %[3]s,
	sum(m_streams) AS streams, sum(m_packets) AS packets, sum(m_lost) AS lost,
	sum(m_jitter_sum) AS jitter_max_sum_us, toUInt32(max(m_jitter_max)) AS jitter_max_us,
	countIf(fwd_known = m_streams OR rev_known = m_streams) AS one_way,
	toUInt64(%[4]d) AS version
FROM (
	SELECT start_time, trunk, direction, destination, fwd_known, rev_known,
		m_streams, m_packets, m_lost, m_jitter_sum, m_jitter_max, toUInt64(m_mos) AS leg_mos
	FROM (
		SELECT call_id, start_time, trunk, direction,
			if(rdest != '', rdest, if(country != '', concat('+', country), 'unknown')) AS destination
		FROM (SELECT call_id, leg, start_time, trunk, direction, country FROM %[1]s.cdrs FINAL
				WHERE %[5]s AND outcome = 'answered') AS c
		ALL LEFT JOIN (SELECT call_id, leg, destination AS rdest FROM %[1]s.rated_cdrs FINAL
				WHERE side = 'cost' AND %[5]s) AS r USING (call_id, leg)
	) AS legs
	ALL INNER JOIN (
		SELECT call_id, count() AS m_streams, sum(packets) AS m_packets, sum(lost) AS m_lost,
			sum(jitter_max_us) AS m_jitter_sum, max(jitter_max_us) AS m_jitter_max, min(mos_x1000) AS m_mos,
			countIf(direction = 1) AS fwd_known, countIf(direction = 2) AS rev_known
		FROM %[1]s.rtp_reports FINAL
		WHERE final = 1 AND call_id GLOBAL IN (SELECT call_id FROM %[1]s.cdrs WHERE %[5]s AND outcome = 'answered')
		GROUP BY call_id
	) AS m USING (call_id)
)
GROUP BY minute, trunk, direction, destination`,
		db, strings.Join(buckets, ", "), strings.Join(sums, ", "), version, r)
}
