// Package probe turns captured packets into SIP events (DESIGN.md, "Probe").
//
// A Probe decodes each packet's link, IP and transport headers (package
// packet), reassembles IP fragments (package ipfrag), drops duplicate
// copies of a packet (two taps, loopback), finds SIP messages in UDP
// datagrams, in reassembled TCP streams and in WebSocket messages (RFC
// 7118) (package sipscan), marks SIP retransmissions, and hands each
// message to a Sink as an event.SIP that aliases the packet. Payloads
// decoded elsewhere (HEP) enter through Payload and take the same SIP path.
// Everything else is counted in Stats by reason; a bad packet is never an
// error and never a panic.
//
// The per-packet path allocates nothing for whole UDP packets, SIP or not:
// the Probe owns the decoded headers, the scanned message, the event and
// fixed-size duplicate and retransmission tables, and reuses them. That is
// why a Probe is not safe for concurrent use (run one per capture
// goroutine), and why a Sink must copy what it keeps. Fragmented datagrams
// and out-of-order TCP segments, which are rare, may allocate.
//
// Every piece of state has a hard cap with eviction and a counter (TCP
// flows and their out-of-order queues, datagrams in reassembly, the
// duplicate and retransmission tables), so a flood of calls or of junk
// costs bounded memory.
//
// A MediaHandler (option Media) sees every SIP event with its body and
// every UDP datagram that is not SIP: that is where RTP and RTCP analysis
// plugs in.
package probe

import (
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/ipfrag"
	"github.com/trunkscope/trunkscope/probe/packet"
	"github.com/trunkscope/trunkscope/probe/sipscan"
)

