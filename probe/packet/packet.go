// Package packet decodes the link, network and transport headers of a
// captured packet down to its UDP or TCP payload, without allocating.
//
// It is hand-written rather than a gopacket DecodingLayerParser: the probe
// needs only addresses, ports, TCP sequence and flags, and the payload, for
// every packet on a mirror port (DESIGN.md targets 3M packets/s), and a
// direct walk over the headers does that in a few tens of nanoseconds with
// no error values built per packet. gopacket's layers supply the constants
// and, in the tests, an independent decoder to compare against.
//
// Supported: Ethernet with any number (up to 8) of 802.1Q / 802.1ad (QinQ)
// tags, Linux cooked capture v1 and v2, raw IP, BSD loopback; IPv4 and IPv6
// with extension headers; UDP and TCP. IP fragments are recognised and
// reported with ErrFragment and their fragment fields set; once a
// reassembler (package ipfrag) has the whole datagram, DecodeReassembled
// decodes its transport header.
package packet

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// Errors Decode returns. They are sentinels, returned unwrapped, so the
// per-packet path builds no error values; callers count them by identity.
var (
	ErrTruncated = errors.New("packet: truncated") // shorter than its headers say (snap length or corrupt capture)
	ErrMalformed = errors.New("packet: malformed header")
	ErrLinkType  = errors.New("packet: unsupported link type")
	ErrNotIP     = errors.New("packet: not IPv4 or IPv6") // ARP, LLDP, STP, ...
	ErrTransport = errors.New("packet: not UDP or TCP")   // ICMP, SCTP, ESP, ...
	ErrFragment  = errors.New("packet: IP fragment")      // to be reassembled, then DecodeReassembled
)

// TCPFlags are the TCP header flags the probe uses, at their wire positions.
type TCPFlags uint8

// TCP flags.
const (
	FIN TCPFlags = 1 << iota
	SYN
	RST
	PSH
	ACK
)

// Packet is one decoded packet. Payload aliases the data passed to Decode.
type Packet struct {
	// VLAN is the ID of the innermost 802.1Q tag, 0 when untagged.
	VLAN     uint16
	Src, Dst netip.Addr
	// Proto is the transport protocol, after any IPv6 extension headers.
	Proto            layers.IPProtocol
	SrcPort, DstPort uint16
	// Seq and Flags are set for TCP.
	Seq   uint32
	Flags TCPFlags
	// Payload is the UDP or TCP payload, trimmed to the IP length (so
	// Ethernet padding is not part of it). For ErrFragment it is the
	// fragment's data after the IP header (and, for IPv6, after the
	// Fragment header).
	Payload []byte
	// L4 is the transport header and its payload, trimmed like Payload:
	// what is identical in two captures of one packet whatever the link
	// layer, VLAN tags or TTL, so a probe can hash it to find duplicates.
	// For ErrFragment it is the fragment's data, as Payload.
	L4 []byte
	// FragID, FragOffset (in bytes) and MoreFragments are set with
	// ErrFragment.
	FragID uint32
	// IPID is the IPv4 identification (0 for IPv6): two taps' copies of
	// a packet share it, while a sender's resend of the same bytes (RFC
	// 4733 end-of-event packets, SIP over UDP) gets a new one.
	IPID          uint16
	FragOffset    int
	MoreFragments bool
}

// Link types that tcpdump writes for raw IP on some BSDs (DLT_RAW is 12 or
// 14 there; pcap files should say 101, but old ones do not).
const (
	linkTypeRawBSD12 layers.LinkType = 12
	linkTypeRawBSD14 layers.LinkType = 14
)

// maxVLANTags bounds the tag loop: QinQ is two tags; more than a handful is a
// malformed or hostile frame.
const maxVLANTags = 8

