package collector

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/trunkscope/trunkscope/store"
)

// Grouping selects the rows a KPI query returns.
type Grouping string

const (
	ByTrunk            Grouping = "trunk"               // per trunk and direction
	ByDestination      Grouping = "destination"         // per destination, all trunks
	ByTrunkDestination Grouping = "carrier-destination" // per trunk x destination: the wholesale view
)

// KPIQuery selects a range, a step and a grouping.
type KPIQuery struct {
	From, To time.Time
	// Step buckets the range (whole minutes); 0 means one bucket.
	Step  time.Duration
	By    Grouping
	Trunk string // only this trunk, when set
}

// KPI is one row of summed counts with the ratios computed from them.
type KPI struct {
	Bucket                                        time.Time
	Trunk, Direction, Destination                 string
	Attempts, Answered, ConnectedMs               int64
	Busy, NoAnswer, Cancelled, Rejected, Timeout  int64
	Redirected, NEROK, SEEROK, ISACount, SCRCount int64
	C408, C503                                    int64
	PDDCount, PDDSumMs                            int64
	PDDLE                                         [6]int64 // cumulative counts <= 1, 2, 3, 5, 8, 13 s
	CPSPeak                                       int64
	ConcurrentPeak                                int64 // ByTrunk only
	Codes                                         map[uint16]int64
	Quality
	Reachability // ByTrunk only: OPTIONS pings
}

// Quality is the audio quality of the answered legs with media reports.
type Quality struct {
	MediaLegs, MOSSumX1000  int64
	MOSLE                   [9]int64 // cumulative legs with MOS <= 2.0, 2.5, 3.0, 3.5, 3.6, 3.8, 4.0, 4.2, 4.4
	Streams, Packets, Lost  int64
	JitterMaxSumUS          int64 // sum over streams of each stream's largest jitter
	JitterMaxUS, OneWayLegs int64
}

// MOSMean is the mean of the legs' MOS (each the lower direction's); NaN
// without media.
func (q Quality) MOSMean() float64 {
	return ratio(q.MOSSumX1000, q.MediaLegs*1000)
}

// MOSQuantile returns the upper bound of the bucket holding quantile p of
// the legs' MOS (0.1 gives the tenth percentile alerts use); 4.5 above the
// last bucket, NaN without media.
func (q Quality) MOSQuantile(p float64) float64 {
	if q.MediaLegs == 0 {
		return math.NaN()
	}
	need := int64(math.Ceil(p * float64(q.MediaLegs)))
	for i, n := range q.MOSLE {
		if n >= need {
			return float64(mosBounds[i]) / 1000
		}
	}
	return 4.5
}

// LossPct is the share of expected packets lost, in percent.
func (q Quality) LossPct() float64 {
	return 100 * ratio(q.Lost, q.Packets+q.Lost)
}

// JitterMean is the mean over streams of each stream's largest jitter.
func (q Quality) JitterMean() time.Duration {
	if q.Streams == 0 {
		return 0
	}
	return time.Duration(q.JitterMaxSumUS/q.Streams) * time.Microsecond
}

func ratio(n, d int64) float64 {
	if d <= 0 {
		return math.NaN()
	}
	return float64(n) / float64(d)
}

func (k KPI) ASR() float64  { return ratio(k.Answered, k.Attempts) }
func (k KPI) NER() float64  { return ratio(k.NEROK, k.Attempts) }
func (k KPI) SER() float64  { return ratio(k.Answered, k.Attempts-k.Redirected) }
func (k KPI) SEER() float64 { return ratio(k.SEEROK, k.Attempts-k.Redirected) }
func (k KPI) ISA() float64  { return ratio(k.ISACount, k.Attempts) }
func (k KPI) SCR() float64  { return ratio(k.SCRCount, k.Attempts) }

// ACD is the mean connected time of answered legs.
func (k KPI) ACD() time.Duration {
	if k.Answered == 0 {
		return 0
	}
	return time.Duration(k.ConnectedMs/k.Answered) * time.Millisecond
}

// PDDMean is the mean post-dial delay.
func (k KPI) PDDMean() time.Duration {
	if k.PDDCount == 0 {
		return 0
	}
	return time.Duration(k.PDDSumMs/k.PDDCount) * time.Millisecond
}

