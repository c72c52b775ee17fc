package synth

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// host is one IP endpoint on the wire. The IP ID counter lives here because
// real stacks number datagrams per sender, not per capture.
type host struct {
	ip   net.IP
	mac  net.HardwareAddr
	ttl  uint8
	ipID uint16
	name string // rendered address for SIP URIs and SDP
}

func newHost(a netip.Addr, ttl uint8) *host {
	b := a.As4()
	// Locally administered MAC derived from the IP keeps MACs stable per host
	// across seeds without a lookup table.
	return &host{
		ip:   net.IP(b[:]),
		mac:  net.HardwareAddr{0x02, 0x00, b[0], b[1], b[2], b[3]},
		ttl:  ttl,
		name: a.String(),
	}
}

// packetWriter reuses its layers and buffer so per-packet cost stays flat
// for large captures.
type packetWriter struct {
	w    *pcapgo.Writer
	buf  gopacket.SerializeBuffer
	opts gopacket.SerializeOptions
	eth  layers.Ethernet
	ip   layers.IPv4
	udp  layers.UDP
}

func newPacketWriter(w io.Writer) (*packetWriter, error) {
	pw := &packetWriter{
		w:    pcapgo.NewWriter(w),
		buf:  gopacket.NewSerializeBufferExpectedSize(42, 1500),
		opts: gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true},
	}
	if err := pw.w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("synth: write pcap header: %w", err)
	}
	return pw, nil
}

func (p *packetWriter) write(atUS int64, src, dst *host, sport, dport uint16, payload []byte) error {
	src.ipID++
	p.eth = layers.Ethernet{SrcMAC: src.mac, DstMAC: dst.mac, EthernetType: layers.EthernetTypeIPv4}
	p.ip = layers.IPv4{
		Version:  4,
		IHL:      5,
		TTL:      src.ttl,
		Id:       src.ipID,
		Flags:    layers.IPv4DontFragment,
		Protocol: layers.IPProtocolUDP,
		SrcIP:    src.ip,
		DstIP:    dst.ip,
	}
	p.udp = layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	if err := p.udp.SetNetworkLayerForChecksum(&p.ip); err != nil {
		return fmt.Errorf("synth: udp checksum setup: %w", err)
	}
	if err := gopacket.SerializeLayers(p.buf, p.opts, &p.eth, &p.ip, &p.udp, gopacket.Payload(payload)); err != nil {
		return fmt.Errorf("synth: serialize packet: %w", err)
	}
	data := p.buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: time.UnixMicro(atUS), CaptureLength: len(data), Length: len(data)}
	if err := p.w.WritePacket(ci, data); err != nil {
		return fmt.Errorf("synth: write packet: %w", err)
	}
	return nil
}
