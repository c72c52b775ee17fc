package rtp

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/probe/packet"
	"github.com/trunkscope/trunkscope/probe/pcapfile"
	"github.com/trunkscope/trunkscope/probe/rtcp"
)

// tsharkStream is one line of `tshark -r FILE -q -z rtp,streams` (tshark
// 4.0.17, Debian bookworm; add --enable-heuristic rtp_udp for the files
// without SIP), every stream of every capture in ../testdata, both
// directions. Times are in ms as tshark prints them (3 decimals).
type tsharkStream struct {
	src, dst           string
	ssrc               uint32
	packets, lost      int64
	maxDelta           float64
	meanJitter, maxJit float64
	// rfcMean and rfcMax are this package's RFC 3550 figures where they
	// differ from tshark's (see SIP_DTMF2 below); 0 when they agree.
	rfcMean, rfcMax float64
}

var tsharkCaptures = []struct {
	file    string
	streams []tsharkStream
}{
	{"SIP_DTMF2.pcap", []tsharkStream{
		{src: "192.168.105.110:4374", dst: "192.168.105.172:4376", ssrc: 0x9A7B5382,
			packets: 665, lost: 2, maxDelta: 60.002, meanJitter: 0.010, maxJit: 0.019},
		// This direction carries RFC 2833/4733 DTMF (PT 96, six digits).
		// Wireshark moves its arrival reference over the event packets
		// but not its timestamp reference (tap-rtp-analysis.c: "time" is
		// updated for every in-sequence packet, "lastnominaltime" only
		// for those with a clock rate), so every digit leaves a transit
		// jump of the digit's length on the next voice packet: the 15.767
		// ms maximum is that artefact. RFC 3550 mode leaves the events
		// out entirely and sees the stream's real 0.008/0.015 ms.
		{src: "192.168.105.172:4376", dst: "192.168.105.110:4376", ssrc: 0x5711BF84,
			packets: 666, lost: 0, maxDelta: 30.068, meanJitter: 1.522, maxJit: 15.767,
			rfcMean: 0.008, rfcMax: 0.015},
	}},
	{"sip-rtp-g729a.pcap", []tsharkStream{
		{src: "10.0.2.15:28120", dst: "10.0.2.20:6000", ssrc: 0x044559A1,
			packets: 425, lost: 0, maxDelta: 20.471, meanJitter: 0.085, maxJit: 0.143},
	}},
	{"sip_ipv4_tcp.pcap", []tsharkStream{
		// G.711A with comfort noise (PT 13) both ways.
		{src: "10.33.6.100:6000", dst: "10.33.6.101:6050", ssrc: 0x5A3361B3,
			packets: 24, lost: 0, maxDelta: 20.158, meanJitter: 0.039, maxJit: 0.069},
		{src: "10.33.6.101:6050", dst: "10.33.6.100:6000", ssrc: 0x42F433D4,
			packets: 42, lost: 0, maxDelta: 23.982, meanJitter: 2.304, maxJit: 3.063},
	}},
	{"poor_jitter_quality_22.pcapng", []tsharkStream{
		// 20 packets of PCMA, then 1751 of dynamic PT 124 (Opus by its
		// 960-unit steps) that neither tshark nor this test has a clock
		// for: the jitter is the PCMA packets'.
		{src: "91.121.209.194:51616", dst: "192.168.0.201:7078", ssrc: 0x663A8117,
			packets: 1771, lost: 163, maxDelta: 12556.287, meanJitter: 2.764, maxJit: 4.989},
	}},
	{"pcmu_8k_no_jitter.pcap", []tsharkStream{
		{src: "192.168.0.201:8090", dst: "192.168.0.201:8070", ssrc: 0x00DD5028,
			packets: 2524, lost: 0, maxDelta: 89.248, meanJitter: 0.800, maxJit: 11.493},
	}},
	{"aaa.pcap", []tsharkStream{
		{src: "192.168.1.2:30000", dst: "212.242.33.36:40392", ssrc: 0x3796CB71,
			packets: 9, lost: 0, maxDelta: 69.947, meanJitter: 5.646, maxJit: 7.799},
	}},
}

type streamKey struct {
	src, dst netip.AddrPort
	ssrc     uint32
}

func (k streamKey) String() string { return fmt.Sprintf("%v->%v 0x%08X", k.src, k.dst, k.ssrc) }

