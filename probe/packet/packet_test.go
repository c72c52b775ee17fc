package packet_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/probe/internal/packettest"
	"github.com/trunkscope/trunkscope/probe/packet"
)

var (
	src4 = netip.MustParseAddrPort("192.0.2.1:5060")
	dst4 = netip.MustParseAddrPort("198.51.100.2:5080")
	src6 = netip.MustParseAddrPort("[2001:db8::1]:5060")
	dst6 = netip.MustParseAddrPort("[2001:db8::2]:5062")
	body = []byte("OPTIONS sip:a SIP/2.0\r\n\r\n")
)

func TestDecode(t *testing.T) {
	udp4 := packettest.UDP(src4, dst4, body)
	udp6 := packettest.UDP(src6, dst6, body)
	tcp4 := packettest.TCP(src4, dst4, 1000, packettest.PSH|packettest.ACK, body)
	for _, tc := range []struct {
		name     string
		lt       layers.LinkType
		data     []byte
		src, dst netip.AddrPort
		proto    layers.IPProtocol
		vlan     uint16
	}{
		{"ethernet ipv4 udp", layers.LinkTypeEthernet, packettest.Ether(udp4), src4, dst4, layers.IPProtocolUDP, 0},
		{"ethernet ipv6 udp", layers.LinkTypeEthernet, packettest.Ether(udp6), src6, dst6, layers.IPProtocolUDP, 0},
		{"802.1Q", layers.LinkTypeEthernet, packettest.Ether(udp4, 100), src4, dst4, layers.IPProtocolUDP, 100},
		{"QinQ", layers.LinkTypeEthernet, packettest.Ether(udp6, 200, 300), src6, dst6, layers.IPProtocolUDP, 300},
		{"SLL", layers.LinkTypeLinuxSLL, packettest.SLL(udp4), src4, dst4, layers.IPProtocolUDP, 0},
		{"SLL2", layers.LinkTypeLinuxSLL2, packettest.SLL2(udp6), src6, dst6, layers.IPProtocolUDP, 0},
		{"NULL", layers.LinkTypeNull, packettest.Null(udp4), src4, dst4, layers.IPProtocolUDP, 0},
		{"LOOP", layers.LinkTypeLoop, packettest.Null(udp6), src6, dst6, layers.IPProtocolUDP, 0},
		{"raw v4", layers.LinkTypeRaw, udp4, src4, dst4, layers.IPProtocolUDP, 0},
		{"raw v6", layers.LinkTypeRaw, udp6, src6, dst6, layers.IPProtocolUDP, 0},
		{"IPv4 link type", layers.LinkTypeIPv4, udp4, src4, dst4, layers.IPProtocolUDP, 0},
		{"IPv6 link type", layers.LinkTypeIPv6, udp6, src6, dst6, layers.IPProtocolUDP, 0},
		{"tcp", layers.LinkTypeEthernet, packettest.Ether(tcp4), src4, dst4, layers.IPProtocolTCP, 0},
		{"ipv6 hop-by-hop", layers.LinkTypeRaw, withHopByHop(udp6), src6, dst6, layers.IPProtocolUDP, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p packet.Packet
			if err := packet.Decode(tc.lt, tc.data, &p); err != nil {
				t.Fatal(err)
			}
			if got := netip.AddrPortFrom(p.Src, p.SrcPort); got != tc.src {
				t.Errorf("src = %v, want %v", got, tc.src)
			}
			if got := netip.AddrPortFrom(p.Dst, p.DstPort); got != tc.dst {
				t.Errorf("dst = %v, want %v", got, tc.dst)
			}
			if p.Proto != tc.proto || p.VLAN != tc.vlan {
				t.Errorf("proto %v vlan %d, want %v %d", p.Proto, p.VLAN, tc.proto, tc.vlan)
			}
			if !bytes.Equal(p.Payload, body) {
				t.Errorf("payload = %q", p.Payload)
			}
			if tc.proto == layers.IPProtocolTCP && (p.Seq != 1000 || p.Flags != packet.PSH|packet.ACK) {
				t.Errorf("seq %d flags %#x", p.Seq, p.Flags)
			}
		})
	}
}

