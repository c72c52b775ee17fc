package probe_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/internal/packettest"
	"github.com/trunkscope/trunkscope/probe/sipscan"
)

var (
	pbx   = netip.MustParseAddrPort("10.0.0.10:5060")
	trunk = netip.MustParseAddrPort("198.51.100.10:5060")
	pbx6  = netip.MustParseAddrPort("[2001:db8::10]:5060")
	trk6  = netip.MustParseAddrPort("[2001:db8::20]:5060")
)

// sipMsg builds a SIP message with a body of n bytes.
func sipMsg(start, callID string, cseq int, method string, n int) []byte {
	body := strings.Repeat("b", n)
	return []byte(fmt.Sprintf("%s\r\nVia: SIP/2.0/TCP 10.0.0.10;branch=z9hG4bK%d\r\nFrom: <sip:a@x>;tag=f1\r\nTo: <sip:b@y>\r\n"+
		"Call-ID: %s\r\nCSeq: %d %s\r\nContent-Length: %d\r\n\r\n%s", start, cseq, callID, cseq, method, n, body))
}

func invite(callID string, bodyLen int) []byte {
	return sipMsg("INVITE sip:+4420@trunk.example.net SIP/2.0", callID, 1, "INVITE", bodyLen)
}

func ringing(callID string) []byte {
	return sipMsg("SIP/2.0 180 Ringing", callID, 1, "INVITE", 0)
}

// recorder is a Sink that keeps an encoded copy of every event, as a real
// sink must (the event aliases the packet).
type recorder struct {
	events [][]byte
	fail   error
}

func (r *recorder) SIP(ev *event.SIP) error {
	r.events = append(r.events, event.AppendSIP(nil, ev))
	return r.fail
}

