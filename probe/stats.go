package probe

import "github.com/trunkscope/trunkscope/probe/sipscan"

// Stats counts what the probe saw and what it dropped, by reason. Per-packet
// faults are counted here, never logged or returned (STYLE.md §6).
//
// Packets = UDPDatagrams + TCPSegments + the decode drops (Truncated
// through NonUDPTCP).
type Stats struct {
	Packets uint64
	Bytes   uint64 // captured bytes, link headers included
	// FirstUS and LastUS are the earliest and latest capture timestamps
	// seen: where a capture ends, a call still up in it is cut off.
	FirstUS, LastUS int64
	// UDPDatagrams counts decoded UDP packets, SIP or not.
	UDPDatagrams uint64

	// SIPMessages counts events handed to the sink: SIPUDP + SIPTCP.
	SIPMessages uint64
	SIPUDP      uint64
	SIPTCP      uint64
	// RTPLike and RTCPLike are UDP payloads that look like media or media
	// control (RTP analysis comes later); they are not drops.
	RTPLike  uint64
	RTCPLike uint64
	// KeepAlives counts CRLF keep-alives (RFC 5626), on UDP and TCP.
	KeepAlives uint64
	// TCPSegments counts TCP packets; TCPRetransmits those whose bytes had
	// all or partly been seen already.
	TCPSegments    uint64
	TCPRetransmits uint64
	// TCPFlows is the number of flows open now; TCPExpired counts flows
	// closed for idleness.
	TCPFlows   uint64
	TCPExpired uint64

	// Drops.
	Truncated       uint64 // shorter than its headers say (snap length, corrupt capture)
	DecodeErrors    uint64 // malformed link, IP or transport header
	UnsupportedLink uint64 // link type the probe does not decode
	NonIP           uint64 // ARP, LLDP, STP, ...
	IPFragments     uint64 // fragment reassembly is not implemented yet
	NonUDPTCP       uint64 // ICMP, SCTP, ESP, ...
	// NotSIP counts UDP payloads that are none of SIP, RTP, RTCP or a
	// keep-alive, and TCP segments of flows not carrying SIP.
	NotSIP uint64
	// MalformedSIP counts messages that looked like SIP but were rejected,
	// indexed by sipscan.Reason (ReasonNotSIP is counted in NotSIP instead).
	MalformedSIP [sipscan.NumReasons]uint64
	// TCPGaps counts lost segments (a sequence jump) that cost a flow its
	// place in the stream; TCPDesync counts segments skipped while waiting
	// for one that starts a SIP message.
	TCPGaps   uint64
	TCPDesync uint64
	// TCPOverflows counts messages dropped for needing more than
	// MaxTCPBuffer.
	TCPOverflows uint64
	// TCPEvicted counts flows evicted beyond MaxTCPFlows.
	TCPEvicted uint64
	// TCPUnfinished counts partial messages lost when their flow closed,
	// expired or was evicted.
	TCPUnfinished uint64
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
		{"ip_fragment", s.IPFragments},
		{"non_udp_tcp", s.NonUDPTCP},
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
		Counter{"sink_error", s.SinkErrors},
	)
}

// Counters lists every counter: the traffic counts, then Drops.
func (s *Stats) Counters() []Counter {
	return append([]Counter{
		{"packets", s.Packets},
		{"bytes", s.Bytes},
		{"udp_datagrams", s.UDPDatagrams},
		{"sip_messages", s.SIPMessages},
		{"sip_udp", s.SIPUDP},
		{"sip_tcp", s.SIPTCP},
		{"rtp_like", s.RTPLike},
		{"rtcp_like", s.RTCPLike},
		{"keepalives", s.KeepAlives},
		{"tcp_segments", s.TCPSegments},
		{"tcp_retransmits", s.TCPRetransmits},
		{"tcp_flows_open", s.TCPFlows},
		{"tcp_flows_expired", s.TCPExpired},
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