// withHopByHop inserts an empty (PadN) hop-by-hop options header.
func withHopByHop(v6 []byte) []byte {
	out := slices.Concat(v6[:40], []byte{v6[6], 0, 1, 4, 0, 0, 0, 0}, v6[40:])
	out[6] = byte(layers.IPProtocolIPv6HopByHop)
	binary.BigEndian.PutUint16(out[4:6], binary.BigEndian.Uint16(v6[4:6])+8)
	return out
}

// TestDecodeL4: L4 is the transport header and payload, the same bytes
// whatever the link layer, VLAN tags or IPv6 extension headers.
func TestDecodeL4(t *testing.T) {
	udp4 := packettest.UDP(src4, dst4, body)
	udp6 := packettest.UDP(src6, dst6, body)
	tcp4 := packettest.TCP(src4, dst4, 7, packettest.ACK, body)
	for _, tc := range []struct {
		lt   layers.LinkType
		data []byte
		want []byte
	}{
		{layers.LinkTypeRaw, udp4, udp4[20:]},
		{layers.LinkTypeEthernet, packettest.Ether(udp4, 20), udp4[20:]},
		{layers.LinkTypeLinuxSLL2, packettest.SLL2(withHopByHop(udp6)), udp6[40:]},
		{layers.LinkTypeEthernet, append(packettest.Ether(tcp4), 0, 0, 0), tcp4[20:]}, // padding trimmed
	} {
		var p packet.Packet
		if err := packet.Decode(tc.lt, tc.data, &p); err != nil || !bytes.Equal(p.L4, tc.want) {
			t.Errorf("%v: %v, L4 %x, want %x", tc.lt, err, p.L4, tc.want)
		}
	}
}

// TestDecodeReassembled decodes the transport of reassembled datagrams: an
// IPv4 payload, an IPv6 fragmentable part that starts with Destination
// Options (RFC 8200 §4.1 puts them after the Fragment header), and one
// that holds a second Fragment header, which RFC 8200 forbids.
func TestDecodeReassembled(t *testing.T) {
	l4v4 := packettest.UDP(src4, dst4, body)[20:]
	l4v6 := packettest.UDP(src6, dst6, body)[40:]
	frag4 := packettest.Fragment(src4.Addr(), dst4.Addr(), layers.IPProtocolUDP, 1, 0, true, l4v4[:16], false)
	frag6 := packettest.Fragment(src6.Addr(), dst6.Addr(), layers.IPProtocolIPv6Destination, 1, 0, true, make([]byte, 16), true)
	destOpts := slices.Concat([]byte{byte(layers.IPProtocolUDP), 0, 1, 4, 0, 0, 0, 0}, l4v6)
	nested := slices.Concat([]byte{byte(layers.IPProtocolUDP), 0, 0, 1, 0, 0, 0, 9}, l4v6)
	for _, tc := range []struct {
		name  string
		frag  []byte
		next  layers.IPProtocol
		whole []byte
		want  error
		dst   netip.AddrPort
	}{
		{"ipv4", frag4, layers.IPProtocolUDP, l4v4, nil, dst4},
		{"ipv6 destination options", frag6, layers.IPProtocolIPv6Destination, destOpts, nil, dst6},
		{"ipv6 plain", frag6, layers.IPProtocolUDP, l4v6, nil, dst6},
		{"ipv6 nested fragment header", frag6, layers.IPProtocolIPv6Fragment, nested, packet.ErrMalformed, dst6},
		{"ipv4 icmp", frag4, layers.IPProtocolICMPv4, l4v4, packet.ErrTransport, dst4},
		{"ipv4 cut", frag4, layers.IPProtocolUDP, l4v4[:5], packet.ErrTruncated, dst4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p packet.Packet
			if err := packet.Decode(layers.LinkTypeRaw, tc.frag, &p); err != packet.ErrFragment {
				t.Fatalf("Decode = %v", err)
			}
			err := p.DecodeReassembled(tc.next, tc.whole)
			if err != tc.want {
				t.Fatalf("DecodeReassembled = %v, want %v", err, tc.want)
			}
			if err != nil {
				return
			}
			if got := netip.AddrPortFrom(p.Dst, p.DstPort); got != tc.dst || !bytes.Equal(p.Payload, body) ||
				p.Proto != layers.IPProtocolUDP || p.MoreFragments || p.FragID != 0 {
				t.Errorf("decoded %+v", p)
			}
		})
	}
}

