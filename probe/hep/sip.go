package hep

import (
	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/sipscan"
)

// IP protocol numbers (IANA) a HEP sender puts in chunk 0x02.
const (
	ipProtoTCP  = 6
	ipProtoUDP  = 17
	ipProtoIDP  = 22 // Kamailio's stand-in for TLS, WS and WSS (pipport2su in siptrace_hep.c)
	ipProtoSCTP = 132
)

// ToSIP fills ev from a SIP packet: addresses, time, transport, correlation
// ID, capture ID and node from the HEP chunks; Call-ID, method (the request
// method, or the CSeq method of a response), status and CSeq number from
// the message, which is scanned with sipscan. Raw is the message, cut at its
// Content-Length as RFC 3261 §18.3 says for datagrams. Flags is FlagHEP.
//
// Every field of ev is overwritten; ev.ID is left zero for the caller to set
// with event.IDHasher once it has decided to keep the event. ev's slices
// alias p's, with p's lifetime. ToSIP does not allocate.
//
// It returns ErrNotSIP when p.ProtoType is not ProtoSIP (RTCP reports, logs:
// the caller counts them), or a sipscan sentinel error when the payload is
// not a usable SIP message (count it with sipscan.ReasonOf).
func ToSIP(p *Packet, probeID []byte, ev *event.SIP) error {
	if p.ProtoType != ProtoSIP {
		return ErrNotSIP
	}
	var m sipscan.Msg
	if err := sipscan.Scan(p.Payload, &m); err != nil {
		return err
	}
	raw := p.Payload
	if m.ContentLength >= 0 {
		raw = raw[:m.Len()]
	}
	*ev = event.SIP{
		Header:        event.Header{Version: event.Version, ProbeID: probeID, TimeUS: p.TimeUS},
		Src:           p.Src,
		Dst:           p.Dst,
		Transport:     transport(p.IPProto),
		CallID:        m.CallID,
		Method:        m.Method,
		Status:        m.Status,
		CSeqNum:       m.CSeqNum,
		CorrelationID: p.CorrelationID,
		CaptureID:     p.CaptureID,
		Node:          p.Node,
		Flags:         event.FlagHEP,
		Raw:           raw,
	}
	if !m.IsRequest {
		ev.Method = m.CSeqMethod
	}
	return nil
}

// transport maps chunk 0x02 to the event's transport. Kamailio's own HEP
// receiver reads 22 as TLS (hepv2_received); WebSocket traffic that it
// mirrors arrives as TLS too, which cannot be told apart here.
func transport(proto uint8) event.Transport {
	switch proto {
	case ipProtoUDP:
		return event.TransportUDP
	case ipProtoTCP:
		return event.TransportTCP
	case ipProtoIDP:
		return event.TransportTLS
	case ipProtoSCTP:
		return event.TransportSCTP
	}
	return event.TransportUnknown
}