// Sink receives the probe's events.
//
// The event and every byte slice in it alias the capture buffer, the TCP
// reassembly buffer and the Probe's own state: they are valid only until SIP
// returns. A Sink must copy or encode (event.AppendSIP) what it keeps before
// returning, and must not retain ev.
type Sink interface {
	SIP(ev *event.SIP) error
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(ev *event.SIP) error

// SIP calls f(ev).
func (f SinkFunc) SIP(ev *event.SIP) error { return f(ev) }

// MediaHandler follows media for the probe: it learns the media addresses
// of each call from the SDP in SIP bodies and analyses the RTP and RTCP
// datagrams sent to them. The probe calls it synchronously, from Packet
// and Payload, on the probe's goroutine.
//
// Aliasing: ev, body and payload (and every slice in ev) point into the
// capture buffer and the probe's reused state; they are valid only until
// the method returns. A handler copies what it keeps (an SDP's addresses,
// say) and must not retain the slices or ev.
type MediaHandler interface {
	// SIP is called for every SIP event before the Sink gets it, flagged
	// retransmissions included; body is the message body (the SDP, when
	// Content-Type says so), empty when there is none.
	SIP(ev *event.SIP, body []byte)
	// UDP is called for every UDP datagram that is not SIP (RTP- or
	// RTCP-like, keep-alives, anything else), after duplicates were
	// dropped and fragments reassembled, with its capture time, addresses
	// and UDP payload.
	UDP(tsUS int64, src, dst netip.AddrPort, payload []byte)
}

// Meta qualifies a payload given to Payload with what its carrier knew: for
// HEP, the correlation ID (chunk 0x11), the capture agent's node name
// (0x13) and ID (0x0c), and FlagHEP. The slices are copied into the event
// by reference: the same aliasing rules as the payload apply.
type Meta struct {
	CorrelationID, Node []byte
	CaptureID           uint32
	Flags               event.Flags
}

// Probe turns packets into events. It is not safe for concurrent use.
type Probe struct {
	cfg     cfg
	probeID []byte
	ids     *event.IDHasher
	media   MediaHandler
	// Per-packet scratch, reused so that the hot path does not allocate.
	pkt packet.Packet
	msg sipscan.Msg
	ev  event.SIP
	// ws is the scratch a masked WebSocket payload is unmasked into.
	ws []byte
	// hash keys dedup (packets) and rtx (SIP transactions); either table
	// is nil when its window is 0.
	hash   *hasher
	dedup  *recent
	rtx    *recent
	defrag *ipfrag.Reassembler
	tcp    *tcpFlows
	stats  Stats
}

// New returns a Probe configured by opts.
func New(opts ...Opt) (*Probe, error) {
	c := defaultCfg()
	for _, o := range opts {
		o.apply(&c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	defrag, err := ipfrag.New(c.frag)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	return &Probe{
		cfg:     c,
		probeID: []byte(c.probeID),
		ids:     event.NewIDHasher(),
		media:   c.media,
		hash:    newHasher(),
		dedup:   newRecent(c.maxDedup, c.dedupWindow.Microseconds()),
		rtx:     newRecent(c.maxRtx, c.rtxWindow.Microseconds()),
		defrag:  defrag,
		tcp:     newTCPFlows(c),
	}, nil
}

// Stats returns a copy of the counters.
func (p *Probe) Stats() Stats {
	s := p.stats
	s.TCPFlows = uint64(len(p.tcp.flows))
	s.TCPOutOfOrderBytes = uint64(p.tcp.heldBytes)
	f := p.defrag.Stats()
	s.IPReassembled = f.Reassembled
	s.FragDuplicates = f.Duplicates
	s.FragAbsorbed = f.Absorbed
	s.FragTimeouts = f.Timeouts
	s.FragOverlaps = f.Overlaps
	s.FragTooBig = f.TooBig
	s.FragBadLength = f.BadLength
	s.FragTooMany = f.TooMany
	s.FragEvicted = f.Evicted
	s.FragDatagrams = uint64(f.Open)
	s.FragBytes = uint64(f.Bytes)
	return s
}

// Packet processes one captured packet: data as captured with link type
// linkType at capture time tsUS (microseconds since the Unix epoch, which
// also drives every timeout: TCP flow expiry and reordering, fragment
// reassembly, the duplicate and retransmission windows). Each SIP message
// completed by the packet is passed to sink before Packet returns; so may
// messages held behind a TCP hole whose timeout the packet's time passed.
//
// Packet returns an error only when sink does (wrapped, and counted in
// Stats.SinkErrors); messages after the failed one in the same packet are
// still delivered. Faults in the packet itself are counted, not returned.
func (p *Probe) Packet(linkType layers.LinkType, tsUS int64, data []byte, sink Sink) error {
	p.stats.Packets++
	p.stats.Bytes += uint64(len(data))
	p.seenTime(tsUS)
	// Timeouts run on capture time, so each packet moves the clock. Both
	// checks are a pointer comparison while nothing is held.
	p.defrag.Expire(tsUS)
	var first error
	if p.tcp.held.oldest != nil {
		first = p.tcp.reorderExpire(p, tsUS, sink)
	}
	err := packet.Decode(linkType, data, &p.pkt)
	switch {
	case err == packet.ErrFragment:
		err = p.fragment(tsUS, sink)
	case !p.decoded(err):
		return first
	case p.duplicate(tsUS, uint32(p.pkt.IPID), 0, false):
		err = nil
	default:
		err = p.transport(tsUS, sink)
	}
	if first == nil {
		first = err
	}
	return first
}

func (p *Probe) seenTime(tsUS int64) {
	if p.stats.FirstUS == 0 || tsUS < p.stats.FirstUS {
		p.stats.FirstUS = tsUS
	}
	p.stats.LastUS = max(p.stats.LastUS, tsUS)
}

// decoded counts a decoding failure by reason and reports whether err is
// nil.
func (p *Probe) decoded(err error) bool {
	switch err {
	case nil:
		return true
	case packet.ErrTruncated:
		p.stats.Truncated++
	case packet.ErrLinkType:
		p.stats.UnsupportedLink++
	case packet.ErrNotIP:
		p.stats.NonIP++
	case packet.ErrTransport:
		p.stats.NonUDPTCP++
	default:
		p.stats.DecodeErrors++
	}
	return false
}

// duplicate reports (and counts) whether the packet in p.pkt, captured at
// tsUS, is a copy of one seen within DedupWindow. Fragments are compared
// as fragments (identification, offset and flag included), before
// reassembly: the copies of a fragmented datagram from two taps are then
// dropped fragment by fragment, and the datagram is reassembled once.
func (p *Probe) duplicate(tsUS int64, fragID uint32, fragOff int, more bool) bool {
	if p.dedup == nil {
		return false
	}
	pk := &p.pkt
	h := p.hash.packet(pk.Src, pk.Dst, uint8(pk.Proto), fragID, fragOff, more, pk.L4)
	dup, evicted := p.dedup.seen(h, tsUS)
	if evicted {
		p.stats.DedupEvicted++
	}
	if dup {
		p.stats.Duplicates++
	}
	return dup
}

// fragment hands the fragment in p.pkt to the reassembler and, when it
// completes a datagram, decodes and processes the datagram as if it had
// arrived whole at tsUS: the time of its last fragment.
func (p *Probe) fragment(tsUS int64, sink Sink) error {
	pk := &p.pkt
	if p.duplicate(tsUS, pk.FragID, pk.FragOffset, pk.MoreFragments) {
		return nil
	}
	p.stats.IPFragments++
	data, proto := p.defrag.Add(tsUS, ipfrag.Fragment{Src: pk.Src, Dst: pk.Dst, ID: pk.FragID, Proto: uint8(pk.Proto),
		Offset: pk.FragOffset, More: pk.MoreFragments, Data: pk.Payload})
	if data == nil {
		return nil
	}
	if !p.decoded(pk.DecodeReassembled(layers.IPProtocol(proto), data)) {
		return nil
	}
	return p.transport(tsUS, sink)
}

// transport processes the decoded UDP datagram or TCP segment in p.pkt.
func (p *Probe) transport(tsUS int64, sink Sink) error {
	if p.pkt.Proto == layers.IPProtocolUDP {
		p.stats.UDPDatagrams++
		pk := &p.pkt
		return p.datagram(tsUS, netip.AddrPortFrom(pk.Src, pk.SrcPort), netip.AddrPortFrom(pk.Dst, pk.DstPort),
			event.TransportUDP, pk.Payload, nil, sink)
	}
	return p.tcp.segment(p, tsUS, sink)
}

// Payload processes one payload whose transport was decoded elsewhere (a
// HEP packet, say) as if it had been captured at tsUS between src and dst:
// the same SIP scan, retransmission marking and event building as a
// captured UDP datagram, with meta's fields and flags on the event. The
// payload must hold one whole message: a stream transport's framing is the
// sender's business (HEP agents capture after their SIP stack has framed
// the message). A payload that is not SIP goes to the MediaHandler when
// transport is UDP, and is counted either way.
//
// Payload does not look for duplicates: a HEP packet is not a tap copy of
// a packet the probe captured, and two agents that mirror one message are
// two observations with their own node and capture ID.
//
// Like Packet, Payload returns an error only when sink does.
func (p *Probe) Payload(tsUS int64, src, dst netip.AddrPort, transport event.Transport, payload []byte, meta Meta, sink Sink) error {
	p.stats.Payloads++
	p.seenTime(tsUS)
	return p.datagram(tsUS, src, dst, transport, payload, &meta, sink)
}

// datagram classifies one whole message: SIP, keep-alive, RTP- or
// RTCP-like, or not SIP. It is the one SIP path that captured UDP, Payload
// and WebSocket messages share.
func (p *Probe) datagram(tsUS int64, src, dst netip.AddrPort, tr event.Transport, b []byte, meta *Meta, sink Sink) error {
	switch err := sipscan.Scan(b, &p.msg); err {
	case nil:
	case sipscan.ErrNotSIP:
		switch {
		case keepAlive(b):
			p.stats.KeepAlives++
		case rtpLike(src.Port(), dst.Port(), b):
			p.stats.RTPLike++
		case rtcpLike(src.Port(), dst.Port(), b):
			p.stats.RTCPLike++
		default:
			p.stats.NotSIP++
		}
		if p.media != nil && tr == event.TransportUDP {
			p.media.UDP(tsUS, src, dst, b)
		}
		return nil
	default:
		p.stats.MalformedSIP[sipscan.ReasonOf(err)]++
		return nil
	}
	// RFC 3261 §18.3: octets past Content-Length are not part of the
	// message; without Content-Length the body runs to the datagram's end
	// (and, over WebSocket, to the message's end: RFC 7118 §5.1).
	if p.msg.ContentLength >= 0 {
		b = b[:p.msg.Len()]
	}
	switch {
	case meta != nil:
		p.stats.SIPPayload++
	case tr == event.TransportWS:
		p.stats.SIPWS++
	default:
		p.stats.SIPUDP++
	}
	return p.emit(tsUS, src, dst, tr, b, meta, sink)
}

// emit fills the reused event from p.msg, marks a retransmission, and hands
// the event to the media handler and the sink.
func (p *Probe) emit(tsUS int64, src, dst netip.AddrPort, tr event.Transport, raw []byte, meta *Meta, sink Sink) error {
	m := &p.msg
	ev := &p.ev
	*ev = event.SIP{
		Header:    event.Header{Version: event.Version, ProbeID: p.probeID, TimeUS: tsUS},
		Src:       src,
		Dst:       dst,
		Transport: tr,
		CallID:    m.CallID,
		Method:    m.Method,
		Status:    m.Status,
		CSeqNum:   m.CSeqNum,
		Raw:       raw,
	}
	if meta != nil {
		ev.CorrelationID, ev.Node, ev.CaptureID, ev.Flags = meta.CorrelationID, meta.Node, meta.CaptureID, meta.Flags
	}
	if !m.IsRequest {
		ev.Method = m.CSeqMethod
	}
	if p.rtx != nil {
		var toTag []byte
		if !m.IsRequest {
			toTag = m.ToTag
		}
		h := p.hash.message(src, dst, m.CallID, m.CSeqMethod, m.CSeqNum, m.Method, m.Status, toTag)
		again, evicted := p.rtx.seen(h, tsUS)
		if evicted {
			p.stats.RetransmissionEvicted++
		}
		if again {
			ev.Flags |= event.FlagRetransmission
			p.stats.SIPRetransmissions++
		}
	}
	p.ids.SetID(ev)
	p.stats.SIPMessages++
	if p.media != nil {
		p.media.SIP(ev, raw[min(m.HeaderLen, len(raw)):])
	}
	if err := sink.SIP(ev); err != nil {
		p.stats.SinkErrors++
		return fmt.Errorf("probe: sink: %w", err)
	}
	return nil
}

// keepAlive reports whether a datagram is a NAT keep-alive: RFC 5626 CRLFs,
// or the few spaces or zero bytes that some phones send to their registrar
// instead.
func keepAlive(b []byte) bool {
	if len(b) == 0 || len(b) > 16 {
		return false
	}
	for _, c := range b {
		if c != '\r' && c != '\n' && c != ' ' && c != 0 {
			return false
		}
	}
	return true
}
