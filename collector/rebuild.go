package collector

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store"
)

// RebuildOptions select what Rebuild recomputes.
type RebuildOptions struct {
	Database string
	// From and To select the calls: every Call-ID with a SIP event
	// captured in [From, To). All of a selected call's events are replayed,
	// also those outside the range, so a call is never cut in two.
	From, To          time.Time
	Timers            Timers
	CorrelationHeader string
	// PageSize is how many events are read per query (default 20000).
	PageSize int
	// Progress, when set, is called after every page with the events
	// replayed so far and the total.
	Progress func(done, total int64)
}

// LegChange is one rebuilt leg whose stored CDR differed.
type LegChange struct {
	CallID string
	Leg    uint8
	New    bool     // no CDR was stored for this leg
	Fields []string // "column: old -> new" for each changed column
}

// KPITotals are the per-minute rollup counts summed over a range.
type KPITotals struct {
	Attempts, Answered, ConnectedMs, Busy, NoAnswer, Cancelled, Rejected, Timeout, C408, C503, PDDCount int64
}

// RebuildReport says what a rebuild found and changed.
type RebuildReport struct {
	Calls, Events       int64
	Legs, Unchanged     int // legs rebuilt; of those, equal to the stored CDR
	Changes             []LegChange
	Open                int // legs still open at the end of the events: left as stored
	Rated, RatedChanged int
	KPIFrom, KPITo      time.Time
	KPIBefore, KPIAfter KPITotals
	Missing             int // stored CDRs of the calls that the events no longer produce
}