func TestDecodeEthernetPadding(t *testing.T) {
	frame := packettest.Ether(packettest.UDP(src4, dst4, []byte("x")))
	frame = append(frame, make([]byte, 60-len(frame))...) // minimum frame size
	var p packet.Packet
	if err := packet.Decode(layers.LinkTypeEthernet, frame, &p); err != nil {
		t.Fatal(err)
	}
	if string(p.Payload) != "x" {
		t.Fatalf("payload %q includes padding", p.Payload)
	}
}

func TestDecodeErrors(t *testing.T) {
	udp4 := packettest.UDP(src4, dst4, body)
	frag := bytes.Clone(udp4)
	binary.BigEndian.PutUint16(frag[6:8], 0x2000) // MF, offset 0
	frag6 := packettest.UDP(src6, dst6, body)
	frag6 = slices.Concat(frag6[:40], []byte{frag6[6], 0, 0, 1, 0, 0, 0, 42}, frag6[40:]) // offset 0, M=1, id 42
	frag6[6] = byte(layers.IPProtocolIPv6Fragment)
	binary.BigEndian.PutUint16(frag6[4:6], binary.BigEndian.Uint16(frag6[4:6])+8)
	atomic6 := bytes.Clone(frag6)
	atomic6[43] = 0 // M=0, offset 0: a whole packet
	icmp := bytes.Clone(udp4)
	icmp[9] = byte(layers.IPProtocolICMPv4)
	arp := packettest.Ether(udp4)
	binary.BigEndian.PutUint16(arp[12:14], uint16(layers.EthernetTypeARP))
	badUDPLen := bytes.Clone(udp4)
	binary.BigEndian.PutUint16(badUDPLen[24:26], 4)
	for _, tc := range []struct {
		name string
		lt   layers.LinkType
		data []byte
		want error
	}{
		{"unsupported link", layers.LinkTypeIEEE802_11, udp4, packet.ErrLinkType},
		{"arp", layers.LinkTypeEthernet, arp, packet.ErrNotIP},
		{"raw not ip", layers.LinkTypeRaw, []byte{0x50, 1, 2}, packet.ErrNotIP},
		{"icmp", layers.LinkTypeRaw, icmp, packet.ErrTransport},
		{"ipv4 fragment", layers.LinkTypeRaw, frag, packet.ErrFragment},
		{"ipv6 fragment", layers.LinkTypeRaw, frag6, packet.ErrFragment},
		{"ipv6 atomic fragment", layers.LinkTypeRaw, atomic6, nil},
		{"udp length < 8", layers.LinkTypeRaw, badUDPLen, packet.ErrMalformed},
		{"ipv4 header cut", layers.LinkTypeRaw, udp4[:19], packet.ErrTruncated},
		{"udp payload cut", layers.LinkTypeRaw, udp4[:len(udp4)-1], packet.ErrTruncated},
		{"empty ethernet", layers.LinkTypeEthernet, nil, packet.ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p packet.Packet
			if err := packet.Decode(tc.lt, tc.data, &p); err != tc.want {
				t.Fatalf("Decode = %v, want %v", err, tc.want)
			}
			if tc.want == packet.ErrFragment && (!p.MoreFragments || p.FragOffset != 0 || p.Proto != layers.IPProtocolUDP || !p.Src.IsValid()) {
				t.Errorf("fragment fields: %+v", p)
			}
		})
	}
}