func (r *recorder) decoded(t *testing.T) []event.SIP {
	t.Helper()
	out := make([]event.SIP, len(r.events))
	for i, b := range r.events {
		if err := event.DecodeSIP(b, &out[i]); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	return out
}

func newProbe(t testing.TB, opts ...probe.Opt) *probe.Probe {
	t.Helper()
	p, err := probe.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func feed(t testing.TB, p *probe.Probe, sink probe.Sink, lt layers.LinkType, tsUS int64, frames ...[]byte) {
	t.Helper()
	for _, f := range frames {
		if err := p.Packet(lt, tsUS, f, sink); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUDPLinkTypes(t *testing.T) {
	msg := invite("link@x", 10)
	udp4 := packettest.UDP(pbx, trunk, msg)
	udp6 := packettest.UDP(pbx6, trk6, msg)
	for _, tc := range []struct {
		name     string
		lt       layers.LinkType
		frame    []byte
		src, dst netip.AddrPort
	}{
		{"ethernet", layers.LinkTypeEthernet, packettest.Ether(udp4), pbx, trunk},
		{"802.1Q", layers.LinkTypeEthernet, packettest.Ether(udp4, 42), pbx, trunk},
		{"QinQ", layers.LinkTypeEthernet, packettest.Ether(udp4, 100, 42), pbx, trunk},
		{"SLL", layers.LinkTypeLinuxSLL, packettest.SLL(udp4), pbx, trunk},
		{"SLL2", layers.LinkTypeLinuxSLL2, packettest.SLL2(udp6), pbx6, trk6},
		{"NULL", layers.LinkTypeNull, packettest.Null(udp4), pbx, trunk},
		{"raw IPv6", layers.LinkTypeRaw, udp6, pbx6, trk6},
		{"IPv6 link type", layers.LinkTypeIPv6, udp6, pbx6, trk6},
		{"ethernet IPv6 QinQ", layers.LinkTypeEthernet, packettest.Ether(udp6, 7, 8), pbx6, trk6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProbe(t, probe.ProbeID("test-probe"))
			var rec recorder
			feed(t, p, &rec, tc.lt, 1_700_000_000_123456, tc.frame)
			evs := rec.decoded(t)
			if len(evs) != 1 {
				t.Fatalf("%d events, stats %+v", len(evs), p.Stats())
			}
			ev := evs[0]
			if ev.Src != tc.src || ev.Dst != tc.dst || ev.Transport != event.TransportUDP {
				t.Errorf("event %v -> %v over %v", ev.Src, ev.Dst, ev.Transport)
			}
			if string(ev.ProbeID) != "test-probe" || ev.TimeUS != 1_700_000_000_123456 || string(ev.CallID) != "link@x" ||
				string(ev.Method) != "INVITE" || ev.Status != 0 || ev.CSeqNum != 1 || !bytes.Equal(ev.Raw, msg) {
				t.Errorf("event fields: %+v", ev)
			}
			checkID(t, &ev)
			if s := p.Stats(); s.SIPUDP != 1 || s.SIPMessages != 1 || s.Packets != 1 || s.UDPDatagrams != 1 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// checkID recomputes the content ID of a decoded event.
func checkID(t *testing.T, ev *event.SIP) {
	t.Helper()
	want := ev.ID
	event.NewIDHasher().SetID(ev)
	if ev.ID != want || want == (event.ID{}) {
		t.Errorf("event ID %v, recomputed %v", want, ev.ID)
	}
}

func TestUDPResponseMethodIsCSeqMethod(t *testing.T) {
	p := newProbe(t)
	var rec recorder
	feed(t, p, &rec, layers.LinkTypeRaw, 1, packettest.UDP(trunk, pbx, ringing("r@x")))
	ev := rec.decoded(t)[0]
	if ev.Status != 180 || string(ev.Method) != "INVITE" || ev.IsRequest() {
		t.Fatalf("response event: status %d method %q", ev.Status, ev.Method)
	}
}

func TestUDPTrailingBytesNotInRaw(t *testing.T) {
	msg := ringing("t@x")
	p := newProbe(t)
	var rec recorder
	feed(t, p, &rec, layers.LinkTypeRaw, 1, packettest.UDP(trunk, pbx, append(bytes.Clone(msg), "\r\n\r\ngarbage"...)))
	if ev := rec.decoded(t)[0]; !bytes.Equal(ev.Raw, msg) {
		t.Fatalf("Raw = %q", ev.Raw)
	}
}

func TestUDPClassification(t *testing.T) {
	rtp := make([]byte, 172)
	rtp[0], rtp[1] = 0x80, 0x08 // V=2, PCMA
	rtcp := []byte{0x81, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	badPT := bytes.Clone(rtp)
	badPT[1] = 50
	noCallID := []byte("OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n")
	badStatus := []byte("SIP/2.0 999 Nope\r\nCall-ID: a\r\nCSeq: 1 OPTIONS\r\n\r\n")
	clerr := []byte("SIP/2.0 200 OK\r\nCall-ID: a\r\nCSeq: 1 OPTIONS\r\nContent-Length: 50\r\n\r\nshort")
	p := newProbe(t)
	var rec recorder
	for _, payload := range [][]byte{rtp, rtcp, badPT, []byte("\r\n\r\n"), []byte("     "), []byte("hello"), nil, noCallID, badStatus, clerr} {
		feed(t, p, &rec, layers.LinkTypeEthernet, 1, packettest.Ether(packettest.UDP(pbx, trunk, payload)))
	}
	s := p.Stats()
	want := probe.Stats{Packets: 10, UDPDatagrams: 10, RTPLike: 1, RTCPLike: 1, KeepAlives: 2, NotSIP: 3, FirstUS: 1, LastUS: 1}
	want.MalformedSIP[sipscan.ReasonBadCallID] = 1
	want.MalformedSIP[sipscan.ReasonBadStatus] = 1
	want.MalformedSIP[sipscan.ReasonTruncated] = 1
	want.Bytes = s.Bytes
	if s != want {
		t.Fatalf("stats\n got %+v\nwant %+v", s, want)
	}
	if len(rec.events) != 0 {
		t.Fatalf("%d events from non-SIP", len(rec.events))
	}
}

// TestTruncatedPackets feeds every prefix of SIP frames: each is counted
// (mostly as truncated) and none panics or yields an event except the whole.
func TestTruncatedPackets(t *testing.T) {
	frames := [][]byte{
		packettest.Ether(packettest.UDP(pbx, trunk, invite("cut@x", 20)), 5),
		packettest.SLL(packettest.TCP(pbx6, trk6, 1, packettest.ACK|packettest.PSH, invite("cut6@x", 0))),
	}
	for i, f := range frames {
		lt := layers.LinkTypeEthernet
		if i == 1 {
			lt = layers.LinkTypeLinuxSLL
		}
		p := newProbe(t)
		var rec recorder
		for n := range len(f) {
			feed(t, p, &rec, lt, 1, f[:n])
		}
		s := p.Stats()
		if len(rec.events) != 0 || s.Truncated != uint64(len(f)) {
			t.Errorf("frame %d: %d events, %d truncated of %d prefixes", i, len(rec.events), s.Truncated, len(f))
		}
		feed(t, p, &rec, lt, 1, f)
		if len(rec.events) != 1 {
			t.Errorf("frame %d: whole frame gave %d events", i, len(rec.events))
		}
	}
}

func TestDecodeDrops(t *testing.T) {
	udp := packettest.UDP(pbx, trunk, []byte("x"))
	icmp := bytes.Clone(udp)
	icmp[9] = 1
	frag := bytes.Clone(udp)
	frag[6] = 0x20 // MF
	arp := packettest.Ether(udp)
	arp[12], arp[13] = 0x08, 0x06
	p := newProbe(t)
	feed(t, p, nil, layers.LinkTypeRaw, 1, icmp, frag, []byte{0x45})
	feed(t, p, nil, layers.LinkTypeEthernet, 1, arp)
	feed(t, p, nil, layers.LinkTypeIEEE802_11, 1, udp)
	s := p.Stats()
	if s.NonUDPTCP != 1 || s.IPFragments != 1 || s.Truncated != 1 || s.NonIP != 1 || s.UnsupportedLink != 1 || s.Packets != 5 {
		t.Fatalf("stats %+v", s)
	}
	if s.Dropped() != 5 {
		t.Fatalf("Dropped() = %d", s.Dropped())
	}
}

func TestSinkError(t *testing.T) {
	boom := errors.New("boom")
	p := newProbe(t)
	rec := recorder{fail: boom}
	two := append(invite("e1@x", 0), ringing("e1@x")...)
	err := p.Packet(layers.LinkTypeRaw, 1, packettest.TCP(pbx, trunk, 1, packettest.ACK, two), &rec)
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "probe: sink: ") {
		t.Fatalf("Packet error = %v", err)
	}
	if s := p.Stats(); s.SinkErrors != 2 || len(rec.events) != 2 {
		t.Fatalf("sink errors %d, events %d: the second message must still be delivered", s.SinkErrors, len(rec.events))
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		opt  probe.Opt
		want string
	}{
		{probe.ProbeID(""), "ProbeID is empty"},
		{probe.ProbeID(strings.Repeat("p", 256)), "ProbeID is 256 bytes"},
		{probe.MaxTCPFlows(0), "MaxTCPFlows is 0"},
		{probe.MaxTCPBuffer(10), "MaxTCPBuffer is 10 bytes"},
		{probe.MaxTCPBuffer(1 << 30), "MaxTCPBuffer is 1073741824 bytes"},
		{probe.TCPIdle(0), "TCPIdle is 0s"},
		{probe.MaxTCPOutOfOrder(-1), "MaxTCPOutOfOrder is -1"},
		{probe.TCPReorderTimeout(0), "TCPReorderTimeout is 0s"},
		{probe.DedupWindow(-time.Second), "DedupWindow is -1s"},
		{probe.DedupWindow(time.Nanosecond), "DedupWindow is 1ns"},
		{probe.MaxDedupEntries(1), "MaxDedupEntries is 1"},
		{probe.RetransmissionWindow(-time.Second), "RetransmissionWindow is -1s"},
		{probe.MaxRetransmissionEntries(1 << 30), "MaxRetransmissionEntries is 1073741824"},
		{probe.FragmentTimeout(0), "FragmentTimeout is 0s"},
		{probe.MaxFragmentDatagrams(0), "MaxFragmentDatagrams is 0"},
		{probe.MaxFragmentBytes(1000), "MaxFragmentBytes is 1000"},
	} {
		_, err := probe.New(tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "probe: ") {
			t.Errorf("New: %v, want an error containing %q", err, tc.want)
		}
	}
	if _, err := probe.New(probe.ProbeID("p"), probe.MaxTCPFlows(1), probe.MaxTCPBuffer(1024), probe.TCPIdle(time.Second),
		probe.MaxTCPOutOfOrder(0), probe.TCPReorderTimeout(time.Millisecond), probe.DedupWindow(0), probe.MaxDedupEntries(4),
		probe.RetransmissionWindow(0), probe.MaxRetransmissionEntries(1<<24), probe.FragmentTimeout(time.Second),
		probe.MaxFragmentDatagrams(1), probe.MaxFragmentBytes(65535), probe.Media(nil)); err != nil {
		t.Errorf("New with valid options: %v", err)
	}
}

func TestStatsNames(t *testing.T) {
	var s probe.Stats
	seen := map[string]bool{}
	for _, c := range s.Counters() {
		if c.Name == "" || seen[c.Name] || strings.ToLower(c.Name) != c.Name || strings.Contains(c.Name, " ") {
			t.Errorf("bad or duplicate counter name %q", c.Name)
		}
		seen[c.Name] = true
	}
	for _, want := range []string{"sip_bad_call_id", "sip_truncated", "tcp_gap", "sink_error", "rtp_like", "not_sip",
		"duplicates", "dedup_evicted", "sip_retransmissions", "sip_retransmission_evicted", "ip_fragments", "ip_reassembled",
		"frag_timeout", "frag_overlap", "frag_evicted", "tcp_out_of_order", "tcp_reordered", "websocket_flows",
		"websocket_frames", "websocket_unsupported", "sip_ws", "sip_payload", "payloads"} {
		if !seen[want] {
			t.Errorf("no counter %q", want)
		}
	}
	if seen["sip_not_sip"] || seen["sip_none"] {
		t.Error("reasons counted elsewhere are listed as SIP drops")
	}
}

// TestAllocsUDP proves the UDP path allocates nothing per packet, SIP or not.
func TestAllocsUDP(t *testing.T) {
	rtp := make([]byte, 172)
	rtp[0], rtp[1] = 0x80, 0x00
	frames := [][]byte{
		packettest.Ether(packettest.UDP(pbx, trunk, rtp)),
		packettest.Ether(packettest.UDP(pbx, trunk, invite("alloc@x", 200)), 10, 20),
		packettest.Ether(packettest.UDP(pbx6, trk6, ringing("alloc@x"))),
		packettest.Ether(packettest.UDP(pbx, trunk, []byte("not sip at all"))),
		packettest.Ether(packettest.UDP(pbx, trunk, []byte("OPTIONS sip:a SIP/2.0\r\n\r\n"))),
		packettest.Ether(packettest.UDP(pbx, trunk, []byte("x")))[:30],
	}
	p := newProbe(t, probe.Media(&mediaRecorder{noCopy: true}))
	sink := probe.SinkFunc(func(*event.SIP) error { return nil })
	// Each run is 100 ms after the last, past DedupWindow, so every frame
	// takes its path again (the INVITE as a retransmission); each frame is
	// also sent twice, the copy taking the duplicate path.
	ts := int64(1)
	if n := testing.AllocsPerRun(200, func() {
		ts += 100_000
		for _, f := range frames {
			_ = p.Packet(layers.LinkTypeEthernet, ts, f, sink)
			_ = p.Packet(layers.LinkTypeEthernet, ts+20, f, sink)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per run, want 0", n)
	}
	if s := p.Stats(); s.SIPUDP < 400 || s.RTPLike < 200 || s.NotSIP < 200 || s.Truncated == 0 || s.Duplicates < 1000 || s.SIPRetransmissions < 200 {
		t.Fatalf("frames did not take the intended paths: %+v", s)
	}
}

// TestAllocsPayload: Payload, like a captured datagram, allocates nothing.
func TestAllocsPayload(t *testing.T) {
	msg := invite("payload@x", 200)
	meta := probe.Meta{Node: []byte("node"), CaptureID: 7, Flags: event.FlagHEP}
	p := newProbe(t)
	sink := probe.SinkFunc(func(*event.SIP) error { return nil })
	ts := int64(0)
	if n := testing.AllocsPerRun(200, func() {
		ts += 1000
		_ = p.Payload(ts, pbx, trunk, event.TransportUDP, msg, meta, sink)
	}); n != 0 {
		t.Fatalf("%v allocations per run, want 0", n)
	}
}

// TestAllocsTCPSteadyState: once a flow exists and its buffer has grown,
// in-order segments (whole messages, and messages split in two) allocate
// nothing.
func TestAllocsTCPSteadyState(t *testing.T) {
	msg := invite("steady@x", 300)
	half := len(msg) / 2
	p := newProbe(t)
	sink := probe.SinkFunc(func(*event.SIP) error { return nil })
	seq := uint32(1000)
	frames := make([][]byte, 0, 3)
	seg := func(b []byte) []byte {
		f := packettest.Ether(packettest.TCP(pbx, trunk, seq, packettest.ACK|packettest.PSH, b))
		seq += uint32(len(b))
		return f
	}
	for range 2 { // warm up: create the flow, grow its buffer
		frames = append(frames[:0], seg(msg), seg(msg[:half]), seg(msg[half:]))
		for _, f := range frames {
			_ = p.Packet(layers.LinkTypeEthernet, 1, f, sink)
		}
	}
	// Pre-build enough in-order segments for the measured runs.
	const runs = 50
	var batches [][][]byte
	for range runs + 1 {
		batches = append(batches, [][]byte{seg(msg), seg(msg[:half]), seg(msg[half:])})
	}
	i := 0
	if n := testing.AllocsPerRun(runs, func() {
		for _, f := range batches[i] {
			_ = p.Packet(layers.LinkTypeEthernet, 1, f, sink)
		}
		i++
	}); n != 0 {
		t.Fatalf("%v allocations per run, want 0", n)
	}
	if s := p.Stats(); s.SIPTCP != uint64(2*(2+i)) || s.TCPGaps != 0 {
		t.Fatalf("stats %+v after %d runs", s, i)
	}
}
