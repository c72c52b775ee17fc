package probe_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/internal/packettest"
)

// countSink is the cheapest sink that still touches each event, so the
// benchmarks measure the probe and not an encoder.
type countSink struct{ n, bytes int }

func (s *countSink) SIP(ev *event.SIP) error {
	s.n++
	s.bytes += len(ev.Raw)
	return nil
}

// benchPacket feeds frame over and over, 20 µs of capture time apart;
// next, if not nil, changes it in place before each packet, as a stream's
// packets differ (a packet identical to one 20 µs earlier would be a tap
// duplicate, which the probe drops early).
func benchPacket(b *testing.B, p *probe.Probe, frame []byte, next func(frame []byte, i int), check func(probe.Stats) bool) {
	var sink countSink
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	ts := int64(1_700_000_000_000_000)
	i := 0
	for b.Loop() {
		if next != nil {
			next(frame, i)
		}
		i++
		ts += 20
		if err := p.Packet(layers.LinkTypeEthernet, ts, frame, &sink); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	if !check(p.Stats()) {
		b.Fatalf("packets took the wrong path: %+v", p.Stats())
	}
}

// rtpFrame is a G.711 RTP packet over Ethernet/IPv4/UDP, and nextRTP makes
// it the stream's next packet: sequence number +1, timestamp +160.
func rtpFrame() []byte {
	rtp := make([]byte, 12+160) // 20 ms of PCMA
	rtp[0], rtp[1] = 0x80, 0x08
	rtp[2], rtp[3] = 0x12, 0x34
	return packettest.Ether(packettest.UDP(pbx, trunk, rtp))
}

func nextRTP(frame []byte, i int) {
	rtp := frame[14+20+8:]
	binary.BigEndian.PutUint16(rtp[2:4], uint16(i))
	binary.BigEndian.PutUint32(rtp[4:8], uint32(i)*160)
}

// BenchmarkPacketRTP is the probe's dominant case (DESIGN.md targets: >= 3M
// packets/s on one core, 0 allocations): a G.711 RTP packet over
// Ethernet/IPv4/UDP, decoded, checked against the duplicate filter (on by
// default), found not to be SIP and counted as RTP.
func BenchmarkPacketRTP(b *testing.B) {
	benchPacket(b, newProbe(b), rtpFrame(), nextRTP, func(s probe.Stats) bool { return s.RTPLike == s.Packets })
}

// BenchmarkPacketRTPNoDedup is BenchmarkPacketRTP with the duplicate filter
// off: the difference is what the filter costs per packet.
func BenchmarkPacketRTPNoDedup(b *testing.B) {
	benchPacket(b, newProbe(b, probe.DedupWindow(0)), rtpFrame(), nextRTP, func(s probe.Stats) bool { return s.RTPLike == s.Packets })
}

// BenchmarkPacketRTPDuplicate is the second copy of each RTP packet from a
// second tap: dropped by the duplicate filter.
func BenchmarkPacketRTPDuplicate(b *testing.B) {
	frame := rtpFrame()
	p := newProbe(b)
	var sink countSink
	b.ReportAllocs()
	ts := int64(1_700_000_000_000_000)
	i := 0
	for b.Loop() {
		nextRTP(frame, i/2) // each packet twice
		i++
		ts += 10
		if err := p.Packet(layers.LinkTypeEthernet, ts, frame, &sink); err != nil {
			b.Fatal(err)
		}
	}
	if s := p.Stats(); s.Duplicates != s.Packets/2 {
		b.Fatalf("stats %+v", s)
	}
}

// BenchmarkPacketSIP is an INVITE with SDP over Ethernet/IPv4/UDP, scanned,
// checked against the retransmission table, turned into an event and its
// ID hashed (SHA-256 over the raw message). Each INVITE has its own
// Call-ID.
func BenchmarkPacketSIP(b *testing.B) {
	frame := packettest.Ether(packettest.UDP(pbx, trunk, invite("bench-00000000@x", 250)))
	at := bytes.Index(frame, []byte("bench-")) + len("bench-")
	benchPacket(b, newProbe(b), frame, func(f []byte, i int) { hex.Encode(f[at:at+8], binary.BigEndian.AppendUint32(nil, uint32(i))) },
		func(s probe.Stats) bool { return s.SIPUDP == s.Packets && s.SIPRetransmissions == 0 })
}

// BenchmarkFragmentedSIP is a 3,000-byte INVITE (a large SDP offer) in three
// IPv4 fragments, reassembled and turned into an event; each datagram has
// its own IP identification. Figures are per datagram.
func BenchmarkFragmentedSIP(b *testing.B) {
	msg := invite("frag-bench@x", 3000)
	var frames [][]byte
	for _, f := range packettest.UDPFragments(pbx, trunk, msg, 1, 1480, false) {
		frames = append(frames, packettest.Ether(f))
	}
	p := newProbe(b)
	var sink countSink
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	ts := int64(1_700_000_000_000_000)
	id := uint16(0)
	for b.Loop() {
		id++
		for _, f := range frames {
			binary.BigEndian.PutUint16(f[14+4:14+6], id)
			ts += 20
			if err := p.Packet(layers.LinkTypeEthernet, ts, f, &sink); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "datagrams/s")
	if s := p.Stats(); s.IPReassembled != uint64(b.N) || s.SIPUDP != uint64(b.N) {
		b.Fatalf("stats %+v after %d datagrams", s, b.N)
	}
}

// BenchmarkPayload is a SIP message handed in decoded (HEP): the shared SIP
// path without the packet decode.
func BenchmarkPayload(b *testing.B) {
	msg := invite("payload@x", 250)
	p := newProbe(b)
	var sink countSink
	meta := probe.Meta{Node: []byte("kamailio-1"), Flags: event.FlagHEP}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	ts := int64(1_700_000_000_000_000)
	for b.Loop() {
		ts += 1000
		if err := p.Payload(ts, pbx, trunk, event.TransportUDP, msg, meta, &sink); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPacketTCP sends an INVITE split over two in-order segments of one
// flow, so it measures buffering and framing as well.
func BenchmarkPacketTCP(b *testing.B) {
	msg := invite("bench@x", 250)
	half := len(msg) / 2
	p := newProbe(b)
	var sink countSink
	const batch = 1024
	seq := uint32(1)
	frames := make([][]byte, 0, 2*batch)
	for range batch {
		frames = append(frames,
			packettest.Ether(packettest.TCP(pbx, trunk, seq, packettest.ACK, msg[:half])),
			packettest.Ether(packettest.TCP(pbx, trunk, seq+uint32(half), packettest.ACK, msg[half:])))
		seq += uint32(len(msg))
	}
	synFrame := packettest.Ether(packettest.TCP(pbx, trunk, 0, packettest.SYN, nil))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	i := 0
	ts := int64(1)
	for b.Loop() {
		if i == len(frames) {
			// Start the batch again as a new connection on the same tuple
			// (the SYN 100 ms after the last, not a tap duplicate).
			ts += 100_000
			if err := p.Packet(layers.LinkTypeEthernet, ts, synFrame, &sink); err != nil {
				b.Fatal(err)
			}
			i = 0
		}
		for _, f := range frames[i : i+2] {
			ts += 20
			if err := p.Packet(layers.LinkTypeEthernet, ts, f, &sink); err != nil {
				b.Fatal(err)
			}
		}
		i += 2
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "messages/s")
	if s := p.Stats(); s.SIPTCP != uint64(sink.n) || s.TCPGaps != 0 || sink.n < b.N {
		b.Fatalf("stats %+v for %d messages", s, b.N)
	}
}

// BenchmarkReadFile replays a real RTP capture from disk (page cache) through
// ReadFile: file reading included. Each replay has a Probe of its own: the
// same packets at the same times again would be tap duplicates to the
// first (the Probe's tables, about 2 MiB, count in B/op).
func BenchmarkReadFile(b *testing.B) {
	path := filepath.Join("testdata", "pcmu_8k_no_jitter.pcap")
	var sink countSink
	b.ReportAllocs()
	var packets uint64
	for b.Loop() {
		p := newProbe(b)
		if err := probe.ReadFile(context.Background(), path, p, &sink, nil); err != nil {
			b.Fatal(err)
		}
		if s := p.Stats(); s.Duplicates != 0 {
			b.Fatalf("stats %+v", s)
		}
		packets += p.Stats().Packets
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
}