// TestDecodePrefixes decodes every prefix of valid frames: an error or a
// payload inside the data, never a panic.
func TestDecodePrefixes(t *testing.T) {
	frames := map[layers.LinkType][]byte{
		layers.LinkTypeEthernet:  packettest.Ether(packettest.TCP(src6, dst6, 1, packettest.ACK, body), 1, 2),
		layers.LinkTypeLinuxSLL:  packettest.SLL(packettest.UDP(src4, dst4, body)),
		layers.LinkTypeLinuxSLL2: packettest.SLL2(withHopByHop(packettest.UDP(src6, dst6, body))),
		layers.LinkTypeNull:      packettest.Null(packettest.TCP(src4, dst4, 1, packettest.ACK, body)),
	}
	for lt, f := range frames {
		var p packet.Packet
		for n := range len(f) {
			if err := packet.Decode(lt, f[:n], &p); err == nil {
				t.Errorf("%v: prefix %d of %d decoded without error", lt, n, len(f))
			}
		}
		if err := packet.Decode(lt, f, &p); err != nil || !bytes.Equal(p.Payload, body) {
			t.Errorf("%v: full frame: %v, payload %q", lt, err, p.Payload)
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	f4 := packettest.Ether(packettest.UDP(src4, dst4, body), 7)
	f6 := packettest.Ether(packettest.TCP(src6, dst6, 1, packettest.ACK, body))
	var p packet.Packet
	if n := testing.AllocsPerRun(100, func() {
		_ = packet.Decode(layers.LinkTypeEthernet, f4, &p)
		_ = packet.Decode(layers.LinkTypeEthernet, f6, &p)
		_ = packet.Decode(layers.LinkTypeEthernet, f6[:20], &p)
	}); n != 0 {
		t.Fatalf("%v allocations per run, want 0", n)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(uint16(layers.LinkTypeEthernet), packettest.Ether(packettest.UDP(src4, dst4, body), 1, 2))
	f.Add(uint16(layers.LinkTypeLinuxSLL), packettest.SLL(packettest.TCP(src6, dst6, 7, packettest.SYN, nil)))
	f.Add(uint16(layers.LinkTypeRaw), withHopByHop(packettest.UDP(src6, dst6, body)))
	f.Add(uint16(layers.LinkTypeRaw), packettest.UDPFragments(src6, dst6, bytes.Repeat(body, 8), 3, 64, true)[0])
	f.Add(uint16(layers.LinkTypeRaw), packettest.UDPFragments(src4, dst4, bytes.Repeat(body, 8), 3, 64, false)[1])
	f.Fuzz(func(t *testing.T, lt uint16, data []byte) {
		var p packet.Packet
		err := packet.Decode(layers.LinkType(lt), data, &p)
		if err != nil && err != packet.ErrFragment {
			return
		}
		if err == packet.ErrFragment {
			// Whatever the reassembled bytes, their decode stays inside
			// them.
			q := p
			if q.DecodeReassembled(q.Proto, q.Payload) == nil && (len(q.Payload) > len(q.L4) || !bytes.Contains(data, q.L4)) {
				t.Fatalf("reassembled payload of %d bytes from %d", len(q.Payload), len(q.L4))
			}
		}
		if len(p.L4) < len(p.Payload) || len(p.L4) > 0 && !bytes.Contains(data, p.L4) {
			t.Fatal("L4 is not part of the data or shorter than the payload")
		}
		// The payload must alias the end part of data, not run past it.
		if len(p.Payload) > len(data) {
			t.Fatalf("payload of %d bytes from %d", len(p.Payload), len(data))
		}
		if len(p.Payload) > 0 && !bytes.Contains(data, p.Payload) {
			t.Fatal("payload is not part of the data")
		}
		if !p.Src.IsValid() || !p.Dst.IsValid() {
			t.Fatalf("decoded without addresses: %+v", p)
		}
	})
}
