// Package packettest builds captured packets for tests with gopacket's
// serializers, so that the probe's hand-written decoder is checked against
// an independent encoder rather than against itself.
package packettest

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TCPFlags mirror packet.TCPFlags' bits (kept separate to avoid an import
// cycle with package packet's tests).
const (
	FIN uint8 = 1 << iota
	SYN
	RST
	PSH
	ACK
)

// UDP returns an IPv4 or IPv6 packet (by the addresses) carrying payload.
func UDP(src, dst netip.AddrPort, payload []byte) []byte {
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	return ip(src.Addr(), dst.Addr(), layers.IPProtocolUDP, udp, payload)
}

// TCP returns an IPv4 or IPv6 packet carrying one TCP segment.
func TCP(src, dst netip.AddrPort, seq uint32, flags uint8, payload []byte) []byte {
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
		Seq: seq, Ack: 1, Window: 65535,
		FIN: flags&FIN != 0, SYN: flags&SYN != 0, RST: flags&RST != 0, PSH: flags&PSH != 0, ACK: flags&ACK != 0,
	}
	return ip(src.Addr(), dst.Addr(), layers.IPProtocolTCP, tcp, payload)
}

type transport interface {
	gopacket.SerializableLayer
	SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
}

func ip(src, dst netip.Addr, proto layers.IPProtocol, l4 transport, payload []byte) []byte {
	var l3 gopacket.SerializableLayer
	if src.Is4() {
		v4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 1, Flags: layers.IPv4DontFragment, Protocol: proto,
			SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
		must(l4.SetNetworkLayerForChecksum(v4))
		l3 = v4
	} else {
		v6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto,
			SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
		must(l4.SetNetworkLayerForChecksum(v6))
		l3 = v6
	}
	return serialize(l3, l4, gopacket.Payload(payload))
}

// UDPFragments returns the fragments of an IPv4 or IPv6 (by the addresses)
// UDP datagram carrying payload, in order: the UDP header and payload cut
// into pieces of size bytes (rounded down to a multiple of 8, as RFC 791
// and RFC 8200 §4.5 require of all but the last), with IP identification
// id. With hopByHop, each IPv6 fragment carries a hop-by-hop options header
// before its Fragment header (RFC 8200 §4.1 order).
func UDPFragments(src, dst netip.AddrPort, payload []byte, id uint32, size int, hopByHop bool) [][]byte {
	whole := UDP(src, dst, payload)
	hdr := 20
	if !src.Addr().Is4() {
		hdr = 40
	}
	l4 := whole[hdr:]
	size &^= 7
	var out [][]byte
	for off := 0; off < len(l4); off += size {
		end := min(off+size, len(l4))
		out = append(out, Fragment(src.Addr(), dst.Addr(), layers.IPProtocolUDP, id, off, end < len(l4), l4[off:end], hopByHop))
	}
	return out
}

// Fragment returns one IPv4 or IPv6 fragment with any offset, flag and data,
// for the edge cases UDPFragments does not make (overlaps, bad lengths).
func Fragment(src, dst netip.Addr, proto layers.IPProtocol, id uint32, offset int, more bool, data []byte, hopByHop bool) []byte {
	if src.Is4() {
		v4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: uint16(id), FragOffset: uint16(offset / 8), Protocol: proto,
			SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
		if more {
			v4.Flags = layers.IPv4MoreFragments
		}
		return serialize(v4, gopacket.Payload(data))
	}
	v6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6Fragment,
		SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
	if hopByHop {
		v6.NextHeader = layers.IPProtocolIPv6HopByHop
		// One empty PadN option; gopacket pads the header to 8 bytes.
		v6.HopByHop = &layers.IPv6HopByHop{Options: []*layers.IPv6HopByHopOption{{OptionType: 1}}}
		v6.HopByHop.NextHeader = layers.IPProtocolIPv6Fragment
	}
	frag := &layers.IPv6Fragment{NextHeader: proto, FragmentOffset: uint16(offset / 8), MoreFragments: more, Identification: id}
	return serialize(v6, frag, gopacket.Payload(data))
}

// Ether wraps an IP packet in an Ethernet frame. With VLAN IDs it adds
// 802.1Q tags, outermost first; with two or more the outer one is an
// 802.1ad (QinQ, 0x88a8) service tag.
func Ether(ipPacket []byte, vlans ...uint16) []byte {
	typ := layers.EthernetTypeIPv4
	if len(ipPacket) > 0 && ipPacket[0]>>4 == 6 {
		typ = layers.EthernetTypeIPv6
	}
	ls := []gopacket.SerializableLayer{&layers.Ethernet{
		SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}}}
	for i, id := range vlans {
		tpid := layers.EthernetTypeDot1Q
		if i == 0 && len(vlans) > 1 {
			tpid = layers.EthernetTypeQinQ
		}
		setType(ls[len(ls)-1], tpid)
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: id})
	}
	setType(ls[len(ls)-1], typ)
	ls = append(ls, gopacket.Payload(ipPacket))
	return serialize(ls...)
}

func setType(l gopacket.SerializableLayer, t layers.EthernetType) {
	switch l := l.(type) {
	case *layers.Ethernet:
		l.EthernetType = t
	case *layers.Dot1Q:
		l.Type = t
	}
}

// SLL wraps an IP packet in a Linux cooked capture (v1) header.
func SLL(ipPacket []byte) []byte {
	h := make([]byte, 16, 16+len(ipPacket))
	binary.BigEndian.PutUint16(h[0:2], 0)   // sent to us
	binary.BigEndian.PutUint16(h[2:4], 1)   // ARPHRD_ETHER
	binary.BigEndian.PutUint16(h[4:6], 6)   // address length
	copy(h[6:12], []byte{2, 0, 0, 0, 0, 1}) // address, padded to 8
	binary.BigEndian.PutUint16(h[14:16], uint16(etherType(ipPacket)))
	return append(h, ipPacket...)
}

// SLL2 wraps an IP packet in a Linux cooked capture v2 header.
func SLL2(ipPacket []byte) []byte {
	h := make([]byte, 20, 20+len(ipPacket))
	binary.BigEndian.PutUint16(h[0:2], uint16(etherType(ipPacket)))
	binary.BigEndian.PutUint32(h[4:8], 2)  // interface index
	binary.BigEndian.PutUint16(h[8:10], 1) // ARPHRD_ETHER
	h[10] = 0                              // sent to us
	h[11] = 6
	copy(h[12:18], []byte{2, 0, 0, 0, 0, 1})
	return append(h, ipPacket...)
}

// Null wraps an IP packet in a BSD loopback header (host byte order; little
// endian here, as on the machines that write these files).
func Null(ipPacket []byte) []byte {
	h := make([]byte, 4, 4+len(ipPacket))
	family := uint32(2) // AF_INET
	if etherType(ipPacket) == layers.EthernetTypeIPv6 {
		family = 30 // AF_INET6 on macOS
	}
	binary.LittleEndian.PutUint32(h, family)
	return append(h, ipPacket...)
}

func etherType(ipPacket []byte) layers.EthernetType {
	if len(ipPacket) > 0 && ipPacket[0]>>4 == 6 {
		return layers.EthernetTypeIPv6
	}
	return layers.EthernetTypeIPv4
}

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	must(gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...))
	return buf.Bytes()
}

func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("packettest: %v", err))
	}
}