// Decode decodes data, captured with link type lt, into p. On error p holds
// what was decoded before the error (addresses, for instance, for
// ErrTransport and ErrFragment).
func Decode(lt layers.LinkType, data []byte, p *Packet) error {
	*p = Packet{}
	switch lt {
	case layers.LinkTypeEthernet:
		if len(data) < 14 {
			return ErrTruncated
		}
		return p.ether(binary.BigEndian.Uint16(data[12:14]), data[14:])
	case layers.LinkTypeLinuxSLL:
		// packet type u16, ARPHRD u16, address length u16, address [8],
		// protocol u16 (an EtherType for IP).
		if len(data) < 16 {
			return ErrTruncated
		}
		return p.ether(binary.BigEndian.Uint16(data[14:16]), data[16:])
	case layers.LinkTypeLinuxSLL2:
		// protocol u16, reserved u16, interface index u32, ARPHRD u16,
		// packet type u8, address length u8, address [8].
		if len(data) < 20 {
			return ErrTruncated
		}
		return p.ether(binary.BigEndian.Uint16(data[0:2]), data[20:])
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, linkTypeRawBSD12, linkTypeRawBSD14:
		return p.ip(data)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		// A 4-byte address family, in host byte order for NULL and network
		// order for LOOP, and with different AF_INET6 values per BSD; the IP
		// version nibble says the same thing without those traps.
		if len(data) < 4 {
			return ErrTruncated
		}
		return p.ip(data[4:])
	}
	return ErrLinkType
}

func (p *Packet) ether(typ uint16, b []byte) error {
	for range maxVLANTags + 1 {
		switch layers.EthernetType(typ) {
		case layers.EthernetTypeIPv4:
			return p.ipv4(b)
		case layers.EthernetTypeIPv6:
			return p.ipv6(b)
		case layers.EthernetTypeDot1Q, layers.EthernetTypeQinQ, 0x9100: // 0x9100: pre-802.1ad QinQ
			if len(b) < 4 {
				return ErrTruncated
			}
			p.VLAN = binary.BigEndian.Uint16(b[0:2]) & 0x0fff
			typ = binary.BigEndian.Uint16(b[2:4])
			b = b[4:]
		default:
			return ErrNotIP
		}
	}
	return ErrMalformed
}

func (p *Packet) ip(b []byte) error {
	if len(b) == 0 {
		return ErrTruncated
	}
	switch b[0] >> 4 {
	case 4:
		return p.ipv4(b)
	case 6:
		return p.ipv6(b)
	}
	return ErrNotIP
}

func (p *Packet) ipv4(b []byte) error {
	if len(b) < 20 {
		return ErrTruncated
	}
	ihl := int(b[0]&0x0f) * 4
	if b[0]>>4 != 4 || ihl < 20 {
		return ErrMalformed
	}
	if len(b) < ihl {
		return ErrTruncated
	}
	switch total := int(binary.BigEndian.Uint16(b[2:4])); {
	case total == 0:
		// TCP segmentation offload: a capture on the sending host sees
		// the segment before the NIC fills in the length.
	case total < ihl:
		return ErrMalformed
	case total > len(b):
		return ErrTruncated
	default:
		b = b[:total] // drop Ethernet padding
	}
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.Proto = layers.IPProtocol(b[9])
	p.IPID = binary.BigEndian.Uint16(b[4:6])
	if ff := binary.BigEndian.Uint16(b[6:8]); ff&0x3fff != 0 { // MF or an offset
		p.FragID = uint32(binary.BigEndian.Uint16(b[4:6]))
		p.FragOffset = int(ff&0x1fff) * 8
		p.MoreFragments = ff&0x2000 != 0
		p.Payload, p.L4 = b[ihl:], b[ihl:]
		return ErrFragment
	}
	return p.transport(b[ihl:])
}

// maxIPv6Ext bounds the extension header walk.
const maxIPv6Ext = 8

