package probe

import "github.com/trunkscope/trunkscope/probe/sipscan"

// Stats counts what the probe saw and what it dropped, by reason. Per-packet
// faults are counted here, never logged or returned (STYLE.md §6).
//
// Every captured packet lands in exactly one of UDPDatagrams, TCPSegments,
// IPFragments, Duplicates or the decode drops (Truncated through
// NonUDPTCP); a reassembled datagram is then counted once more, as a UDP
// datagram, a TCP segment or a decode drop. So
//
//	Packets + IPReassembled = UDPDatagrams + TCPSegments + IPFragments + Duplicates
//	                          + Truncated + DecodeErrors + UnsupportedLink + NonIP + NonUDPTCP
//
// and SIPMessages = SIPUDP + SIPTCP + SIPWS + SIPPayload.
type Stats struct {
	Packets uint64
	Bytes   uint64 // captured bytes, link headers included
	// FirstUS and LastUS are the earliest and latest capture timestamps
	// seen (packets and payloads): where a capture ends, a call still up
	// in it is cut off.
	FirstUS, LastUS int64
	// UDPDatagrams counts decoded UDP datagrams, SIP or not, reassembled
	// ones included.
	UDPDatagrams uint64
	// Payloads counts calls to Payload (HEP and other decoded input).
	Payloads uint64

	// SIPMessages counts events handed to the sink: SIPUDP + SIPTCP +
	// SIPWS + SIPPayload.
	SIPMessages uint64
	SIPUDP      uint64
	SIPTCP      uint64
	SIPWS       uint64 // SIP over WebSocket (RFC 7118)
	SIPPayload  uint64 // from Payload
	// SIPRetransmissions counts events flagged event.FlagRetransmission:
	// a message seen again on the same hop in the same transaction within
	// RetransmissionWindow. RetransmissionEvicted counts entries of the
	// retransmission table forgotten within their window to make room.
	SIPRetransmissions    uint64
	RetransmissionEvicted uint64
	// RTPLike and RTCPLike are UDP payloads that look like media or media
	// control; they are not drops (a MediaHandler analyses them).
	RTPLike  uint64
	RTCPLike uint64
	// KeepAlives counts CRLF keep-alives (RFC 5626), on UDP, TCP and
	// WebSocket.
	KeepAlives uint64
	// Duplicates counts packets dropped as copies of one captured within
	// DedupWindow (two taps, loopback); DedupEvicted counts entries of the
	// duplicate table forgotten within the window to make room.
	Duplicates   uint64
	DedupEvicted uint64
	// IPFragments counts fragments taken for reassembly; IPReassembled the
	// datagrams completed from them. FragDuplicates are fragments ignored
	// as identical in position to one held; FragAbsorbed fragments of a
	// datagram already dropped (each drop is counted once, below).
	// FragDatagrams and FragBytes are the datagrams in reassembly and
	// their buffers now.
	IPFragments    uint64
	IPReassembled  uint64
	FragDuplicates uint64
	FragAbsorbed   uint64
	FragDatagrams  uint64
	FragBytes      uint64
	// TCPSegments counts TCP packets (reassembled ones included);
	// TCPRetransmits those whose bytes had all or partly been seen
	// already.
	TCPSegments    uint64
	TCPRetransmits uint64
	// TCPFlows is the number of flows open now; TCPExpired counts flows
	// closed for idleness.
	TCPFlows   uint64
	TCPExpired uint64
	// TCPOutOfOrder counts segments held because they arrived ahead of a
	// missing one; TCPReordered those later delivered in order.
	// TCPReorderTimeouts and TCPReorderOverflows count holes given up on
	// after TCPReorderTimeout or for want of queue room (each is also a
	// TCPGaps). TCPOutOfOrderBytes is what the queues hold now.
	TCPOutOfOrder       uint64
	TCPReordered        uint64
	TCPReorderTimeouts  uint64
	TCPReorderOverflows uint64
	TCPOutOfOrderBytes  uint64
	// WebSocketFlows counts WebSocket connections upgraded for SIP (RFC
	// 7118 §4; the HTTP upgrade seen) and flow directions picked up in the
	// middle of one; WebSocketFrames the frames parsed on them.
	WebSocketFlows  uint64
	WebSocketFrames uint64

	// Drops.
	Truncated       uint64 // shorter than its headers say (snap length, corrupt capture)
	DecodeErrors    uint64 // malformed link, IP or transport header
	UnsupportedLink uint64 // link type the probe does not decode
	NonIP           uint64 // ARP, LLDP, STP, ...
	NonUDPTCP       uint64 // ICMP, SCTP, ESP, ...
	// IP datagrams given up on in reassembly (package ipfrag): incomplete
	// after FragmentTimeout; an overlapping fragment (RFC 5722); over
	// 65,535 bytes; a fragment of bad length or disagreeing with the
	// datagram's end; over 256 fragments; evicted for MaxFragmentDatagrams
	// or MaxFragmentBytes.
	FragTimeouts  uint64
	FragOverlaps  uint64
	FragTooBig    uint64
	FragBadLength uint64
	FragTooMany   uint64
	FragEvicted   uint64
	// NotSIP counts UDP payloads that are none of SIP, RTP, RTCP or a
	// keep-alive, TCP segments of flows not carrying SIP, and WebSocket
	// messages that are not SIP.
	NotSIP uint64
	// MalformedSIP counts messages that looked like SIP but were rejected,
	// indexed by sipscan.Reason (ReasonNotSIP is counted in NotSIP instead).
	MalformedSIP [sipscan.NumReasons]uint64
	// TCPGaps counts holes in a stream given up on (a segment lost before
	// the tap, or held segments that could not wait longer), each costing
	// a flow its place in the stream; TCPDesync counts segments skipped
	// while waiting for one that starts a SIP message.
	TCPGaps   uint64
	TCPDesync uint64
	// TCPOverflows counts messages (SIP, or WebSocket frames and
	// messages) dropped for needing more than MaxTCPBuffer.
	TCPOverflows uint64
	// TCPEvicted counts flows evicted beyond MaxTCPFlows.
	TCPEvicted uint64
	// TCPUnfinished counts partial messages (and held out-of-order
	// segments) lost when their flow closed, expired or was evicted.
	TCPUnfinished uint64
	// WebSocketUnsupported counts WebSocket frames the probe cannot read:
	// compressed (permessage-deflate, RFC 7692, sets RSV1), reserved
	// opcodes, and headers no peer may send (which lose the flow its
	// place). A frame or message over MaxTCPBuffer counts in TCPOverflows.
	WebSocketUnsupported uint64
	// SinkErrors counts events the sink returned an error for.
	SinkErrors uint64
}

