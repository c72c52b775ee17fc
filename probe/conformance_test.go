package probe_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/packet"
	"github.com/trunkscope/trunkscope/probe/pcapfile"
	"github.com/trunkscope/trunkscope/probe/sipscan"
)

// sipStat is what `tshark -q -z sip,stat` reports (tshark 4.0; see
// testdata/README.md): every message is counted, retransmissions included.
type sipStat struct {
	messages int
	codes    map[uint16]int
	methods  map[string]int
}

var captures = []struct {
	file string
	want sipStat
}{
	{"aaa.pcap", sipStat{81,
		map[uint16]int{407: 3, 200: 3, 408: 2, 480: 1, 100: 7, 401: 14, 183: 1, 403: 3},
		map[string]int{"INVITE": 11, "ACK": 7, "REGISTER": 18, "CANCEL": 11}}},
	{"sip_ipv4_tcp.pcap", sipStat{7,
		map[uint16]int{200: 2, 180: 1, 100: 1},
		map[string]int{"INVITE": 1, "ACK": 1, "BYE": 1}}},
	{"SIP_DTMF2.pcap", sipStat{29,
		map[uint16]int{603: 1, 200: 7, 180: 2, 100: 8},
		map[string]int{"INVITE": 3, "ACK": 3, "REGISTER": 5}}},
	{"sip-rtp-g729a.pcap", sipStat{6,
		map[uint16]int{200: 2, 100: 1},
		map[string]int{"INVITE": 1, "ACK": 1, "BYE": 1}}},
	{"poor_jitter_quality_22.pcapng", sipStat{0, map[uint16]int{}, map[string]int{}}},
	{"pcmu_8k_no_jitter.pcap", sipStat{0, map[uint16]int{}, map[string]int{}}},
}

// retransmissions are the SIP retransmissions in the captures: in aaa.pcap
// two INVITEs each sent three times (the four resends tshark marks with
// sip.resend) and one CANCEL sent eleven times on RFC 3261 Timer E's
// schedule (0.5, 1, 2, then 4 s; tshark does not mark these).
var retransmissions = map[string]uint64{"aaa.pcap": 14}

func TestConformance(t *testing.T) {
	for _, c := range captures {
		t.Run(c.file, func(t *testing.T) {
			p := newProbe(t)
			var rec recorder
			var reads int
			if err := probe.ReadFile(context.Background(), filepath.Join("testdata", c.file), p, &rec,
				func(read, total int64) { reads++ }); err != nil {
				t.Fatal(err)
			}
			got := sipStat{codes: map[uint16]int{}, methods: map[string]int{}}
			var m sipscan.Msg
			for _, ev := range rec.decoded(t) {
				got.messages++
				if ev.Status != 0 {
					got.codes[ev.Status]++
				} else {
					got.methods[string(ev.Method)]++
				}
				checkID(t, &ev)
				// The shipped raw bytes are one whole message that scans
				// to the same routing fields.
				if err := sipscan.Scan(ev.Raw, &m); err != nil || m.Len() != len(ev.Raw) && m.ContentLength >= 0 ||
					string(m.CallID) != string(ev.CallID) || m.CSeqNum != ev.CSeqNum || m.Status != ev.Status {
					t.Errorf("event raw bytes rescan: %v, %+v", err, m)
				}
				if !ev.Src.IsValid() || !ev.Dst.IsValid() || ev.TimeUS < 1e15 || string(ev.ProbeID) != "probe-1" {
					t.Errorf("event header: %v -> %v at %d by %q", ev.Src, ev.Dst, ev.TimeUS, ev.ProbeID)
				}
			}
			if got.messages != c.want.messages || !maps.Equal(got.codes, c.want.codes) || !maps.Equal(got.methods, c.want.methods) {
				t.Errorf("sip,stat:\n got %+v\nwant %+v", got, c.want)
			}
			s := p.Stats()
			if s.Packets == 0 {
				t.Error("no packets")
			}
			checkAccounting(t, s)
			// tshark counts every message, retransmissions included: none
			// of them may be taken for a tap duplicate.
			if s.Duplicates != 0 {
				t.Errorf("%d duplicates in a single-tap capture", s.Duplicates)
			}
			if want := retransmissions[c.file]; s.SIPRetransmissions != want {
				t.Errorf("%d messages marked retransmissions, want %d", s.SIPRetransmissions, want)
			}
			if reads == 0 {
				t.Error("progress never called")
			}
			for _, d := range s.Drops() {
				if d.Value != 0 {
					t.Logf("%s: %d", d.Name, d.Value)
				}
			}
			t.Logf("packets %d, sip %d (udp %d, tcp %d; %d marked retransmissions), rtp-like %d, rtcp-like %d",
				s.Packets, s.SIPMessages, s.SIPUDP, s.SIPTCP, s.SIPRetransmissions, s.RTPLike, s.RTCPLike)
		})
	}
}

