package mediatrack

import (
	"net/netip"

	"github.com/trunkscope/trunkscope/event"
)

// RTCPSink receives RTCP packets as events. A ReportSink that also
// implements it (the Kafka producer does) gets every valid RTCP compound
// the tracker sees, tied to its call through the SDP (RTCP port, a=rtcp or
// rtcp-mux). r aliases the capture buffer: encode or copy before returning.
type RTCPSink interface {
	RTCP(r *event.RTCP) error
}

// emitRTCP hands a parsed RTCP compound to the RTCP sink, if any. RTCP
// comes every few seconds per stream, so the small allocation of the
// Call-ID copy is not on a hot path.
func (t *Tracker) emitRTCP(tsUS int64, src, dst netip.AddrPort, b []byte) {
	sink, ok := t.sink.(RTCPSink)
	if !ok {
		return
	}
	ev := event.RTCP{Header: event.Header{Version: event.Version, ProbeID: []byte(t.cfg.probeID), TimeUS: tsUS},
		Src: src, Dst: dst, Format: event.RTCPBinary, Raw: b}
	if e, _, _, ok := t.table.LookupPair(src, dst); ok {
		ev.CallID = []byte(e.CallID())
	}
	t.ids.SetRTCPID(&ev)
	if err := sink.RTCP(&ev); err != nil {
		t.stats.SinkErrors++
	}
}
