package mediatrack

import (
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/rtcp"
)

// EndReason says why a stream ended.
type EndReason uint8

// End reasons. NumEndReasons sizes Stats.Ended.
const (
	EndIdle  EndReason = iota // no packet for Idle
	EndBye                    // its call's BYE, then quiet for EndLinger
	EndCap                    // evicted to stay within MaxStreams
	EndFlush                  // Flush: the end of the input
	NumEndReasons
)

// String returns a snake_case name fit for a metric label.
func (r EndReason) String() string {
	switch r {
	case EndIdle:
		return "idle"
	case EndBye:
		return "bye"
	case EndCap:
		return "cap"
	case EndFlush:
		return "flush"
	}
	return "unknown"
}

// numRTCPTypes counts the RTCP packet types from SR (200) to XR (207).
const numRTCPTypes = rtcp.TypeXR - rtcp.TypeSR + 1

// Stats counts what a Tracker holds and did. Faults are counted here,
// never logged (STYLE.md §6). Like the Tracker it is not safe for
// concurrent use: read it from the goroutine that feeds the Tracker.
type Stats struct {
	// StreamsActive and Calls are held now: streams, and the calls
	// (Call-IDs) their SDP-mapped streams belong to.
	StreamsActive, Calls int
	// StreamsStarted counts streams started; Mapped those whose addresses
	// an SDP mapped to a call, Heuristic those tracked without one.
	StreamsStarted, Mapped, Heuristic uint64
	// Ended counts streams ended, by reason.
	Ended [NumEndReasons]uint64
	// IntervalReports and FinalReports count the reports made (sink
	// errors included).
	IntervalReports, FinalReports uint64
	// RTPPackets counts packets added to streams.
	RTPPackets uint64
	// NotRTP counts UDP datagrams that are neither RTCP nor a valid RTP
	// header (rtp.ParseHeader), or that no SDP maps and fail
	// rtp.LooksLikeRTP: keep-alives, STUN, DNS, junk.
	NotRTP uint64
	// Unmapped counts RTP-like datagrams that no SDP maps and that were
	// not tracked: Heuristic off, or a port below 1024.
	Unmapped uint64
	// NotRTPMedia counts RTP-looking datagrams sent to an SDP address of
	// a stream that is not RTP (T.38 over udptl, ...), ignored.
	NotRTPMedia uint64
	// RTCPPackets counts RTCP compound datagrams, RTCPByType the packets
	// in them by type (SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR),
	// RTCPErrors the compounds rtcp.Parse refused.
	RTCPPackets uint64
	RTCPByType  [numRTCPTypes]uint64
	RTCPErrors  uint64
	// SDPs counts SIP bodies learnt, SDPErrors those the media table
	// refused (unparseable, bad Call-ID), Byes the BYE requests seen.
	SDPs, SDPErrors, Byes uint64
	// SinkErrors counts reports the sink failed.
	SinkErrors uint64
}

// Stats returns a copy of the counters.
func (t *Tracker) Stats() Stats {
	s := t.stats
	s.StreamsActive = t.n
	s.Calls = t.callSlots.n
	return s
}

// Counters lists the Tracker's counters, zero or not, in a fixed order,
// then its media table's prefixed "media_". Names are snake_case, fit for
// a metric label: trunkscope_mediatrack_<name>_total, except
// streams_active, calls and media_entries and media_calls, which are
// levels.
func (t *Tracker) Counters() []probe.Counter {
	s := t.Stats()
	out := []probe.Counter{
		{Name: "streams_active", Value: uint64(s.StreamsActive)},
		{Name: "calls", Value: uint64(s.Calls)},
		{Name: "streams_started", Value: s.StreamsStarted},
		{Name: "streams_mapped", Value: s.Mapped},
		{Name: "streams_heuristic", Value: s.Heuristic},
	}
	for r := EndReason(0); r < NumEndReasons; r++ {
		out = append(out, probe.Counter{Name: "streams_ended_" + r.String(), Value: s.Ended[r]})
	}
	out = append(out,
		probe.Counter{Name: "reports_interval", Value: s.IntervalReports},
		probe.Counter{Name: "reports_final", Value: s.FinalReports},
		probe.Counter{Name: "rtp_packets", Value: s.RTPPackets},
		probe.Counter{Name: "not_rtp", Value: s.NotRTP},
		probe.Counter{Name: "unmapped", Value: s.Unmapped},
		probe.Counter{Name: "not_rtp_media", Value: s.NotRTPMedia},
		probe.Counter{Name: "rtcp_packets", Value: s.RTCPPackets},
	)
	for i, n := range [numRTCPTypes]string{"sr", "rr", "sdes", "bye", "app", "rtpfb", "psfb", "xr"} {
		out = append(out, probe.Counter{Name: "rtcp_" + n, Value: s.RTCPByType[i]})
	}
	out = append(out,
		probe.Counter{Name: "rtcp_errors", Value: s.RTCPErrors},
		probe.Counter{Name: "sdps", Value: s.SDPs},
		probe.Counter{Name: "sdp_errors", Value: s.SDPErrors},
		probe.Counter{Name: "byes", Value: s.Byes},
		probe.Counter{Name: "sink_errors", Value: s.SinkErrors},
	)
	ms := t.table.Stats()
	for _, c := range ms.Counters() {
		out = append(out, probe.Counter{Name: "media_" + c.Name, Value: c.Value})
	}
	return out
}
