package ladder

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// WritePcap writes msgs as a pcap file (Ethernet link type): each message
// becomes one frame rebuilt from the stored raw bytes, addresses, ports,
// transport and capture time. UDP messages are single datagrams; stream
// transports (TCP, TLS, WS: the probe stores them decrypted and unframed)
// become TCP segments with running sequence numbers per direction, so
// Wireshark reassembles and dissects them as SIP. MAC addresses are
// synthetic (locally administered, derived from the IP address): the store
// does not keep link-layer headers.
func WritePcap(w io.Writer, msgs []Message) error {
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		return fmt.Errorf("ladder: pcap header: %w", err)
	}
	seq := map[[2]string]uint32{}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	for i := range msgs {
		m := &msgs[i]
		src, dst := m.Src.Addr().Unmap(), m.Dst.Addr().Unmap()
		if src.Is4() != dst.Is4() {
			return fmt.Errorf("ladder: message %d: mixed address families %s -> %s", i, src, dst)
		}
		eth := &layers.Ethernet{SrcMAC: mac(src.AsSlice()), DstMAC: mac(dst.AsSlice())}
		var ip gopacket.NetworkLayer
		var ipl gopacket.SerializableLayer
		proto := layers.IPProtocolUDP
		stream := m.Transport == "tcp" || m.Transport == "tls" || m.Transport == "ws"
		if stream {
			proto = layers.IPProtocolTCP
		}
		if src.Is4() {
			eth.EthernetType = layers.EthernetTypeIPv4
			v4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice()),
				Id: uint16(i), Flags: layers.IPv4DontFragment}
			ip, ipl = v4, v4
		} else {
			eth.EthernetType = layers.EthernetTypeIPv6
			v6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
			ip, ipl = v6, v6
		}
		payload := gopacket.Payload(m.Raw)
		var l4 gopacket.SerializableLayer
		if stream {
			k := [2]string{m.Src.String(), m.Dst.String()}
			s, ok := seq[k]
			if !ok {
				s = 1
			}
			ack := seq[[2]string{k[1], k[0]}]
			if ack == 0 {
				ack = 1
			}
			tcp := &layers.TCP{SrcPort: layers.TCPPort(m.Src.Port()), DstPort: layers.TCPPort(m.Dst.Port()),
				Seq: s, Ack: ack, ACK: true, PSH: true, Window: 65535}
			tcp.SetNetworkLayerForChecksum(ip)
			seq[k] = s + uint32(len(m.Raw))
			l4 = tcp
		} else {
			udp := &layers.UDP{SrcPort: layers.UDPPort(m.Src.Port()), DstPort: layers.UDPPort(m.Dst.Port())}
			udp.SetNetworkLayerForChecksum(ip)
			l4 = udp
		}
		if err := gopacket.SerializeLayers(buf, opts, eth, ipl, l4, payload); err != nil {
			return fmt.Errorf("ladder: message %d: %w", i, err)
		}
		data := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: time.UnixMicro(m.TimeUS).UTC(), CaptureLength: len(data), Length: len(data)}
		if err := pw.WritePacket(ci, data); err != nil {
			return fmt.Errorf("ladder: writing message %d: %w", i, err)
		}
	}
	return nil
}

// mac derives a locally administered unicast MAC address from an IP
// address, so each host keeps one address in the file.
func mac(ip []byte) net.HardwareAddr {
	m := net.HardwareAddr{0x02, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(m[2:], crc(ip))
	return m
}

func crc(b []byte) uint32 {
	h := uint32(2166136261) // FNV-1a
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}