// Counter is one named count, for printing or export as a metric.
type Counter struct {
	Name  string
	Value uint64
}

// Drops lists every drop reason with its count, zero or not, in a fixed
// order. Names are snake_case, fit for a metric label.
func (s *Stats) Drops() []Counter {
	out := []Counter{
		{"truncated", s.Truncated},
		{"decode_error", s.DecodeErrors},
		{"unsupported_link_type", s.UnsupportedLink},
		{"non_ip", s.NonIP},
		{"non_udp_tcp", s.NonUDPTCP},
		{"frag_timeout", s.FragTimeouts},
		{"frag_overlap", s.FragOverlaps},
		{"frag_too_big", s.FragTooBig},
		{"frag_bad_length", s.FragBadLength},
		{"frag_too_many", s.FragTooMany},
		{"frag_evicted", s.FragEvicted},
		{"not_sip", s.NotSIP},
	}
	for r := sipscan.ReasonNotSIP + 1; r < sipscan.NumReasons; r++ {
		out = append(out, Counter{"sip_" + r.String(), s.MalformedSIP[r]})
	}
	return append(out,
		Counter{"tcp_gap", s.TCPGaps},
		Counter{"tcp_desync", s.TCPDesync},
		Counter{"tcp_buffer_overflow", s.TCPOverflows},
		Counter{"tcp_flow_evicted", s.TCPEvicted},
		Counter{"tcp_unfinished", s.TCPUnfinished},
		Counter{"websocket_unsupported", s.WebSocketUnsupported},
		Counter{"sink_error", s.SinkErrors},
	)
}

// Counters lists every counter: the traffic counts, then Drops. Most are
// totals (exported as trunkscope_probe_<name>_total); tcp_flows_open,
// tcp_out_of_order_bytes, frag_datagrams_open and frag_bytes are levels
// now.
func (s *Stats) Counters() []Counter {
	return append([]Counter{
		{"packets", s.Packets},
		{"bytes", s.Bytes},
		{"udp_datagrams", s.UDPDatagrams},
		{"payloads", s.Payloads},
		{"sip_messages", s.SIPMessages},
		{"sip_udp", s.SIPUDP},
		{"sip_tcp", s.SIPTCP},
		{"sip_ws", s.SIPWS},
		{"sip_payload", s.SIPPayload},
		{"sip_retransmissions", s.SIPRetransmissions},
		{"sip_retransmission_evicted", s.RetransmissionEvicted},
		{"rtp_like", s.RTPLike},
		{"rtcp_like", s.RTCPLike},
		{"keepalives", s.KeepAlives},
		{"duplicates", s.Duplicates},
		{"dedup_evicted", s.DedupEvicted},
		{"ip_fragments", s.IPFragments},
		{"ip_reassembled", s.IPReassembled},
		{"frag_duplicates", s.FragDuplicates},
		{"frag_absorbed", s.FragAbsorbed},
		{"frag_datagrams_open", s.FragDatagrams},
		{"frag_bytes", s.FragBytes},
		{"tcp_segments", s.TCPSegments},
		{"tcp_retransmits", s.TCPRetransmits},
		{"tcp_flows_open", s.TCPFlows},
		{"tcp_flows_expired", s.TCPExpired},
		{"tcp_out_of_order", s.TCPOutOfOrder},
		{"tcp_reordered", s.TCPReordered},
		{"tcp_reorder_timeout", s.TCPReorderTimeouts},
		{"tcp_reorder_overflow", s.TCPReorderOverflows},
		{"tcp_out_of_order_bytes", s.TCPOutOfOrderBytes},
		{"websocket_flows", s.WebSocketFlows},
		{"websocket_frames", s.WebSocketFrames},
	}, s.Drops()...)
}

// Dropped sums Drops.
func (s *Stats) Dropped() uint64 {
	var n uint64
	for _, c := range s.Drops() {
		n += c.Value
	}
	return n
}