// Rebuild recomputes the CDRs, rated CDRs and KPI rollups of the calls
// with events in the range from the stored raw SIP events (sip_events),
// with the trunks, numbering and decks given (today's configuration and
// code), and writes only what differs: a rebuild with unchanged code and
// configuration writes no CDR. The rollups of the minutes the calls touch
// are recomputed from the CDRs afterwards.
//
// Events stored before migration 0013 carry no HEP capture id, node name,
// correlation chunk or flags: they are replayed as captured first copies.
func Rebuild(ctx context.Context, st store.Store, trunks *Trunks, pricing *Pricing, o RebuildOptions) (*RebuildReport, error) {
	if o.Database == "" {
		o.Database = schema.DefaultDatabase
	}
	if o.PageSize <= 0 {
		o.PageSize = 20000
	}
	// DateTime ends in 2106: a later bound wraps around on 18.16.
	if end := time.Unix(1<<32-1, 0); o.To.After(end) {
		o.To = end
	}
	db := o.Database
	rep := &RebuildReport{}
	calls := fmt.Sprintf(`SELECT DISTINCT call_id FROM %s.sip_events FINAL WHERE ts >= toDateTime(%d, 'UTC') AND ts < toDateTime(%d, 'UTC') AND call_id != ''`,
		db, o.From.Unix(), o.To.Unix())
	r, err := st.Query(ctx, fmt.Sprintf(`SELECT uniqExact(call_id) AS calls, count() AS events, max(ts_us) AS last
		FROM %s.sip_events FINAL WHERE call_id IN (%s)`, db, calls))
	if err != nil {
		return nil, fmt.Errorf("rebuild: counting events: %w", err)
	}
	rep.Calls, rep.Events = r.Int(0, "calls"), r.Int(0, "events")
	lastUS := r.Int(0, "last")
	if rep.Events == 0 {
		return rep, r.Err()
	}
	// Where the input ended, for legs the original run closed at the end of
	// its input (a replayed capture): the last event or stream report.
	if m, err := st.Query(ctx, fmt.Sprintf(`SELECT max(last_us) AS last FROM %s.rtp_reports FINAL WHERE call_id IN (%s)`, db, calls)); err == nil && len(m.Data) > 0 {
		lastUS = max(lastUS, m.Int(0, "last"))
	}

	t := NewTracker(o.Timers, trunks, o.CorrelationHeader)
	var built []CDR
	var ev event.SIP
	var done int64
	cur := int64(-1)
	for {
		page, err := st.Query(ctx, fmt.Sprintf(`SELECT event_id, ts_us, probe_id, call_id, src_ip, src_port, dst_ip, dst_port,
				transport, method, status, cseq, raw, correlation_id, capture_id, node, flags
			FROM %s.sip_events FINAL WHERE call_id IN (%s) AND ts_us > %d
			ORDER BY ts_us, cseq, status != 0, event_id LIMIT %d`, db, calls, cur, o.PageSize))
		if err != nil {
			return nil, fmt.Errorf("rebuild: reading events: %w", err)
		}
		n := len(page.Data)
		full := n == o.PageSize
		if full {
			// Cut the events of the page's last instant: the next page
			// starts at it and reads them whole, in order.
			last := page.Int(n-1, "ts_us")
			for n > 0 && page.Int(n-1, "ts_us") == last {
				n--
			}
			if n == 0 {
				// More than a page of events in one microsecond: read
				// that instant alone.
				if page, err = st.Query(ctx, fmt.Sprintf(`SELECT event_id, ts_us, probe_id, call_id, src_ip, src_port, dst_ip,
						dst_port, transport, method, status, cseq, raw, correlation_id, capture_id, node, flags
					FROM %s.sip_events FINAL WHERE call_id IN (%s) AND ts_us = %d
					ORDER BY cseq, status != 0, event_id`, db, calls, last)); err != nil {
					return nil, fmt.Errorf("rebuild: reading events: %w", err)
				}
				n = len(page.Data)
			}
		}
		for i := 0; i < n; i++ {
			if err := eventFromRow(page, i, &ev); err != nil {
				return nil, fmt.Errorf("rebuild: %w", err)
			}
			t.Apply(0, done, &ev)
			done++
			cur = ev.TimeUS
		}
		if err := page.Err(); err != nil {
			return nil, fmt.Errorf("rebuild: %w", err)
		}
		built = append(built, t.TakeCDRs()...)
		if o.Progress != nil {
			o.Progress(done, rep.Events)
		}
		if !full && n == len(page.Data) {
			break
		}
	}
	t.CloseAll(lastUS)
	atEnd := t.TakeCDRs()

	stored, err := storedRows(ctx, st, db, "cdrs", schema.CDRColumns, calls, "")
	if err != nil {
		return nil, err
	}
	storedRated, err := storedRows(ctx, st, db, "rated_cdrs", schema.RatedCDRColumns, calls, "")
	if err != nil {
		return nil, err
	}
	seen := map[legKey]bool{}
	var rows, rated [][]any
	var rs []Rated
	var sp span
	consider := func(c *CDR, closedAtEnd bool) error {
		k := legKey{c.CallID, c.Leg, ""}
		old, ok := stored[k]
		if closedAtEnd && !ok {
			// Still open when the events ended, and never closed by the
			// collector either: a live call. Writing it now would close it.
			rep.Open++
			return nil
		}
		seen[k] = true
		rep.Legs++
		row := c.Row()
		if ch := diff(schema.CDRColumns, old.cells, row, "version"); ok && len(ch) == 0 {
			rep.Unchanged++
		} else {
			// The rewritten row must supersede the stored one whatever
			// the capture-time versions say.
			if ok && c.Version <= old.version {
				c.Version = old.version + 1
				row = c.Row()
			}
			rep.Changes = append(rep.Changes, LegChange{CallID: c.CallID, Leg: c.Leg, New: !ok, Fields: ch})
			rows = append(rows, row)
			sp.add(c)
		}
		// Unrated sides are stored too (with their reason), as the
		// collector stores them: a change of rule may rate or unrate a leg.
		rs, _ = pricing.Rate(c, rs[:0])
		for _, rt := range rs {
			if rt.Status == "rated" {
				rep.Rated++
			}
			oldR, had := storedRated[legKey{c.CallID, c.Leg, rt.Side}]
			rrow := rt.Row()
			if had && len(diff(schema.RatedCDRColumns, oldR.cells, rrow, "version")) == 0 {
				continue
			}
			if had && rt.Version <= oldR.version {
				rt.Version = oldR.version + 1
				rrow = rt.Row()
			}
			rep.RatedChanged++
			rated = append(rated, rrow)
		}
		return nil
	}
	for i := range built {
		if err := consider(&built[i], false); err != nil {
			return nil, err
		}
	}
	for i := range atEnd {
		if err := consider(&atEnd[i], true); err != nil {
			return nil, err
		}
	}
	for k := range stored {
		if !seen[k] {
			rep.Missing++
		}
	}
	sort.Slice(rep.Changes, func(i, j int) bool {
		a, b := rep.Changes[i], rep.Changes[j]
		return a.CallID < b.CallID || (a.CallID == b.CallID && a.Leg < b.Leg)
	})

	// KPI totals over every minute the rebuilt legs start in, before and
	// after the rollups are recomputed.
	var all span
	for i := range built {
		all.add(&built[i])
	}
	for i := range atEnd {
		all.add(&atEnd[i])
	}
	rep.KPIFrom = time.UnixMicro(all.first).UTC().Truncate(time.Minute)
	rep.KPITo = time.UnixMicro(all.last).UTC().Truncate(time.Minute).Add(time.Minute)
	if rep.KPIBefore, err = kpiTotals(ctx, st, db, rep.KPIFrom, rep.KPITo); err != nil {
		return nil, err
	}
	if err := st.Insert(ctx, db+".cdrs", schema.CDRColumns, rows); err != nil {
		return nil, fmt.Errorf("rebuild: writing %d CDRs: %w", len(rows), err)
	}
	if err := st.Insert(ctx, db+".rated_cdrs", schema.RatedCDRColumns, rated); err != nil {
		return nil, fmt.Errorf("rebuild: writing %d rated CDRs: %w", len(rated), err)
	}
	// Rollups are recomputed over the whole span even when no CDR changed:
	// they are a projection of the stored CDRs and rewriting them with the
	// same content changes no figure.
	// A leg whose destination or final code changed leaves its old rollup
	// group behind unless zeroed: rollup zeroes the range's groups first.
	if err := rollup(ctx, st, db, all, uint64(time.Now().UnixNano())); err != nil {
		return nil, err
	}
	if rep.KPIAfter, err = kpiTotals(ctx, st, db, rep.KPIFrom, rep.KPITo); err != nil {
		return nil, err
	}
	return rep, nil
}