// PDDQuantile returns the upper bound of the bucket holding quantile q
// (0 < q <= 1); beyond the last bucket it says 13 s or more as +Inf.
func (k KPI) PDDQuantile(q float64) time.Duration {
	if k.PDDCount == 0 {
		return 0
	}
	need := int64(math.Ceil(q * float64(k.PDDCount)))
	for i, n := range k.PDDLE {
		if n >= need {
			return time.Duration(pddBounds[i]) * time.Millisecond
		}
	}
	return time.Duration(math.MaxInt64)
}

// KPIs reads the rollups for q. FINAL on every rollup makes the sums exact
// whether or not ClickHouse merged the rewritten rows.
func KPIs(ctx context.Context, st store.Store, db string, q KPIQuery) ([]KPI, error) {
	if q.From.Unix() <= 0 {
		// No start given: begin at the first minute with data, so buckets
		// are labelled by when traffic was, not by 1970.
		r, err := st.Query(ctx, "SELECT toUInt32(min(minute)) AS first, count() AS n FROM "+db+".kpi_minute")
		if err != nil {
			return nil, fmt.Errorf("collector: KPIs: %w", err)
		}
		if r.Int(0, "n") > 0 {
			q.From = time.Unix(r.Int(0, "first"), 0).UTC()
		}
	}
	step := int64(q.Step / time.Second)
	if step <= 0 {
		step = max(q.To.Unix()-q.From.Unix(), 60)
	}
	step = max(step/60*60, 60)
	bucket := fmt.Sprintf("toDateTime(intDiv(toUInt32(minute) - %d, %d) * %d + %d, 'UTC')", q.From.Unix(), step, step, q.From.Unix())
	var keys, keyCols string
	switch q.By {
	case ByTrunk, "":
		keys, keyCols = "trunk, direction", "trunk, direction, '' AS destination"
	case ByDestination:
		keys, keyCols = "destination", "'' AS trunk, '' AS direction, destination"
	case ByTrunkDestination:
		keys, keyCols = "trunk, direction, destination", "trunk, direction, destination"
	default:
		return nil, fmt.Errorf("collector: KPI grouping %q: want trunk, destination or carrier-destination", q.By)
	}
	where := fmt.Sprintf("minute >= toDateTime(%d, 'UTC') AND minute < toDateTime(%d, 'UTC')", q.From.Unix(), q.To.Unix())
	if q.Trunk != "" {
		where += " AND trunk = " + store.Quote(q.Trunk)
	}
	r, err := st.Query(ctx, fmt.Sprintf(`SELECT %[1]s AS bucket, %[2]s,
		sum(attempts) AS attempts, sum(answered) AS answered, sum(connected_ms) AS connected_ms,
		sum(busy) AS busy, sum(no_answer) AS no_answer, sum(cancelled) AS cancelled, sum(rejected) AS rejected,
		sum(timeout) AS timeout, sum(redirected) AS redirected, sum(ner_ok) AS ner_ok, sum(seer_ok) AS seer_ok,
		sum(isa) AS isa, sum(scr) AS scr, sum(c408) AS c408, sum(c503) AS c503, sum(pdd_count) AS pdd_count,
		sum(pdd_sum_ms) AS pdd_sum_ms, sum(pdd_le_1s) AS le1, sum(pdd_le_2s) AS le2, sum(pdd_le_3s) AS le3,
		sum(pdd_le_5s) AS le5, sum(pdd_le_8s) AS le8, sum(pdd_le_13s) AS le13, max(cps_peak) AS cps_peak
		FROM %[3]s.kpi_minute FINAL WHERE %[4]s
		GROUP BY bucket, %[5]s HAVING attempts > 0 ORDER BY bucket, %[5]s`, bucket, keyCols, db, where, keys))
	if err != nil {
		return nil, fmt.Errorf("collector: KPIs: %w", err)
	}
	out := make([]KPI, 0, len(r.Data))
	for i := range r.Data {
		k := KPI{
			Trunk: r.String(i, "trunk"), Direction: r.String(i, "direction"), Destination: r.String(i, "destination"),
			Attempts: r.Int(i, "attempts"), Answered: r.Int(i, "answered"), ConnectedMs: r.Int(i, "connected_ms"),
			Busy: r.Int(i, "busy"), NoAnswer: r.Int(i, "no_answer"), Cancelled: r.Int(i, "cancelled"),
			Rejected: r.Int(i, "rejected"), Timeout: r.Int(i, "timeout"), Redirected: r.Int(i, "redirected"),
			NEROK: r.Int(i, "ner_ok"), SEEROK: r.Int(i, "seer_ok"), ISACount: r.Int(i, "isa"), SCRCount: r.Int(i, "scr"),
			C408: r.Int(i, "c408"), C503: r.Int(i, "c503"), PDDCount: r.Int(i, "pdd_count"), PDDSumMs: r.Int(i, "pdd_sum_ms"),
			PDDLE:   [6]int64{r.Int(i, "le1"), r.Int(i, "le2"), r.Int(i, "le3"), r.Int(i, "le5"), r.Int(i, "le8"), r.Int(i, "le13")},
			CPSPeak: r.Int(i, "cps_peak"), Codes: map[uint16]int64{},
		}
		k.Bucket, _ = time.ParseInLocation(store.DateTimeLayout, r.String(i, "bucket"), time.UTC)
		out = append(out, k)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if err := addQuality(ctx, st, db, out, bucket, keyCols, keys, where); err != nil {
		return nil, err
	}
	if q.By == ByDestination {
		for i := range out {
			out[i].CPSPeak = 0 // not derivable per destination alone
		}
		return out, nil // codes and concurrency are per trunk
	}
	codes, err := st.Query(ctx, fmt.Sprintf(`SELECT %s AS bucket, trunk, direction, code, sum(n) AS n
		FROM %s.kpi_codes_minute FINAL WHERE %s GROUP BY bucket, trunk, direction, code`, bucket, db, where))
	if err != nil {
		return nil, fmt.Errorf("collector: KPI codes: %w", err)
	}
	conc, err := st.Query(ctx, fmt.Sprintf(`SELECT %s AS bucket, trunk, direction, max(peak) AS peak, max(cps_peak) AS cps
		FROM %s.kpi_concurrency_minute FINAL WHERE %s GROUP BY bucket, trunk, direction`, bucket, db, where))
	if err != nil {
		return nil, fmt.Errorf("collector: KPI concurrency: %w", err)
	}
	if q.By != ByTrunk && q.By != "" {
		return out, nil
	}
	// Index the rows by bucket, trunk and direction: a 30-day range at a
	// one-hour step has tens of thousands of rows and codes.
	at := make(map[[3]string]*KPI, len(out))
	for i := range out {
		k := &out[i]
		k.CPSPeak = 0 // kpi_minute's is per destination; the trunk's comes from the concurrency rollup
		at[[3]string{k.Bucket.Format(store.DateTimeLayout), k.Trunk, k.Direction}] = k
	}
	for j := range codes.Data {
		if k := at[[3]string{codes.String(j, "bucket"), codes.String(j, "trunk"), codes.String(j, "direction")}]; k != nil {
			if n := codes.Int(j, "n"); n > 0 {
				k.Codes[uint16(codes.Int(j, "code"))] += n
			}
		}
	}
	for j := range conc.Data {
		if k := at[[3]string{conc.String(j, "bucket"), conc.String(j, "trunk"), conc.String(j, "direction")}]; k != nil {
			k.ConcurrentPeak = max(k.ConcurrentPeak, conc.Int(j, "peak"))
			k.CPSPeak = max(k.CPSPeak, conc.Int(j, "cps"))
		}
	}
	if out, err = addOptions(ctx, st, db, out, bucket, where); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Bucket.Before(out[j].Bucket) })
	return out, nil
}

