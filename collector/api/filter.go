package api

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/store"
)

// Filter selects CDRs. Zero values select everything.
type Filter struct {
	From, To     time.Time // start time in [From, To)
	Trunk        string
	Direction    string // inbound, outbound, unknown
	CallerPrefix string // digits (and a leading +) of the caller, as sent or E.164
	CalleePrefix string
	Outcome      string
	FinalCode    int     // -1: any
	MOSBelow     float64 // 0: any; else the call's lowest stream MOS < this
}

var (
	directions = map[string]bool{collector.Inbound: true, collector.Outbound: true, collector.Unknown: true}
	outcomes   = map[string]bool{string(collector.Answered): true, string(collector.Busy): true, string(collector.NoAnswer): true,
		string(collector.Cancelled): true, string(collector.Rejected): true, string(collector.Timeout): true}
)

// filterParams are the query parameters a CDR filter takes; others are
// refused so that a misspelt filter is an error, not a silent "everything".
var filterParams = []string{"from", "to", "trunk", "direction", "caller", "callee", "outcome", "final_code", "mos_below"}

// parseFilter reads and validates the filter parameters of q. allowed
// lists further parameters the endpoint takes.
func parseFilter(q url.Values, allowed ...string) (Filter, error) {
	f := Filter{FinalCode: -1}
	known := map[string]bool{}
	for _, k := range append(filterParams, allowed...) {
		known[k] = true
	}
	for k, v := range q {
		if !known[k] {
			return f, badRequest{fmt.Sprintf("unknown parameter %q (filters: %s)", k, strings.Join(filterParams, ", "))}
		}
		if len(v) > 1 {
			return f, badRequest{fmt.Sprintf("parameter %q given %d times", k, len(v))}
		}
	}
	var err error
	if f.From, err = parseTime(q.Get("from"), time.Unix(0, 0).UTC()); err != nil {
		return f, badRequest{"from: " + err.Error()}
	}
	if f.To, err = parseTime(q.Get("to"), time.Date(2105, 12, 31, 0, 0, 0, 0, time.UTC)); err != nil {
		return f, badRequest{"to: " + err.Error()}
	}
	if !f.To.After(f.From) {
		return f, badRequest{"to must be after from"}
	}
	if f.Trunk = q.Get("trunk"); f.Trunk != "" {
		if len(f.Trunk) > 128 || !utf8.ValidString(f.Trunk) {
			return f, badRequest{"trunk: not a trunk name"}
		}
	}
	if f.Direction = q.Get("direction"); f.Direction != "" && !directions[f.Direction] {
		return f, badRequest{"direction: want inbound, outbound or unknown"}
	}
	if f.Outcome = q.Get("outcome"); f.Outcome != "" && !outcomes[f.Outcome] {
		return f, badRequest{"outcome: want answered, busy, no_answer, cancelled, rejected or timeout"}
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"caller", &f.CallerPrefix}, {"callee", &f.CalleePrefix}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		if !numberPrefix(v) {
			return f, badRequest{p.name + ": a number prefix is digits, optionally after a +, at most 32"}
		}
		*p.dst = v
	}
	if v := q.Get("final_code"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 699 {
			return f, badRequest{"final_code: want a SIP status code (0 for none, 100-699)"}
		}
		f.FinalCode = n
	}
	if v := q.Get("mos_below"); v != "" {
		m, err := strconv.ParseFloat(v, 64)
		if err != nil || !(m > 1 && m <= 5) {
			return f, badRequest{"mos_below: want a MOS between 1 and 5"}
		}
		f.MOSBelow = m
	}
	return f, nil
}

func numberPrefix(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseTime takes RFC 3339, a date (UTC) or Unix seconds.
func parseTime(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 && n < 1<<32 {
		return time.Unix(n, 0).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			if t.Unix() < 0 || t.Unix() >= 1<<32 {
				break
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339, 2006-01-02 or Unix seconds, 1970..2106)", s)
}

// where renders the filter as a condition on cdrs. Only validated values
// are interpolated: numbers as numbers, strings through store.Quote.
func (f Filter) where(db string) string {
	c := []string{fmt.Sprintf("start_time >= toDateTime(%d, 'UTC') AND start_time < toDateTime(%d, 'UTC')", f.From.Unix(), f.To.Unix())}
	if f.Trunk != "" {
		c = append(c, "trunk = "+store.Quote(f.Trunk))
	}
	if f.Direction != "" {
		c = append(c, "direction = "+store.Quote(f.Direction))
	}
	if f.Outcome != "" {
		c = append(c, "outcome = "+store.Quote(f.Outcome))
	}
	if f.FinalCode >= 0 {
		c = append(c, fmt.Sprintf("final_code = %d", f.FinalCode))
	}
	for _, p := range []struct{ col, v string }{{"caller", f.CallerPrefix}, {"callee", f.CalleePrefix}} {
		if p.v == "" {
			continue
		}
		// substring rather than LIKE: no wildcard escaping to get wrong, and
		// 18.16 has no startsWith.
		// E.164 columns are stored without the "+".
		e := strings.TrimPrefix(p.v, "+")
		c = append(c, fmt.Sprintf("(substring(%[1]s, 1, %[2]d) = %[3]s OR substring(%[1]s_e164, 1, %[4]d) = %[5]s)",
			p.col, len(p.v), store.Quote(p.v), len(e), store.Quote(e)))
	}
	if f.MOSBelow > 0 {
		c = append(c, fmt.Sprintf(`call_id GLOBAL IN (SELECT call_id FROM %s.rtp_reports FINAL
			WHERE final = 1 AND packets > 0 AND call_id != '' GROUP BY call_id HAVING min(mos_x1000) < %d)`, db, int(f.MOSBelow*1000)))
	}
	return strings.Join(c, " AND ")
}

// cursor is the position after the last row of a page: CDRs are ordered
// by (start_us, call_id, leg), which is unique, so paging by it never skips
// nor repeats a row even while new CDRs arrive.
type cursor struct {
	StartUS uint64
	CallID  string
	Leg     uint8
}

func (c cursor) String() string {
	s := strconv.FormatUint(c.StartUS, 10) + "\x00" + strconv.Itoa(int(c.Leg)) + "\x00" + c.CallID
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func parseCursor(s string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, badRequest{"cursor: not a cursor this API returned"}
	}
	parts := strings.SplitN(string(b), "\x00", 3)
	if len(parts) != 3 {
		return nil, badRequest{"cursor: not a cursor this API returned"}
	}
	us, err1 := strconv.ParseUint(parts[0], 10, 64)
	leg, err2 := strconv.ParseUint(parts[1], 10, 8)
	if err1 != nil || err2 != nil {
		return nil, badRequest{"cursor: not a cursor this API returned"}
	}
	return &cursor{StartUS: us, Leg: uint8(leg), CallID: parts[2]}, nil
}

// after is the keyset condition for rows after c (18.16 has no tuple
// comparison operators, hence spelt out).
func (c *cursor) after() string {
	if c == nil {
		return "1"
	}
	id := store.Quote(c.CallID)
	return fmt.Sprintf("(start_us > %[1]d OR (start_us = %[1]d AND (call_id > %[2]s OR (call_id = %[2]s AND leg > %[3]d))))", c.StartUS, id, c.Leg)
}