// legKey identifies a stored row: a CDR (side "") or one side of a rated
// CDR.
type legKey struct {
	callID string
	leg    uint8
	side   string
}

type storedRow struct {
	cells   []string
	version uint64
}

// storedRows reads the latest stored rows of table for the calls, keyed by
// Call-ID and leg, as TSV cells in cols order.
func storedRows(ctx context.Context, st store.Store, db, table string, cols []string, calls, where string) (map[legKey]storedRow, error) {
	if where != "" {
		where = " AND " + where
	}
	r, err := st.Query(ctx, fmt.Sprintf("SELECT %s FROM %s.%s FINAL WHERE call_id IN (%s)%s", strings.Join(cols, ", "), db, table, calls, where))
	if err != nil {
		return nil, fmt.Errorf("rebuild: reading stored %s: %w", table, err)
	}
	out := make(map[legKey]storedRow, len(r.Data))
	for i := range r.Data {
		k := legKey{callID: r.String(i, "call_id"), leg: uint8(r.Uint(i, "leg"))}
		if slices.Contains(cols, "side") {
			k.side = r.String(i, "side")
		}
		out[k] = storedRow{cells: r.Data[i], version: r.Uint(i, "version")}
	}
	return out, r.Err()
}

// diff compares a stored row's cells with a new row's values column by
// column, as the store renders them, skipping the named columns.
func diff(cols []string, old []string, row []any, skip ...string) []string {
	var out []string
	for i, col := range cols {
		if contains(skip, col) {
			continue
		}
		b, err := store.AppendTSV(nil, row[i])
		nv := string(b)
		if err != nil {
			nv = fmt.Sprint(row[i])
		}
		if old == nil {
			continue
		}
		if i >= len(old) || old[i] != nv {
			ov := ""
			if i < len(old) {
				ov = old[i]
			}
			out = append(out, fmt.Sprintf("%s: %q -> %q", col, ov, nv))
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func kpiTotals(ctx context.Context, st store.Store, db string, from, to time.Time) (KPITotals, error) {
	r, err := st.Query(ctx, fmt.Sprintf(`SELECT sum(attempts) AS attempts, sum(answered) AS answered,
		sum(connected_ms) AS connected_ms, sum(busy) AS busy, sum(no_answer) AS no_answer, sum(cancelled) AS cancelled,
		sum(rejected) AS rejected, sum(timeout) AS timeout, sum(c408) AS c408, sum(c503) AS c503, sum(pdd_count) AS pdd_count
		FROM %s.kpi_minute FINAL WHERE minute >= toDateTime(%d, 'UTC') AND minute < toDateTime(%d, 'UTC')`, db, from.Unix(), to.Unix()))
	if err != nil {
		return KPITotals{}, fmt.Errorf("rebuild: KPI totals: %w", err)
	}
	if len(r.Data) == 0 {
		return KPITotals{}, nil
	}
	k := KPITotals{Attempts: r.Int(0, "attempts"), Answered: r.Int(0, "answered"), ConnectedMs: r.Int(0, "connected_ms"),
		Busy: r.Int(0, "busy"), NoAnswer: r.Int(0, "no_answer"), Cancelled: r.Int(0, "cancelled"), Rejected: r.Int(0, "rejected"),
		Timeout: r.Int(0, "timeout"), C408: r.Int(0, "c408"), C503: r.Int(0, "c503"), PDDCount: r.Int(0, "pdd_count")}
	return k, r.Err()
}

var transports = map[string]event.Transport{"udp": event.TransportUDP, "tcp": event.TransportTCP, "tls": event.TransportTLS,
	"sctp": event.TransportSCTP, "ws": event.TransportWS}

// eventFromRow turns a stored sip_events row back into the event the
// collector consumed.
func eventFromRow(r *store.Rows, i int, ev *event.SIP) error {
	ev.Reset()
	id, err := hex.DecodeString(r.String(i, "event_id"))
	if err != nil || len(id) != len(ev.ID) {
		return fmt.Errorf("event %q: bad id", r.String(i, "event_id"))
	}
	copy(ev.ID[:], id)
	src, err1 := netip.ParseAddr(r.String(i, "src_ip"))
	dst, err2 := netip.ParseAddr(r.String(i, "dst_ip"))
	if err1 != nil || err2 != nil {
		return fmt.Errorf("event %x: bad address", id)
	}
	ev.TimeUS = r.Int(i, "ts_us")
	ev.ProbeID = []byte(r.String(i, "probe_id"))
	ev.CallID = []byte(r.String(i, "call_id"))
	ev.Src = netip.AddrPortFrom(src, uint16(r.Uint(i, "src_port")))
	ev.Dst = netip.AddrPortFrom(dst, uint16(r.Uint(i, "dst_port")))
	ev.Transport = transports[r.String(i, "transport")]
	ev.Method = []byte(r.String(i, "method"))
	ev.Status = uint16(r.Uint(i, "status"))
	ev.CSeqNum = uint32(r.Uint(i, "cseq"))
	ev.Raw = []byte(r.String(i, "raw"))
	if c := r.String(i, "correlation_id"); c != "" {
		ev.CorrelationID = []byte(c)
	}
	ev.CaptureID = uint32(r.Uint(i, "capture_id"))
	if n := r.String(i, "node"); n != "" {
		ev.Node = []byte(n)
	}
	ev.Flags = event.Flags(r.Uint(i, "flags"))
	return nil
}
