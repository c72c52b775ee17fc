package probe_test

import (
	"context"
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

func benchPacket(b *testing.B, frame []byte, check func(probe.Stats) bool) {
	p := newProbe(b)
	var sink countSink
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Packet(layers.LinkTypeEthernet, 1_700_000_000_000_000, frame, &sink); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	if !check(p.Stats()) {
		b.Fatalf("packets took the wrong path: %+v", p.Stats())
	}
}

// BenchmarkPacketRTP is the probe's dominant case (DESIGN.md targets: >= 3M
// packets/s on one core, 0 allocations): a G.711 RTP packet over
// Ethernet/IPv4/UDP, decoded, found not to be SIP and counted as RTP.
func BenchmarkPacketRTP(b *testing.B) {
	rtp := make([]byte, 12+160) // 20 ms of PCMA
	rtp[0], rtp[1] = 0x80, 0x08
	rtp[2], rtp[3] = 0x12, 0x34
	frame := packettest.Ether(packettest.UDP(pbx, trunk, rtp))
	benchPacket(b, frame, func(s probe.Stats) bool { return s.RTPLike == s.Packets })
}

// BenchmarkPacketSIP is an INVITE with SDP over Ethernet/IPv4/UDP, scanned,
// turned into an event and its ID hashed (SHA-256 over the raw message).
func BenchmarkPacketSIP(b *testing.B) {
	frame := packettest.Ether(packettest.UDP(pbx, trunk, invite("bench@x", 250)))
	benchPacket(b, frame, func(s probe.Stats) bool { return s.SIPUDP == s.Packets })
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
	for b.Loop() {
		if i == len(frames) {
			// Start the batch again as a new connection on the same tuple.
			if err := p.Packet(layers.LinkTypeEthernet, 1, synFrame, &sink); err != nil {
				b.Fatal(err)
			}
			i = 0
		}
		for _, f := range frames[i : i+2] {
			if err := p.Packet(layers.LinkTypeEthernet, 1, f, &sink); err != nil {
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
// ReadFile: file reading included.
func BenchmarkReadFile(b *testing.B) {
	path := filepath.Join("testdata", "pcmu_8k_no_jitter.pcap")
	p := newProbe(b)
	var sink countSink
	b.ReportAllocs()
	var packets uint64
	for b.Loop() {
		before := p.Stats().Packets
		if err := probe.ReadFile(context.Background(), path, p, &sink, nil); err != nil {
			b.Fatal(err)
		}
		packets += p.Stats().Packets - before
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
}
