// Package probe turns captured packets into SIP events (DESIGN.md, "Probe").
//
// A Probe decodes each packet's link, IP and transport headers (package
// packet), finds SIP messages in UDP datagrams and in reassembled TCP
// streams (package sipscan), and hands each message to a Sink as an
// event.SIP that aliases the packet. Everything else is counted in Stats by
// reason; a bad packet is never an error and never a panic.
//
// The per-packet path allocates nothing for UDP, SIP or not: the Probe owns
// the decoded headers, the scanned message and the event, and reuses them.
// That is why a Probe is not safe for concurrent use (run one per capture
// goroutine), and why a Sink must copy what it keeps.
//
// Seams for later work: RTP-like datagrams are only counted (rtp.go) until
// stream analysis exists; IP fragments are reported by package packet with
// their fragment fields, ready for a reassembler in front of Packet's
// transport step; HEP input would be one more case in (*Probe).udp.
package probe

import (
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/event"
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

// Probe turns packets into events. It is not safe for concurrent use.
type Probe struct {
	cfg     cfg
	probeID []byte
	ids     *event.IDHasher
	// Per-packet scratch, reused so that the hot path does not allocate.
	pkt   packet.Packet
	msg   sipscan.Msg
	ev    event.SIP
	tcp   *tcpFlows
	stats Stats
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
	return &Probe{
		cfg:     c,
		probeID: []byte(c.probeID),
		ids:     event.NewIDHasher(),
		tcp:     newTCPFlows(c),
	}, nil
}

// Stats returns a copy of the counters.
func (p *Probe) Stats() Stats {
	s := p.stats
	s.TCPFlows = uint64(len(p.tcp.flows))
	return s
}

// Packet processes one captured packet: data as captured with link type
// linkType at capture time tsUS (microseconds since the Unix epoch, which
// also drives TCP flow expiry). Each SIP message completed by the packet is
// passed to sink before Packet returns.
//
// Packet returns an error only when sink does (wrapped, and counted in
// Stats.SinkErrors); messages after the failed one in the same packet are
// still delivered. Faults in the packet itself are counted, not returned.
func (p *Probe) Packet(linkType layers.LinkType, tsUS int64, data []byte, sink Sink) error {
	p.stats.Packets++
	p.stats.Bytes += uint64(len(data))
	if p.stats.FirstUS == 0 || tsUS < p.stats.FirstUS {
		p.stats.FirstUS = tsUS
	}
	p.stats.LastUS = max(p.stats.LastUS, tsUS)
	switch err := packet.Decode(linkType, data, &p.pkt); err {
	case nil:
	case packet.ErrTruncated:
		p.stats.Truncated++
		return nil
	case packet.ErrLinkType:
		p.stats.UnsupportedLink++
		return nil
	case packet.ErrNotIP:
		p.stats.NonIP++
		return nil
	case packet.ErrFragment:
		p.stats.IPFragments++
		return nil
	case packet.ErrTransport:
		p.stats.NonUDPTCP++
		return nil
	default:
		p.stats.DecodeErrors++
		return nil
	}
	if p.pkt.Proto == layers.IPProtocolUDP {
		return p.udp(tsUS, sink)
	}
	return p.tcp.segment(p, tsUS, sink)
}

// udp classifies one datagram: SIP, RTP- or RTCP-like, keep-alive, or not SIP.
func (p *Probe) udp(tsUS int64, sink Sink) error {
	p.stats.UDPDatagrams++
	b := p.pkt.Payload
	switch err := sipscan.Scan(b, &p.msg); err {
	case nil:
	case sipscan.ErrNotSIP:
		switch {
		case keepAlive(b):
			p.stats.KeepAlives++
		case rtpLike(p.pkt.SrcPort, p.pkt.DstPort, b):
			p.stats.RTPLike++
		case rtcpLike(p.pkt.SrcPort, p.pkt.DstPort, b):
			p.stats.RTCPLike++
		default:
			p.stats.NotSIP++
		}
		return nil
	default:
		p.stats.MalformedSIP[sipscan.ReasonOf(err)]++
		return nil
	}
	// RFC 3261 §18.3: octets past Content-Length are not part of the
	// message; without Content-Length the body runs to the datagram's end.
	if p.msg.ContentLength >= 0 {
		b = b[:p.msg.Len()]
	}
	p.stats.SIPUDP++
	return p.emit(tsUS, netip.AddrPortFrom(p.pkt.Src, p.pkt.SrcPort), netip.AddrPortFrom(p.pkt.Dst, p.pkt.DstPort),
		event.TransportUDP, b, sink)
}

// emit fills the reused event from p.msg and hands it to sink.
func (p *Probe) emit(tsUS int64, src, dst netip.AddrPort, tr event.Transport, raw []byte, sink Sink) error {
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
	if !m.IsRequest {
		ev.Method = m.CSeqMethod
	}
	p.ids.SetID(ev)
	p.stats.SIPMessages++
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
