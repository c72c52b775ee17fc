// Package hep receives HEP (the Homer Encapsulation Protocol of the
// sipcapture project), with which SIP servers mirror the messages they send
// and receive to a capture server: Kamailio siptrace, OpenSIPS proto_hep,
// FreeSWITCH sofia, Asterisk res_hep, heplify, captagent.
//
// HEP v3 (sipcapture "HEP3 Network Protocol Specification") is a 6-byte
// header and a sequence of chunks, every integer in network byte order:
//
//	+---+---+---+---+---+---+
//	| H | E | P | 3 | total | total length, header included (u16)
//	+---+---+---+---+---+---+
//	| vendor| type  | length| chunk header; length includes these 6 bytes
//	+---+---+---+---+---+---+
//	| value (length - 6 bytes) ...
//
// HEP v1 and v2 are the older fixed header, laid out as C structs (struct
// hep_hdr, hep_iphdr or hep_ip6hdr and hep_timehdr in Kamailio's
// sipcapture/hep.h):
//
//	version u8 (1 or 2) | header length u8 | family u8 | IP protocol u8
//	source port u16 | destination port u16          (network byte order)
//	source address | destination address            (4 or 16 bytes each)
//	v2 only: seconds u32 | microseconds u32 | capture id u16 | 2 bytes of
//	         struct padding                          (sender's byte order)
//	SIP message
//
// Decoder.Decode reads both into a Packet without allocating; Append and
// AppendV2 write them; Server receives them over UDP and TCP; ToSIP turns a
// SIP packet into an event.SIP.
package hep

import "net/netip"

// Protocol types (chunk 0x0b) named in the HEP3 specification that a SIP
// monitor meets; others are kept as their number.
const (
	ProtoSIP      = 1   // a SIP message
	ProtoRTCPJSON = 5   // an RTCP report as JSON (captagent, rtpengine)
	ProtoLog      = 100 // a log line (Kamailio hlog, OpenSIPS)
)

// Packet is one decoded HEP packet. Its slices alias the bytes it was
// decoded from, or the Decoder's inflate buffer for a compressed payload:
// they are valid only until those bytes are reused. Copy what must outlive
// them.
type Packet struct {
	// Version is 1, 2 or 3.
	Version uint8
	// IPProto is the IP protocol the payload travelled over: 17 UDP, 6 TCP,
	// 132 SCTP; Kamailio sends 22 (IDP) for TLS and WebSocket.
	IPProto uint8
	// ProtoType is what the payload is (chunk 0x0b): ProtoSIP, ... HEP v1
	// and v2 carry SIP only, so their packets have ProtoSIP.
	ProtoType uint8
	// Compressed reports that the payload came in chunk 0x10 and was
	// inflated; Append compresses it again when set.
	Compressed bool
	// Src and Dst are the addresses of the mirrored packet. Either is the
	// zero AddrPort, or has an invalid Addr, when its chunks were absent.
	Src, Dst netip.AddrPort
	// TimeUS is the capture time in microseconds since the Unix epoch, 0
	// when the sender gave none (HEP v1, or v3 without chunks 0x09/0x0a).
	TimeUS int64
	// CaptureID identifies the sending agent (chunk 0x0c; 16 bits in v2).
	CaptureID uint32
	// AuthKey is chunk 0x0e, CorrelationID chunk 0x11, Node chunk 0x13
	// (the capture agent's name); nil when absent.
	AuthKey       []byte
	CorrelationID []byte
	Node          []byte
	// Payload is the mirrored message (chunk 0x0f, or 0x10 inflated).
	Payload []byte
}
