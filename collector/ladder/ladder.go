// Package ladder is one call's SIP flow: its messages in capture order, read
// from the raw-event table, drawn as a terminal ladder (columns per host,
// arrows, method or status, time deltas, SDP summary, like sngrep) and
// rebuilt as a pcap file that Wireshark opens.
package ladder

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/trunkscope/trunkscope/store"
)

// Message is one stored SIP message of a call.
type Message struct {
	TimeUS    int64          `json:"time_us"`
	CallID    string         `json:"call_id"`
	Src       netip.AddrPort `json:"src"`
	Dst       netip.AddrPort `json:"dst"`
	Transport string         `json:"transport"` // udp, tcp, tls, sctp, ws
	Method    string         `json:"method"`    // request method, or the CSeq method of a response
	Status    uint16         `json:"status"`    // 0 for a request
	CSeq      uint32         `json:"cseq"`
	Raw       string         `json:"raw"`
}

// IsRequest reports whether m is a request.
func (m *Message) IsRequest() bool { return m.Status == 0 }

// Label is what the ladder prints on the arrow: the method, or the status
// code and reason phrase of a response.
func (m *Message) Label() string {
	if m.IsRequest() {
		return m.Method
	}
	line, _, _ := strings.Cut(m.Raw, "\n")
	line = strings.TrimRight(line, "\r")
	// "SIP/2.0 180 Ringing": keep "180 Ringing".
	if _, rest, ok := strings.Cut(line, " "); ok && rest != "" {
		return rest
	}
	return fmt.Sprintf("%d", m.Status)
}

// Load reads the SIP messages of the given Call-IDs in capture order. Ties
// in capture time keep requests before responses and lower CSeqs first,
// the order they must have been sent in.
func Load(ctx context.Context, st store.Store, db string, callIDs ...string) ([]Message, error) {
	if len(callIDs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(callIDs))
	for i, id := range callIDs {
		ids[i] = store.Quote(id)
	}
	r, err := st.Query(ctx, `SELECT ts_us, call_id, src_ip, src_port, dst_ip, dst_port, transport, method, status, cseq, raw
		FROM `+db+`.sip_events FINAL WHERE call_id IN (`+strings.Join(ids, ", ")+`)
		ORDER BY ts_us, cseq, status != 0, event_id`)
	if err != nil {
		return nil, fmt.Errorf("ladder: reading SIP events: %w", err)
	}
	out := make([]Message, 0, len(r.Data))
	for i := range r.Data {
		src, err1 := netip.ParseAddr(r.String(i, "src_ip"))
		dst, err2 := netip.ParseAddr(r.String(i, "dst_ip"))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("ladder: event %d of %v: bad address", i, callIDs)
		}
		out = append(out, Message{
			TimeUS: r.Int(i, "ts_us"), CallID: r.String(i, "call_id"),
			Src:       netip.AddrPortFrom(src, uint16(r.Uint(i, "src_port"))),
			Dst:       netip.AddrPortFrom(dst, uint16(r.Uint(i, "dst_port"))),
			Transport: r.String(i, "transport"), Method: r.String(i, "method"),
			Status: uint16(r.Uint(i, "status")), CSeq: uint32(r.Uint(i, "cseq")), Raw: r.String(i, "raw"),
		})
	}
	return out, r.Err()
}
