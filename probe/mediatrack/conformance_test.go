package mediatrack

import (
	"fmt"
	"math"
	"net/netip"
	"testing"
)

// tsharkStream is one line of `tshark -r FILE -q -z rtp,streams` (tshark
// 4.0.17, Debian bookworm; --enable-heuristic rtp_udp for the files
// without SIP): the figures of ../rtp/conformance_test.go, with the
// Call-ID and codec that the capture's SDP gives each stream (tshark's
// "Payload" column and `-Y sdp -T fields -e sip.Call-ID`).
type tsharkStream struct {
	src, dst           string
	ssrc               uint32
	packets, lost      int64
	maxDelta           float64
	meanJitter, maxJit float64
	// rfcMean and rfcMax are the RFC 3550 figures where they differ from
	// tshark's (the DTMF stream of SIP_DTMF2); 0 when they agree.
	rfcMean, rfcMax float64
	callID, codec   string
	// dir is event.RTPReport.Direction: 1 from the caller, 2 to it, 0
	// unknown (RTP only, or a late offer, whose descriptions are both
	// answers to the Tracker).
	dir uint8
}

var tsharkCaptures = []struct {
	file    string
	streams []tsharkStream
}{
	{"SIP_DTMF2.pcap", []tsharkStream{
		// 110:4374 is the ACK's (late-offer answer's) address: the
		// stream is matched by its source, the sender's own entry.
		{src: "192.168.105.110:4374", dst: "192.168.105.172:4376", ssrc: 0x9A7B5382,
			packets: 665, lost: 2, maxDelta: 60.002, meanJitter: 0.010, maxJit: 0.019,
			callID: "25672@192.168.105.110", codec: "PCMA"},
		// RFC 2833/4733 DTMF (PT 96, telephone-event in the SDP). In
		// Wireshark mode the arrival reference moves over the events
		// but the timestamp reference does not, so each digit leaves a
		// transit jump on the next voice packet: tshark's 15.767 ms
		// maximum. RFC 3550 mode leaves the events out: 0.008/0.015 ms.
		{src: "192.168.105.172:4376", dst: "192.168.105.110:4376", ssrc: 0x5711BF84,
			packets: 666, lost: 0, maxDelta: 30.068, meanJitter: 1.522, maxJit: 15.767,
			rfcMean: 0.008, rfcMax: 0.015, callID: "25672@192.168.105.110", codec: "PCMA"},
	}},
	{"sip-rtp-g729a.pcap", []tsharkStream{
		{src: "10.0.2.15:28120", dst: "10.0.2.20:6000", ssrc: 0x044559A1,
			packets: 425, lost: 0, maxDelta: 20.471, meanJitter: 0.085, maxJit: 0.143,
			callID: "1-24411@10.0.2.20", codec: "G729", dir: 2},
	}},
	{"sip_ipv4_tcp.pcap", []tsharkStream{
		// SDP over TCP; G.711A with comfort noise both ways.
		{src: "10.33.6.100:6000", dst: "10.33.6.101:6050", ssrc: 0x5A3361B3,
			packets: 24, lost: 0, maxDelta: 20.158, meanJitter: 0.039, maxJit: 0.069,
			callID: "158936656982201062716@10.33.6.100", codec: "PCMA", dir: 1},
		{src: "10.33.6.101:6050", dst: "10.33.6.100:6000", ssrc: 0x42F433D4,
			packets: 42, lost: 0, maxDelta: 23.982, meanJitter: 2.304, maxJit: 3.063,
			callID: "158936656982201062716@10.33.6.100", codec: "PCMA", dir: 2},
	}},
	{"poor_jitter_quality_22.pcapng", []tsharkStream{
		// RTP only. 20 packets of PCMA, then 1751 of dynamic PT 124 with
		// no clock known: the jitter is the PCMA packets'.
		{src: "91.121.209.194:51616", dst: "192.168.0.201:7078", ssrc: 0x663A8117,
			packets: 1771, lost: 163, maxDelta: 12556.287, meanJitter: 2.764, maxJit: 4.989, codec: "PCMA"},
	}},
	{"pcmu_8k_no_jitter.pcap", []tsharkStream{
		{src: "192.168.0.201:8090", dst: "192.168.0.201:8070", ssrc: 0x00DD5028,
			packets: 2524, lost: 0, maxDelta: 89.248, meanJitter: 0.800, maxJit: 11.493, codec: "PCMU"},
	}},
	{"aaa.pcap", []tsharkStream{
		// Early media of a call that ends in a failure: mapped through
		// the 183's SDP (the answerer receives at 212.242.33.36:40392).
		{src: "192.168.1.2:30000", dst: "212.242.33.36:40392", ssrc: 0x3796CB71,
			packets: 9, lost: 0, maxDelta: 69.947, meanJitter: 5.646, maxJit: 7.799,
			callID: "11894297-4432a9f8@192.168.1.2", codec: "PCMA", dir: 1},
	}},
}

