package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/trunkscope/trunkscope/collector/ladder"
	"github.com/trunkscope/trunkscope/store"
)

// Call is one call: its legs (CDRs of the Call-ID and of the legs an SBC
// correlated with it) and every SIP message of those Call-IDs in order.
type Call struct {
	CallID   string           `json:"call_id"`
	Legs     []CDR            `json:"legs"`
	Messages []ladder.Message `json:"messages"`
}

func callID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > 1024 || !utf8.ValidString(id) {
		return "", badRequest{"call id: empty, too long or not UTF-8"}
	}
	return id, nil
}

// LoadCall reads a call from the store; nil when nothing of it is stored.
func LoadCall(ctx context.Context, st store.Store, db, id string) (*Call, error) {
	// The legs: this Call-ID's, and those sharing its correlation id.
	qid := store.Quote(id)
	legsQ := fmt.Sprintf(`SELECT %[2]s FROM %[1]s.cdrs FINAL WHERE call_id = %[3]s OR (correlation != '' AND correlation IN
		(SELECT correlation FROM %[1]s.cdrs FINAL WHERE call_id = %[3]s AND correlation != ''))`, db, cdrColumns, qid)
	q := fmt.Sprintf(`SELECT * FROM (
		SELECT * FROM (%[2]s) AS c
		ALL LEFT JOIN (SELECT call_id, leg, billable_s, amount, decimals, currency, destination
			FROM %[1]s.rated_cdrs FINAL WHERE side = 'cost' AND call_id GLOBAL IN (SELECT call_id FROM (%[2]s))) AS r
		USING (call_id, leg)
	) AS cr
	ALL LEFT JOIN (SELECT call_id, min(mos_x1000) AS mos_x1000, count() AS streams FROM %[1]s.rtp_reports FINAL
		WHERE final = 1 AND packets > 0 AND call_id GLOBAL IN (SELECT call_id FROM (%[2]s)) GROUP BY call_id) AS m
	USING (call_id)
	ORDER BY start_us, call_id, leg`, db, legsQ)
	r, err := st.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("api: call %q legs: %w", id, err)
	}
	legs, err := cdrsFromRows(r)
	if err != nil {
		return nil, err
	}
	ids := []string{id}
	for _, l := range legs {
		if l.CallID != id && !contains(ids, l.CallID) {
			ids = append(ids, l.CallID)
		}
	}
	msgs, err := ladder.Load(ctx, st, db, ids...)
	if err != nil {
		return nil, err
	}
	if len(legs) == 0 && len(msgs) == 0 {
		return nil, nil
	}
	if msgs == nil {
		msgs = []ladder.Message{}
	}
	return &Call{CallID: id, Legs: legs, Messages: msgs}, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (s *server) loadCall(w http.ResponseWriter, r *http.Request) *Call {
	id, err := callID(r)
	if err != nil {
		s.fail(w, r, err)
		return nil
	}
	c, err := LoadCall(r.Context(), s.o.Store, s.o.Database, id)
	if err != nil {
		s.fail(w, r, err)
		return nil
	}
	if c == nil {
		writeError(w, http.StatusNotFound, "no call with Call-ID "+id)
	}
	return c
}

func (s *server) call(w http.ResponseWriter, r *http.Request) {
	if c := s.loadCall(w, r); c != nil {
		writeJSON(w, http.StatusOK, c)
	}
}

// ladderText draws the ladder as text, for curl users.
func (s *server) ladderText(w http.ResponseWriter, r *http.Request) {
	if c := s.loadCall(w, r); c != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		ladder.Render(w, c.Messages)
	}
}

// pcap answers the call's SIP messages as a pcap file.
func (s *server) pcap(w http.ResponseWriter, r *http.Request) {
	c := s.loadCall(w, r)
	if c == nil {
		return
	}
	w.Header().Set("Content-Type", "application/vnd.tcpdump.pcap")
	name := strings.Map(func(r rune) rune {
		if r < 128 && (r == '-' || r == '.' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			return r
		}
		return '_'
	}, c.CallID)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%.64s.pcap"`, name))
	if err := ladder.WritePcap(w, c.Messages); err != nil {
		s.log.Error("pcap", "call", c.CallID, "err", err)
	}
}