// readStreams groups a capture's UDP packets into streams by (source,
// destination, SSRC), the way tshark's rtp,streams does, with every
// stream on an 8 kHz clock (all these codecs' RTP clock).
//
// Ports below 1024 are skipped: Wireshark tries its RTP heuristic only on
// packets no port-registered dissector claimed, and DNS (53) and NetBIOS
// (137) queries in aaa.pcap pass the RTP header checks (their first byte
// often has the two top bits 10). RTCP is classified first (RFC 5761 §4).
func readStreams(t *testing.T, file string, opt Options) map[streamKey]*Stream {
	t.Helper()
	r, err := pcapfile.Open(filepath.Join("..", "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	streams := map[streamKey]*Stream{}
	var p packet.Packet
	var h Header
	for {
		data, tsUS, lt, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if packet.Decode(lt, data, &p) != nil || p.Proto != layers.IPProtocolUDP || p.SrcPort < 1024 || p.DstPort < 1024 {
			continue
		}
		if rtcp.LooksLikeRTCP(p.Payload) || !LooksLikeRTP(p.Payload) {
			continue
		}
		if err := ParseHeader(p.Payload, &h); err != nil {
			t.Fatalf("LooksLikeRTP passed a packet ParseHeader refuses: %v", err)
		}
		k := streamKey{netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort), h.SSRC}
		s := streams[k]
		if s == nil {
			s = new(Stream)
			s.Init(h.SSRC, 8000, opt)
			streams[k] = s
		}
		s.Add(tsUS, &h, h.PayloadLen)
	}
	return streams
}

// TestConformance compares every stream tshark lists with this package:
// packets and lost exactly, mean and max jitter within 5 % or 0.01 ms
// (whichever is larger), max delta to tshark's printed precision. In
// Wireshark mode every figure must match; in RFC 3550 mode (the default)
// too, except the DTMF stream's jitter (rfcMean, rfcMax).
func TestConformance(t *testing.T) {
	for _, c := range tsharkCaptures {
		for _, wireshark := range []bool{true, false} {
			name := c.file + "/rfc3550"
			if wireshark {
				name = c.file + "/wireshark"
			}
			t.Run(name, func(t *testing.T) {
				streams := readStreams(t, c.file, Options{WiresharkJitter: wireshark})
				if len(streams) != len(c.streams) {
					t.Errorf("found %d streams, tshark lists %d: %v", len(streams), len(c.streams), streams)
				}
				for _, want := range c.streams {
					k := streamKey{netip.MustParseAddrPort(want.src), netip.MustParseAddrPort(want.dst), want.ssrc}
					s := streams[k]
					if s == nil {
						t.Errorf("%v: not found", k)
						continue
					}
					r := s.Snapshot()
					wantMean, wantMax := want.meanJitter, want.maxJit
					if !wireshark && want.rfcMax != 0 {
						wantMean, wantMax = want.rfcMean, want.rfcMax
					}
					if r.Packets != want.packets || r.Lost != want.lost {
						t.Errorf("%v: packets %d lost %d, tshark %d %d", k, r.Packets, r.Lost, want.packets, want.lost)
					}
					if !jitterClose(r.MeanJitterMS, wantMean) || !jitterClose(r.MaxJitterMS, wantMax) {
						t.Errorf("%v: mean/max jitter %.4f/%.4f ms, want %.3f/%.3f", k, r.MeanJitterMS, r.MaxJitterMS, wantMean, wantMax)
					}
					if math.Abs(r.MaxDeltaMS-want.maxDelta) > 0.0005 {
						t.Errorf("%v: max delta %.4f ms, tshark %.3f", k, r.MaxDeltaMS, want.maxDelta)
					}
					t.Logf("%v: packets %d lost %d mean/max jitter %.3f/%.3f max delta %.3f | MOS %.3f fixed %.3f adaptive %.3f (late %d/%d) bursts %v",
						k, r.Packets, r.Lost, r.MeanJitterMS, r.MaxJitterMS, r.MaxDeltaMS, r.MOS, r.MOSFixed, r.MOSAdaptive, r.LateFixed, r.LateAdaptive, r.BurstHist)
				}
			})
		}
	}
}

func jitterClose(got, want float64) bool {
	return math.Abs(got-want) <= max(0.05*want, 0.01)
}

// TestConformanceIntervals cuts the lossy capture into 10 s intervals and
// checks that they add up to the whole-stream figures.
func TestConformanceIntervals(t *testing.T) {
	r, err := pcapfile.Open(filepath.Join("..", "testdata", "poor_jitter_quality_22.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var s Stream
	var p packet.Packet
	var h Header
	var packets, expected, lost, bursts int64
	nextUS := int64(0)
	flush := func() {
		iv := s.Interval()
		packets, expected, lost, bursts = packets+iv.Packets, expected+iv.Expected, lost+iv.Lost, bursts+iv.LossBursts
	}
	for {
		data, tsUS, lt, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if packet.Decode(lt, data, &p) != nil || ParseHeader(p.Payload, &h) != nil {
			continue
		}
		if s.Packets() == 0 {
			s.Init(h.SSRC, 8000, Options{})
			nextUS = tsUS + 10_000_000
		}
		for tsUS >= nextUS {
			flush()
			nextUS += 10_000_000
		}
		s.Add(tsUS, &h, h.PayloadLen)
	}
	flush()
	total := s.Snapshot()
	if packets != 1771 || lost != 163 || packets != total.Packets || expected != total.Expected || lost != total.Lost || bursts != total.LossBursts {
		t.Errorf("intervals: packets %d expected %d lost %d bursts %d; stream %+v", packets, expected, lost, bursts, total)
	}
}
