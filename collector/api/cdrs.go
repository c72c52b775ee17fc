package api

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trunkscope/trunkscope/rating"
	"github.com/trunkscope/trunkscope/store"
)

// CDR is one call leg as the API returns it. Times are RFC 3339 with
// microseconds, "" when the event did not happen.
type CDR struct {
	CallID      string   `json:"call_id"`
	Leg         int      `json:"leg"`
	Trunk       string   `json:"trunk"`
	Direction   string   `json:"direction"`
	Caller      string   `json:"caller"`
	Callee      string   `json:"callee"`
	CallerE164  string   `json:"caller_e164"`
	CalleeE164  string   `json:"callee_e164"`
	Start       string   `json:"start"`
	Ring        string   `json:"ring"`
	Answer      string   `json:"answer"`
	End         string   `json:"end"`
	PDDMs       int64    `json:"pdd_ms"`
	RingMs      int64    `json:"ring_ms"`
	DurationMs  int64    `json:"duration_ms"`
	Outcome     string   `json:"outcome"`
	FinalCode   int      `json:"final_code"`
	HangupBy    string   `json:"hangup_by"`
	Reason      string   `json:"reason"`
	Flags       []string `json:"flags"`
	Codecs      string   `json:"codecs"`
	Correlation string   `json:"correlation"`
	SrcIP       string   `json:"src_ip"`
	DstIP       string   `json:"dst_ip"`
	ProbeID     string   `json:"probe_id"`
	// Cost of the leg on its trunk's deck (exact decimal), "" when unrated.
	Cost        string `json:"cost"`
	Currency    string `json:"currency"`
	BillableS   int64  `json:"billable_s"`
	Destination string `json:"destination"`
	// MOS is the lowest final-report MOS of the call's RTP streams, nil
	// without media.
	MOS *float64 `json:"mos"`
}

// csvColumns are the export's CSV header, in CDR field order.
var csvColumns = []string{"call_id", "leg", "trunk", "direction", "caller", "callee", "caller_e164", "callee_e164",
	"start", "ring", "answer", "end", "pdd_ms", "ring_ms", "duration_ms", "outcome", "final_code", "hangup_by",
	"reason", "flags", "codecs", "correlation", "src_ip", "dst_ip", "probe_id", "cost", "currency", "billable_s",
	"destination", "mos"}

func (c *CDR) record() []string {
	mos := ""
	if c.MOS != nil {
		mos = strconv.FormatFloat(*c.MOS, 'f', 2, 64)
	}
	return []string{c.CallID, strconv.Itoa(c.Leg), c.Trunk, c.Direction, c.Caller, c.Callee, c.CallerE164, c.CalleeE164,
		c.Start, c.Ring, c.Answer, c.End, strconv.FormatInt(c.PDDMs, 10), strconv.FormatInt(c.RingMs, 10),
		strconv.FormatInt(c.DurationMs, 10), c.Outcome, strconv.Itoa(c.FinalCode), c.HangupBy, c.Reason,
		strings.Join(c.Flags, ","), c.Codecs, c.Correlation, c.SrcIP, c.DstIP, c.ProbeID, c.Cost, c.Currency,
		strconv.FormatInt(c.BillableS, 10), c.Destination, mos}
}

// cdrColumns are read from cdrs for every row.
const cdrColumns = `call_id, leg, trunk, direction, caller, callee, caller_e164, callee_e164, start_us, ring_us, answer_us,
	end_us, pdd_ms, ring_ms, duration_ms, outcome, final_code, hangup_by, reason_protocol, reason_cause, reason_text,
	flags, codecs, correlation, src_ip, dst_ip, probe_id`

// page reads up to limit CDRs matching f after cur, in (start_us, call_id,
// leg) order, with their cost and the call's MOS. The join partners are
// restricted to the page's own keys, so a page costs the same at the start
// and at the end of a large range.
func (s *server) page(ctx context.Context, f Filter, cur *cursor, limit int) ([]CDR, error) {
	db := s.o.Database
	legs := fmt.Sprintf(`SELECT %s FROM %s.cdrs FINAL WHERE %s AND %s ORDER BY start_us, call_id, leg LIMIT %d`,
		cdrColumns, db, f.where(db), cur.after(), limit)
	q := fmt.Sprintf(`SELECT * FROM (
		SELECT * FROM (%[2]s) AS c
		ALL LEFT JOIN (SELECT call_id, leg, billable_s, amount, decimals, currency, destination
			FROM %[1]s.rated_cdrs FINAL WHERE side = 'cost' AND (call_id, leg) GLOBAL IN (SELECT call_id, leg FROM (%[2]s))) AS r
		USING (call_id, leg)
	) AS cr
	ALL LEFT JOIN (SELECT call_id, min(mos_x1000) AS mos_x1000, count() AS streams FROM %[1]s.rtp_reports FINAL
		WHERE final = 1 AND packets > 0 AND call_id GLOBAL IN (SELECT call_id FROM (%[2]s)) GROUP BY call_id) AS m
	USING (call_id)
	ORDER BY start_us, call_id, leg`, db, legs)
	r, err := s.o.Store.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("api: CDR page: %w", err)
	}
	return cdrsFromRows(r)
}