// Reachability is what the active probe's OPTIONS pings say about a trunk in a
// bucket (all directions: a ping has none).
type Reachability struct {
	Pings, Answered int64 // answered: result ok (any SIP response)
	RTTSumUS        int64 // over the answered pings
}

// Availability is the share of pings answered; NaN without pings.
func (o Reachability) Availability() float64 { return ratio(o.Answered, o.Pings) }

// RTT is the mean round-trip time of the answered pings.
func (o Reachability) RTT() time.Duration {
	if o.Answered == 0 {
		return 0
	}
	return time.Duration(o.RTTSumUS/o.Answered) * time.Microsecond
}

// addOptions fills each trunk row's Reachability from options_pings, and adds a
// row for a trunk that was pinged but carried no call in the bucket: the
// idle backup trunk is what OPTIONS monitoring is for.
func addOptions(ctx context.Context, st store.Store, db string, out []KPI, bucket, where string) ([]KPI, error) {
	r, err := st.Query(ctx, fmt.Sprintf(`SELECT %s AS bucket, trunk, count() AS pings, countIf(result = 'ok') AS answered,
		sumIf(rtt_us, result = 'ok') AS rtt_sum
		FROM (SELECT toStartOfMinute(ts) AS minute, trunk, result, rtt_us FROM %s.options_pings FINAL) WHERE %s
		GROUP BY bucket, trunk ORDER BY bucket, trunk`, bucket, db, where))
	if err != nil {
		return nil, fmt.Errorf("collector: KPI OPTIONS: %w", err)
	}
	at := map[[2]string][]int{}
	for i := range out {
		k := [2]string{out[i].Bucket.Format(store.DateTimeLayout), out[i].Trunk}
		at[k] = append(at[k], i)
	}
	for j := range r.Data {
		o := Reachability{Pings: r.Int(j, "pings"), Answered: r.Int(j, "answered"), RTTSumUS: r.Int(j, "rtt_sum")}
		k := [2]string{r.String(j, "bucket"), r.String(j, "trunk")}
		rows, ok := at[k]
		if !ok {
			b, _ := time.ParseInLocation(store.DateTimeLayout, k[0], time.UTC)
			out = append(out, KPI{Bucket: b, Trunk: k[1], Codes: map[uint16]int64{}, Reachability: o})
			continue
		}
		for _, i := range rows {
			out[i].Reachability = o
		}
	}
	return out, r.Err()
}