// TestConformanceRTPLike: the RTP-only captures are counted as media, not
// as drops (pcmu_8k_no_jitter has 2524 RTP packets per tshark; the pcapng
// 1771).
func TestConformanceRTPLike(t *testing.T) {
	for file, want := range map[string]uint64{"pcmu_8k_no_jitter.pcap": 2524, "poor_jitter_quality_22.pcapng": 1771} {
		p := newProbe(t)
		if err := probe.ReadFile(context.Background(), filepath.Join("testdata", file), p, &recorder{}, nil); err != nil {
			t.Fatal(err)
		}
		if s := p.Stats(); s.RTPLike != want {
			t.Errorf("%s: %d RTP-like, want %d (stats %+v)", file, s.RTPLike, want, s)
		}
	}
}

// TestDecodeMatchesGopacket decodes every packet of every capture with both
// package packet and gopacket's full decoder, and compares addresses, ports
// and transport payloads.
func TestDecodeMatchesGopacket(t *testing.T) {
	for _, c := range captures {
		r, err := pcapfile.Open(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		var pk packet.Packet
		n := 0
		for {
			data, _, lt, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
			gp := gopacket.NewPacket(data, lt, gopacket.DecodeOptions{NoCopy: true, Lazy: false})
			err = packet.Decode(lt, data, &pk)
			var gsrc, gdst netip.Addr
			if nl := gp.NetworkLayer(); nl != nil {
				gsrc, _ = netip.AddrFromSlice(nl.NetworkFlow().Src().Raw())
				gdst, _ = netip.AddrFromSlice(nl.NetworkFlow().Dst().Raw())
			}
			var gpayload []byte
			var gsp, gdp uint16
			switch l := gp.TransportLayer().(type) {
			case *layers.UDP:
				gpayload, gsp, gdp = l.Payload, uint16(l.SrcPort), uint16(l.DstPort)
			case *layers.TCP:
				gpayload, gsp, gdp = l.Payload, uint16(l.SrcPort), uint16(l.DstPort)
			default:
				if err == nil {
					t.Errorf("%s #%d: decoded %v, gopacket found no UDP/TCP: %v", c.file, n, pk.Proto, gp)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s #%d: %v, gopacket decoded it", c.file, n, err)
				continue
			}
			if pk.Src != gsrc || pk.Dst != gdst || pk.SrcPort != gsp || pk.DstPort != gdp || string(pk.Payload) != string(gpayload) {
				t.Errorf("%s #%d: %v:%d -> %v:%d (%d bytes), gopacket %v:%d -> %v:%d (%d bytes)", c.file, n,
					pk.Src, pk.SrcPort, pk.Dst, pk.DstPort, len(pk.Payload), gsrc, gsp, gdst, gdp, len(gpayload))
			}
		}
		r.Close()
	}
}

// TestEventsRoundTrip: an event encoded by a sink decodes to the same fields.
func TestEventsRoundTrip(t *testing.T) {
	p := newProbe(t)
	var direct []event.SIP
	var rec recorder
	sink := probe.SinkFunc(func(ev *event.SIP) error {
		c := *ev // fields alias the packet: copy the slices for comparison
		c.ProbeID, c.CallID, c.Method, c.Raw = clone(ev.ProbeID), clone(ev.CallID), clone(ev.Method), clone(ev.Raw)
		direct = append(direct, c)
		return rec.SIP(ev)
	})
	if err := probe.ReadFile(context.Background(), filepath.Join("testdata", "aaa.pcap"), p, sink, nil); err != nil {
		t.Fatal(err)
	}
	dec := rec.decoded(t)
	if len(dec) != len(direct) || len(dec) == 0 {
		t.Fatalf("%d decoded, %d direct", len(dec), len(direct))
	}
	for i := range dec {
		a, b := dec[i], direct[i]
		if a.ID != b.ID || a.TimeUS != b.TimeUS || a.Src != b.Src || a.Dst != b.Dst || a.Transport != b.Transport ||
			string(a.CallID) != string(b.CallID) || string(a.Method) != string(b.Method) || a.Status != b.Status ||
			a.CSeqNum != b.CSeqNum || string(a.Raw) != string(b.Raw) || string(a.ProbeID) != string(b.ProbeID) {
			t.Fatalf("event %d differs after AppendSIP/DecodeSIP", i)
		}
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func TestReadFileErrors(t *testing.T) {
	p := newProbe(t)
	missing := filepath.Join(t.TempDir(), "missing.pcap")
	if err := probe.ReadFile(context.Background(), missing, p, &recorder{}, nil); err == nil ||
		!strings.HasPrefix(err.Error(), "probe: ") || !strings.Contains(err.Error(), "missing.pcap") {
		t.Errorf("missing file: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := probe.ReadFile(ctx, filepath.Join("testdata", "aaa.pcap"), p, &recorder{}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	boom := errors.New("boom")
	rec := recorder{fail: boom}
	err := probe.ReadFile(context.Background(), filepath.Join("testdata", "aaa.pcap"), p, &rec, nil)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "aaa.pcap, packet ") || len(rec.events) != 1 {
		t.Errorf("sink error: %v after %d events", err, len(rec.events))
	}
}