// TestConformance replays every capture through a real Probe with a
// Tracker as its MediaHandler and compares each final report with tshark:
// packets and lost exactly, mean and max jitter within 5 % or 0.01 ms
// (whichever is larger), max delta to tshark's printed microsecond, the
// Call-ID and codec from the SDP (empty Call-IDs for RTP-only captures).
// In Wireshark mode every figure matches tshark's; in RFC 3550 mode too,
// but for the DTMF stream's jitter (rfcMean, rfcMax).
func TestConformance(t *testing.T) {
	for _, c := range tsharkCaptures {
		for _, wireshark := range []bool{true, false} {
			name := c.file + "/rfc3550"
			if wireshark {
				name = c.file + "/wireshark"
			}
			t.Run(name, func(t *testing.T) {
				var col collector
				tr := newTracker(t, &col, WiresharkJitter(wireshark))
				replay(t, c.file, tr)
				finals := col.finals()
				if len(finals) != len(c.streams) {
					t.Errorf("%d final reports, tshark lists %d streams", len(finals), len(c.streams))
				}
				for _, want := range c.streams {
					src, dst := netip.MustParseAddrPort(want.src), netip.MustParseAddrPort(want.dst)
					rs := col.of(src, dst, want.ssrc)
					if len(rs) == 0 || !rs[len(rs)-1].Final {
						t.Errorf("%v -> %v 0x%08X: no final report", src, dst, want.ssrc)
						continue
					}
					r := rs[len(rs)-1]
					wantMean, wantMax := want.meanJitter, want.maxJit
					if !wireshark && want.rfcMax != 0 {
						wantMean, wantMax = want.rfcMean, want.rfcMax
					}
					mean, maxJ, delta := ms(r.JitterMeanUS), ms(r.JitterMaxUS), ms(r.MaxDeltaUS)
					if int64(r.Packets) != want.packets || r.Lost != want.lost {
						t.Errorf("%v: packets %d lost %d, tshark %d %d", src, r.Packets, r.Lost, want.packets, want.lost)
					}
					if !jitterClose(mean, wantMean) || !jitterClose(maxJ, wantMax) {
						t.Errorf("%v: mean/max jitter %.3f/%.3f ms, want %.3f/%.3f", src, mean, maxJ, wantMean, wantMax)
					}
					if math.Abs(delta-want.maxDelta) > 0.0015 {
						t.Errorf("%v: max delta %.3f ms, tshark %.3f", src, delta, want.maxDelta)
					}
					if string(r.CallID) != want.callID || string(r.Codec) != want.codec || r.Direction != want.dir {
						t.Errorf("%v: Call-ID %q codec %q direction %d, want %q %q %d", src, r.CallID, r.Codec, r.Direction, want.callID, want.codec, want.dir)
					}
					// Intervals and the final report's Seq agree.
					if int(r.Seq) != len(rs)-1 {
						t.Errorf("%v: final Seq %d after %d interval reports", src, r.Seq, len(rs)-1)
					}
					t.Logf("%s | ours %d/%d %.3f/%.3f %.3f | tshark %d/%d %.3f/%.3f %.3f | %q %s MOS %.3f",
						fmt.Sprintf("%v->%v 0x%08X", src, dst, r.SSRC), r.Packets, r.Lost, mean, maxJ, delta,
						want.packets, want.lost, wantMean, wantMax, want.maxDelta, r.CallID, r.Codec, float64(r.MOSx1000)/1000)
				}
			})
		}
	}
}

func jitterClose(got, want float64) bool {
	return math.Abs(got-want) <= max(0.05*want, 0.01)
}