// addQuality fills each row's Quality from the quality rollup, grouped as
// the KPI rows are.
func addQuality(ctx context.Context, st store.Store, db string, out []KPI, bucket, keyCols, keys, where string) error {
	var les []string
	for i, b := range mosBounds {
		les = append(les, fmt.Sprintf("sum(mos_le_%d_%d) AS le%d", b/1000, b%1000/100, i))
	}
	r, err := st.Query(ctx, fmt.Sprintf(`SELECT %[1]s AS bucket, %[2]s,
		sum(media_legs) AS media_legs, sum(mos_sum_x1000) AS mos_sum, %[3]s, sum(streams) AS streams,
		sum(packets) AS packets, sum(lost) AS lost, sum(jitter_max_sum_us) AS jitter_sum, max(jitter_max_us) AS jitter_max,
		sum(one_way) AS one_way
		FROM %[4]s.kpi_quality_minute FINAL WHERE %[5]s
		GROUP BY bucket, %[6]s`, bucket, keyCols, strings.Join(les, ", "), db, where, keys))
	if err != nil {
		return fmt.Errorf("collector: KPI quality: %w", err)
	}
	at := make(map[[4]string]*KPI, len(out))
	for i := range out {
		k := &out[i]
		at[[4]string{k.Bucket.Format(store.DateTimeLayout), k.Trunk, k.Direction, k.Destination}] = k
	}
	for i := range r.Data {
		k := at[[4]string{r.String(i, "bucket"), r.String(i, "trunk"), r.String(i, "direction"), r.String(i, "destination")}]
		if k == nil {
			continue // answered legs always have a kpi_minute row; a rollup mid-rewrite may lag
		}
		q := &k.Quality
		q.MediaLegs, q.MOSSumX1000 = r.Int(i, "media_legs"), r.Int(i, "mos_sum")
		for j := range q.MOSLE {
			q.MOSLE[j] = r.Int(i, fmt.Sprintf("le%d", j))
		}
		q.Streams, q.Packets, q.Lost = r.Int(i, "streams"), r.Int(i, "packets"), r.Int(i, "lost")
		q.JitterMaxSumUS, q.JitterMaxUS, q.OneWayLegs = r.Int(i, "jitter_sum"), r.Int(i, "jitter_max"), r.Int(i, "one_way")
	}
	return r.Err()
}