func ts(us int64) string {
	if us == 0 {
		return ""
	}
	return time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.000000Z")
}

func cdrsFromRows(r *store.Rows) ([]CDR, error) {
	out := make([]CDR, len(r.Data))
	for i := range r.Data {
		c := &out[i]
		*c = CDR{CallID: r.String(i, "call_id"), Leg: int(r.Int(i, "leg")), Trunk: r.String(i, "trunk"),
			Direction: r.String(i, "direction"), Caller: r.String(i, "caller"), Callee: r.String(i, "callee"),
			CallerE164: r.String(i, "caller_e164"), CalleeE164: r.String(i, "callee_e164"),
			Start: ts(r.Int(i, "start_us")), Ring: ts(r.Int(i, "ring_us")), Answer: ts(r.Int(i, "answer_us")),
			End: ts(r.Int(i, "end_us")), PDDMs: r.Int(i, "pdd_ms"), RingMs: r.Int(i, "ring_ms"),
			DurationMs: r.Int(i, "duration_ms"), Outcome: r.String(i, "outcome"), FinalCode: int(r.Int(i, "final_code")),
			HangupBy: r.String(i, "hangup_by"), Codecs: r.String(i, "codecs"), Correlation: r.String(i, "correlation"),
			SrcIP: r.String(i, "src_ip"), DstIP: r.String(i, "dst_ip"), ProbeID: r.String(i, "probe_id"),
			Flags: []string{}}
		if fl := r.String(i, "flags"); fl != "" {
			c.Flags = strings.Split(fl, ",")
		}
		if p := r.String(i, "reason_protocol"); p != "" {
			c.Reason = p + ";cause=" + r.String(i, "reason_cause")
			if t := r.String(i, "reason_text"); t != "" {
				c.Reason += ";text=" + strconv.Quote(t)
			}
		}
		if cur := r.String(i, "currency"); cur != "" {
			c.Currency = cur
			c.Cost = rating.Amount{Units: r.Int(i, "amount"), Decimals: uint8(r.Int(i, "decimals"))}.String()
			c.BillableS = r.Int(i, "billable_s")
			c.Destination = r.String(i, "destination")
		}
		if r.Int(i, "streams") > 0 {
			m := float64(r.Int(i, "mos_x1000")) / 1000
			c.MOS = &m
		}
	}
	return out, r.Err()
}

const maxLimit = 10000

// cdrs answers one page of CDRs: {"cdrs": [...], "next": CURSOR} where
// next is "" on the last page.
func (s *server) cdrs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := parseFilter(q, "limit", "cursor")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxLimit {
			s.fail(w, r, badRequest{fmt.Sprintf("limit: want 1..%d", maxLimit)})
			return
		}
	}
	cur, err := parseCursor(q.Get("cursor"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// One row more than asked says whether there is a next page.
	rows, err := s.page(r.Context(), f, cur, limit+1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = lastCursor(last).String()
	}
	writeJSON(w, http.StatusOK, map[string]any{"cdrs": rows, "next": next})
}

func lastCursor(c CDR) cursor {
	t, _ := time.Parse("2006-01-02T15:04:05.000000Z", c.Start)
	return cursor{StartUS: uint64(t.UnixMicro()), CallID: c.CallID, Leg: uint8(c.Leg)}
}

// export streams every CDR matching the filter as CSV or JSON lines, page
// by page: memory stays bounded by the page size whatever the range, and
// the store is free for the collector between pages.
func (s *server) export(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := parseFilter(q, "format")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	format := q.Get("format")
	switch format {
	case "", "csv":
		format = "csv"
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	case "jsonl":
		w.Header().Set("Content-Type", "application/x-ndjson")
	default:
		s.fail(w, r, badRequest{"format: want csv or jsonl"})
		return
	}
	// The first page is read before the status is sent, so a failing store
	// is a 500, not a truncated 200.
	rows, err := s.page(r.Context(), f, nil, s.o.PageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="cdrs.%s"`, format))
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	enc := json.NewEncoder(bw)
	if format == "csv" {
		cw.Write(csvColumns)
	}
	flusher, _ := w.(http.Flusher)
	n := 0
	for {
		for i := range rows {
			if format == "csv" {
				cw.Write(rows[i].record())
			} else if err := enc.Encode(&rows[i]); err != nil {
				return
			}
		}
		n += len(rows)
		cw.Flush()
		if err := bw.Flush(); err != nil {
			return // the client went away
		}
		if flusher != nil {
			flusher.Flush()
		}
		if len(rows) < s.o.PageSize {
			break
		}
		cur := lastCursor(rows[len(rows)-1])
		if rows, err = s.page(r.Context(), f, &cur, s.o.PageSize); err != nil {
			// Headers are sent: all that can be done is to cut the
			// response short, which the client sees as a broken transfer.
			s.log.Error("export aborted", "rows", n, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
	s.log.Debug("exported", "cdrs", n, "format", format)
}