func (p *Packet) ipv6(b []byte) error {
	if len(b) < 40 {
		return ErrTruncated
	}
	if b[0]>>4 != 6 {
		return ErrMalformed
	}
	switch n := int(binary.BigEndian.Uint16(b[4:6])); {
	case n == 0:
		// A jumbogram (RFC 2675) or an offloaded segment: take what is there.
	case 40+n > len(b):
		return ErrTruncated
	default:
		b = b[:40+n]
	}
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	return p.ipv6Ext(layers.IPProtocol(b[6]), b[40:], true)
}

// ipv6Ext walks the extension headers from next on (RFC 8200 §4) to the
// transport header. A Fragment header is allowed only when frag is set: in
// a reassembled datagram it would be a second one, which RFC 8200 §4.1
// forbids.
func (p *Packet) ipv6Ext(next layers.IPProtocol, b []byte, frag bool) error {
	for range maxIPv6Ext {
		switch next {
		case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination, layers.IPProtocolAH:
			if len(b) < 8 {
				return ErrTruncated
			}
			n := (int(b[1]) + 1) * 8
			if next == layers.IPProtocolAH {
				n = (int(b[1]) + 2) * 4 // RFC 4302 counts 4-byte words, minus 2
			}
			if len(b) < n {
				return ErrTruncated
			}
			next, b = layers.IPProtocol(b[0]), b[n:]
		case layers.IPProtocolIPv6Fragment:
			if !frag {
				return ErrMalformed
			}
			if len(b) < 8 {
				return ErrTruncated
			}
			fo := binary.BigEndian.Uint16(b[2:4])
			p.Proto = layers.IPProtocol(b[0])
			p.FragOffset = int(fo>>3) * 8
			p.MoreFragments = fo&1 != 0
			p.FragID = binary.BigEndian.Uint32(b[4:8])
			if p.FragOffset == 0 && !p.MoreFragments {
				// An atomic fragment (RFC 6946) is a whole packet.
				p.FragID = 0
				next, b = p.Proto, b[8:]
				continue
			}
			p.Payload, p.L4 = b[8:], b[8:]
			return ErrFragment
		default:
			p.Proto = next
			return p.transport(b)
		}
	}
	return ErrMalformed
}

// DecodeReassembled decodes the transport header of a datagram reassembled
// from fragments that Decode reported with ErrFragment into p, which still
// holds the last fragment's addresses and VLAN. b is the datagram's IPv4
// payload, or for IPv6 its fragmentable part (RFC 8200 §4.5), whose first
// header is next: the Next Header of the offset-zero fragment, which may
// name more extension headers (Destination Options) before the transport.
func (p *Packet) DecodeReassembled(next layers.IPProtocol, b []byte) error {
	p.FragID, p.FragOffset, p.MoreFragments = 0, 0, false
	p.SrcPort, p.DstPort, p.Seq, p.Flags, p.Payload, p.L4 = 0, 0, 0, 0, nil, nil
	if p.Src.Is4() {
		p.Proto = next
		return p.transport(b)
	}
	return p.ipv6Ext(next, b, false)
}

func (p *Packet) transport(b []byte) error {
	p.L4 = b
	switch p.Proto {
	case layers.IPProtocolUDP:
		if len(b) < 8 {
			return ErrTruncated
		}
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		switch n := int(binary.BigEndian.Uint16(b[4:6])); {
		case n == 0: // IPv6 jumbogram
			p.Payload = b[8:]
		case n < 8:
			return ErrMalformed
		case n > len(b):
			return ErrTruncated
		default:
			p.Payload, p.L4 = b[8:n], b[:n]
		}
		return nil
	case layers.IPProtocolTCP:
		if len(b) < 20 {
			return ErrTruncated
		}
		off := int(b[12]>>4) * 4
		if off < 20 {
			return ErrMalformed
		}
		if len(b) < off {
			return ErrTruncated
		}
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		p.Seq = binary.BigEndian.Uint32(b[4:8])
		p.Flags = TCPFlags(b[13]) & (FIN | SYN | RST | PSH | ACK)
		p.Payload = b[off:]
		return nil
	}
	return ErrTransport
}
