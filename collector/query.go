package collector

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/rating"
	"github.com/trunkscope/trunkscope/store"
)

// TrunkSummary is one row of the per-trunk table.
type TrunkSummary struct {
	Trunk, Direction string
	Attempts         int64
	Answered         int64
	DurationMs       int64
	BillableS        int64
	Cost             rating.Amount
	Currency         string
	Outcomes         map[Outcome]int64
}

// ASR is answered / attempts, in percent.
func (s TrunkSummary) ASR() float64 {
	if s.Attempts == 0 {
		return 0
	}
	return 100 * float64(s.Answered) / float64(s.Attempts)
}

// ACD is the mean connected time of answered calls.
func (s TrunkSummary) ACD() time.Duration {
	if s.Answered == 0 {
		return 0
	}
	return time.Duration(s.DurationMs/s.Answered) * time.Millisecond
}

// Summary reads the per-trunk figures from the store. FINAL makes them
// exact whether or not ClickHouse has merged away rewritten rows.
func Summary(ctx context.Context, st store.Store, db string) ([]TrunkSummary, error) {
	r, err := st.Query(ctx, `SELECT trunk, direction, outcome, count() AS n, sum(duration_ms) AS dur
		FROM `+db+`.cdrs FINAL GROUP BY trunk, direction, outcome ORDER BY trunk, direction, outcome`)
	if err != nil {
		return nil, fmt.Errorf("collector: summary: %w", err)
	}
	var out []TrunkSummary
	idx := map[[2]string]int{}
	for i := range r.Data {
		k := [2]string{r.String(i, "trunk"), r.String(i, "direction")}
		j, ok := idx[k]
		if !ok {
			j = len(out)
			idx[k] = j
			out = append(out, TrunkSummary{Trunk: k[0], Direction: k[1], Outcomes: map[Outcome]int64{}})
		}
		n, o := r.Int(i, "n"), Outcome(r.String(i, "outcome"))
		s := &out[j]
		s.Attempts += n
		s.Outcomes[o] += n
		if o == Answered {
			s.Answered += n
			s.DurationMs += r.Int(i, "dur")
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	m, err := st.Query(ctx, `SELECT trunk, currency, any(decimals) AS decimals, sum(amount) AS amount,
		sum(billable_s) AS billable FROM `+db+`.rated_cdrs FINAL WHERE side = 'cost' GROUP BY trunk, currency`)
	if err != nil {
		return nil, fmt.Errorf("collector: summary costs: %w", err)
	}
	for i := range m.Data {
		for j := range out {
			if out[j].Trunk == m.String(i, "trunk") && out[j].Trunk != "" {
				out[j].Cost = rating.Amount{Units: m.Int(i, "amount"), Decimals: uint8(m.Int(i, "decimals"))}
				out[j].Currency = m.String(i, "currency")
				out[j].BillableS = m.Int(i, "billable")
			}
		}
	}
	return out, m.Err()
}

// ExportColumns are the columns of `cdr export`, in order.
var ExportColumns = []string{"call_id", "leg", "trunk", "direction", "caller", "callee", "start", "answer", "end",
	"pdd_ms", "duration_ms", "outcome", "final_code", "hangup_by", "flags", "billable_s", "cost", "currency",
	"destination", "deck_version", "caller_e164", "callee_e164", "ring_ms", "reason", "correlation",
	"fwd_packets", "fwd_lost", "fwd_jitter_ms", "fwd_mos", "rev_packets", "rev_lost", "rev_jitter_ms", "rev_mos",
	"mos", "one_way_audio", "codecs", "fwd_mos_min", "rev_mos_min"}

// Export writes CDRs started in [from, to) joined with their cost, as csv
// or jsonl, ordered by start time.
func Export(ctx context.Context, st store.Store, db string, from, to time.Time, format string, w io.Writer) (int, error) {
	if format != "csv" && format != "jsonl" {
		return 0, fmt.Errorf("collector: export format %q: want csv or jsonl", format)
	}
	// ALL LEFT JOIN ... USING is the join form both ClickHouse 18.16 and
	// current versions accept (18.16 requires the strictness, handles USING,
	// not compound ON, and one JOIN per SELECT, hence the nesting);
	// unmatched rows get empty or zero columns.
	//
	// Media per direction comes from the final RTP reports of the leg's
	// Call-ID. The probe's SDP tracking gives each stream its direction
	// (to the answerer: caller to callee, "forward"; to the offerer:
	// "reverse"). A stream whose direction is unknown is attributed by
	// address: sent from the INVITE sender's address is forward, sent to it
	// reverse (right where media and signalling share an address).
	rng := fmt.Sprintf("start_time >= toDateTime(%d, 'UTC') AND start_time < toDateTime(%d, 'UTC')", from.Unix(), to.Unix())
	// Packets, loss and jitter come from each stream's final report; the
	// MOS is the final report's (the whole stream) and, per DESIGN.md, the
	// lowest of its interval reports and that (the worst the listener had).
	media := fmt.Sprintf(`SELECT call_id, leg,
			sumIf(packets, fwd AND final = 1) AS fwd_packets, sumIf(lost, fwd AND final = 1) AS fwd_lost,
			maxIf(jitter_max_us, fwd AND final = 1) AS fwd_jitter_max_us,
			minIf(mos_x1000, fwd AND final = 1) AS fwd_mos_x1000, countIf(fwd AND final = 1) AS fwd_streams,
			minIf(mos_x1000, fwd AND packets > 0) AS fwd_mos_min_x1000,
			sumIf(packets, rev AND final = 1) AS rev_packets, sumIf(lost, rev AND final = 1) AS rev_lost,
			maxIf(jitter_max_us, rev AND final = 1) AS rev_jitter_max_us,
			minIf(mos_x1000, rev AND final = 1) AS rev_mos_x1000, countIf(rev AND final = 1) AS rev_streams,
			minIf(mos_x1000, rev AND packets > 0) AS rev_mos_min_x1000
		FROM (
			SELECT call_id, leg, final, seq, packets, lost, jitter_max_us, mos_x1000,
				direction = 1 OR (direction = 0 AND s_ip = leg_ip) AS fwd,
				direction = 2 OR (direction = 0 AND d_ip = leg_ip AND s_ip != leg_ip) AS rev
			FROM (SELECT call_id, leg, src_ip AS leg_ip FROM %[1]s.cdrs FINAL WHERE %[2]s) AS l
			ALL INNER JOIN (SELECT call_id, src_ip AS s_ip, dst_ip AS d_ip, direction, final, seq, packets, lost,
					jitter_max_us, mos_x1000
				FROM %[1]s.rtp_reports FINAL WHERE call_id != '') AS m USING (call_id)
		)
		GROUP BY call_id, leg`, db, rng)
	q := fmt.Sprintf(`SELECT * FROM (
		SELECT call_id, leg, trunk, direction, caller, callee, src_ip, start_us, answer_us, end_us,
			pdd_ms, duration_ms, outcome, final_code, hangup_by, flags,
			billable_s, amount, decimals, currency, destination, deck_version,
			caller_e164, callee_e164, ring_ms, reason_protocol, reason_cause, reason_text, correlation, codecs
		FROM (SELECT call_id, leg, trunk, direction, caller, callee, src_ip, start_us, answer_us, end_us, pdd_ms,
				duration_ms, outcome, final_code, hangup_by, flags,
				caller_e164, callee_e164, ring_ms, reason_protocol, reason_cause, reason_text, correlation, codecs
				FROM %[1]s.cdrs FINAL WHERE %[2]s) AS c
		ALL LEFT JOIN (SELECT call_id, leg, billable_s, amount, decimals, currency, destination, deck_version
				FROM %[1]s.rated_cdrs FINAL WHERE side = 'cost') AS r USING (call_id, leg)
	) AS cr
	ALL LEFT JOIN (%[3]s) AS md USING (call_id, leg)
	ORDER BY start_us, call_id, leg`, db, rng, media)
	r, err := st.Query(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("collector: export: %w", err)
	}
	var cw *csv.Writer
	var enc *json.Encoder
	if format == "csv" {
		cw = csv.NewWriter(w)
		cw.Write(ExportColumns)
	} else {
		enc = json.NewEncoder(w)
	}
	ts := func(us int64) string {
		if us == 0 {
			return ""
		}
		return time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.000000Z")
	}
	for i := range r.Data {
		cost := ""
		if cur := r.String(i, "currency"); cur != "" {
			cost = rating.Amount{Units: r.Int(i, "amount"), Decimals: uint8(r.Int(i, "decimals"))}.String()
		}
		rec := []string{r.String(i, "call_id"), r.String(i, "leg"), r.String(i, "trunk"), r.String(i, "direction"),
			r.String(i, "caller"), r.String(i, "callee"), ts(r.Int(i, "start_us")), ts(r.Int(i, "answer_us")),
			ts(r.Int(i, "end_us")), r.String(i, "pdd_ms"), r.String(i, "duration_ms"), r.String(i, "outcome"),
			r.String(i, "final_code"), r.String(i, "hangup_by"), r.String(i, "flags"), r.String(i, "billable_s"),
			cost, r.String(i, "currency"), r.String(i, "destination"), r.String(i, "deck_version"),
			r.String(i, "caller_e164"), r.String(i, "callee_e164"), r.String(i, "ring_ms"), reasonString(r, i),
			r.String(i, "correlation")}
		rec = append(rec, mediaFields(r, i)...)
		rec = append(rec, r.String(i, "codecs"))
		for _, d := range []string{"fwd", "rev"} {
			v := ""
			if r.Int(i, d+"_streams") > 0 {
				v = strconv.FormatFloat(float64(r.Int(i, d+"_mos_min_x1000"))/1000, 'f', 2, 64)
			}
			rec = append(rec, v)
		}
		if err := r.Err(); err != nil {
			return i, err
		}
		if cw != nil {
			if err := cw.Write(rec); err != nil {
				return i, err
			}
			continue
		}
		obj := make(map[string]any, len(rec))
		for k, col := range ExportColumns {
			switch col {
			case "leg", "pdd_ms", "duration_ms", "final_code", "billable_s", "ring_ms", "fwd_packets", "fwd_lost", "rev_packets", "rev_lost":
				n, _ := strconv.ParseInt(rec[k], 10, 64)
				obj[col] = n
			default:
				obj[col] = rec[k]
			}
		}
		if err := enc.Encode(obj); err != nil {
			return i, err
		}
	}
	if cw != nil {
		cw.Flush()
		return len(r.Data), cw.Error()
	}
	return len(r.Data), nil
}

// SIPCount is the number of stored SIP messages of one method or response
// code, retransmissions included (as tshark's sip,stat counts them).
type SIPCount struct {
	Kind  string // "INVITE", "ACK", ... or "200", "486", ...
	Count int64
}

// SIPCounts reads the stored SIP messages per request method and per
// response code: requests first, then responses by code.
func SIPCounts(ctx context.Context, st store.Store, db string) ([]SIPCount, error) {
	r, err := st.Query(ctx, `SELECT if(status = 0, method, toString(status)) AS kind, status = 0 AS request, count() AS n
		FROM `+db+`.sip_events FINAL GROUP BY kind, request ORDER BY request DESC, n DESC, kind`)
	if err != nil {
		return nil, fmt.Errorf("collector: SIP counts: %w", err)
	}
	out := make([]SIPCount, 0, len(r.Data))
	for i := range r.Data {
		out = append(out, SIPCount{Kind: r.String(i, "kind"), Count: r.Int(i, "n")})
	}
	return out, r.Err()
}

// reasonString renders a stored Reason as in the header: `Q.850;cause=16`.
func reasonString(r *store.Rows, i int) string {
	p := r.String(i, "reason_protocol")
	if p == "" {
		return ""
	}
	s := p + ";cause=" + r.String(i, "reason_cause")
	if t := r.String(i, "reason_text"); t != "" {
		s += ";text=" + strconv.Quote(t)
	}
	return s
}

// mediaFields renders a leg's per-direction media columns: packets, lost,
// max jitter (ms) and MOS per direction, the call's MOS (the lower
// direction's, DESIGN.md) and whether an answered leg had media one way only.
func mediaFields(r *store.Rows, i int) []string {
	fwdStreams, revStreams := r.Int(i, "fwd_streams"), r.Int(i, "rev_streams")
	dir := func(p string, streams int64) []string {
		if streams == 0 {
			return []string{"0", "0", "", ""}
		}
		return []string{r.String(i, p+"_packets"), r.String(i, p+"_lost"),
			strconv.FormatFloat(float64(r.Int(i, p+"_jitter_max_us"))/1000, 'f', 3, 64),
			strconv.FormatFloat(float64(r.Int(i, p+"_mos_x1000"))/1000, 'f', 2, 64)}
	}
	out := append(dir("fwd", fwdStreams), dir("rev", revStreams)...)
	mos := ""
	switch {
	case fwdStreams > 0 && revStreams > 0:
		mos = strconv.FormatFloat(float64(min(r.Int(i, "fwd_mos_x1000"), r.Int(i, "rev_mos_x1000")))/1000, 'f', 2, 64)
	case fwdStreams > 0:
		mos = out[3]
	case revStreams > 0:
		mos = out[7]
	}
	oneWay := "0"
	fp, rp := r.Int(i, "fwd_packets"), r.Int(i, "rev_packets")
	if r.String(i, "outcome") == string(Answered) && (fp > 0) != (rp > 0) {
		oneWay = "1"
	}
	return append(out, mos, oneWay)
}

// StreamReports reads the final report of every RTP stream stored.
func StreamReports(ctx context.Context, st store.Store, db string) ([]event.RTPReport, error) {
	r, err := st.Query(ctx, `SELECT call_id, src_ip, src_port, dst_ip, dst_port, ssrc, payload_type, codec, clock_hz,
		first_us, last_us, packets, expected, lost, duplicates, reordered, jitter_mean_us, jitter_max_us, max_delta_us,
		loss_bursts, burst_r_x1000, late_fixed, late_adaptive, mos_x1000, mos_fixed_x1000, mos_adaptive_x1000
		FROM `+db+`.rtp_reports FINAL WHERE final = 1 ORDER BY first_us, src_ip, src_port, ssrc`)
	if err != nil {
		return nil, fmt.Errorf("collector: RTP streams: %w", err)
	}
	out := make([]event.RTPReport, 0, len(r.Data))
	for i := range r.Data {
		src, err1 := netip.ParseAddr(r.String(i, "src_ip"))
		dst, err2 := netip.ParseAddr(r.String(i, "dst_ip"))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("collector: RTP stream %d: bad address", i)
		}
		out = append(out, event.RTPReport{
			CallID: []byte(r.String(i, "call_id")), Codec: []byte(r.String(i, "codec")), Final: true,
			Src: netip.AddrPortFrom(src, uint16(r.Uint(i, "src_port"))), Dst: netip.AddrPortFrom(dst, uint16(r.Uint(i, "dst_port"))),
			SSRC: uint32(r.Uint(i, "ssrc")), PayloadType: uint8(r.Uint(i, "payload_type")), ClockHz: uint32(r.Uint(i, "clock_hz")),
			FirstUS: r.Int(i, "first_us"), LastUS: r.Int(i, "last_us"), Packets: r.Uint(i, "packets"), Expected: r.Uint(i, "expected"),
			Lost: r.Int(i, "lost"), Duplicates: r.Uint(i, "duplicates"), Reordered: r.Uint(i, "reordered"),
			JitterMeanUS: uint32(r.Uint(i, "jitter_mean_us")), JitterMaxUS: uint32(r.Uint(i, "jitter_max_us")),
			MaxDeltaUS: uint32(r.Uint(i, "max_delta_us")), LossBursts: uint32(r.Uint(i, "loss_bursts")),
			BurstRx1000: uint32(r.Uint(i, "burst_r_x1000")), LateFixed: r.Uint(i, "late_fixed"), LateAdaptive: r.Uint(i, "late_adaptive"),
			MOSx1000: uint32(r.Uint(i, "mos_x1000")), MOSFixedx1000: uint32(r.Uint(i, "mos_fixed_x1000")),
			MOSAdaptivex1000: uint32(r.Uint(i, "mos_adaptive_x1000")),
		})
	}
	return out, r.Err()
}

// RTCPCount is the number of stored RTCP blocks of one kind (sr, rr, xr)
// from one source (capture, hep).
type RTCPCount struct {
	Source, Kind  string
	Blocks, Calls int64
}

// RTCPCounts reads how many RTCP blocks are stored, and for how many calls.
func RTCPCounts(ctx context.Context, st store.Store, db string) ([]RTCPCount, error) {
	r, err := st.Query(ctx, `SELECT source, kind, count() AS n, uniqExact(call_id) AS calls
		FROM `+db+`.rtcp_reports FINAL GROUP BY source, kind ORDER BY source, kind`)
	if err != nil {
		return nil, fmt.Errorf("collector: RTCP counts: %w", err)
	}
	out := make([]RTCPCount, 0, len(r.Data))
	for i := range r.Data {
		out = append(out, RTCPCount{Source: r.String(i, "source"), Kind: r.String(i, "kind"), Blocks: r.Int(i, "n"), Calls: r.Int(i, "calls")})
	}
	return out, r.Err()
}
