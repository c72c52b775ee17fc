package probe_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/internal/packettest"
)

// TestDuplicateFromTwoTaps: the same packet seen on two taps, once with a
// VLAN tag and once without, 20 µs apart, is one event.
func TestDuplicateFromTwoTaps(t *testing.T) {
	msg := invite("taps@x", 100)
	ip := packettest.UDP(pbx, trunk, msg)
	p := newProbe(t)
	var rec recorder
	feed(t, p, &rec, layers.LinkTypeEthernet, 1_000_000, packettest.Ether(ip))
	feed(t, p, &rec, layers.LinkTypeEthernet, 1_000_020, packettest.Ether(ip, 20))
	// And on Linux "any" (SLL2), as loopback shows it a second time.
	feed(t, p, &rec, layers.LinkTypeLinuxSLL2, 1_000_021, packettest.SLL2(ip))
	evs := wantMessages(t, &rec, event.TransportUDP, msg)
	if evs[0].TimeUS != 1_000_000 || evs[0].Flags != 0 {
		t.Errorf("event at %d flags %v", evs[0].TimeUS, evs[0].Flags)
	}
	s := p.Stats()
	if s.Duplicates != 2 || s.UDPDatagrams != 1 || s.Packets != 3 || s.SIPRetransmissions != 0 {
		t.Errorf("stats %+v", s)
	}
	checkAccounting(t, s)

	// RTP copies are dropped too, so media analysis sees each packet once;
	// so are TCP segments.
	rtp := make([]byte, 172)
	rtp[0], rtp[1] = 0x80, 0x08
	seg := packettest.TCP(pbx, trunk, 1, ack, invite("tcp@x", 0))
	feed(t, p, &rec, layers.LinkTypeRaw, 2_000_000, packettest.UDP(pbx, trunk, rtp), packettest.UDP(pbx, trunk, rtp), seg, seg)
	if s := p.Stats(); s.Duplicates != 4 || s.RTPLike != 1 || s.SIPTCP != 1 || s.TCPRetransmits != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestDuplicateWindow: a copy later than DedupWindow is not a duplicate;
// DedupWindow(0) turns the filter off.
func TestDuplicateWindow(t *testing.T) {
	rtp := make([]byte, 172)
	rtp[0], rtp[1] = 0x80, 0x08
	ip := packettest.UDP(pbx, trunk, rtp)
	p := newProbe(t, probe.DedupWindow(10*time.Millisecond))
	feed(t, p, nil, layers.LinkTypeRaw, 0, ip)
	feed(t, p, nil, layers.LinkTypeRaw, 10_000, ip) // at the window's edge: a copy
	feed(t, p, nil, layers.LinkTypeRaw, 20_001, ip) // past it: seen again
	// A merged capture may run backwards in time a little.
	feed(t, p, nil, layers.LinkTypeRaw, 15_000, ip)
	if s := p.Stats(); s.Duplicates != 2 || s.RTPLike != 2 {
		t.Errorf("stats %+v", s)
	}
	p = newProbe(t, probe.DedupWindow(0))
	feed(t, p, nil, layers.LinkTypeRaw, 0, ip, ip)
	if s := p.Stats(); s.Duplicates != 0 || s.RTPLike != 2 {
		t.Errorf("dedup off: stats %+v", s)
	}
}

// TestDedupTableBounded: more distinct packets per window than the table
// holds evict old entries (counted) and keep working.
func TestDedupTableBounded(t *testing.T) {
	p := newProbe(t, probe.MaxDedupEntries(64))
	rtp := make([]byte, 172)
	rtp[0], rtp[1] = 0x80, 0x08
	frames := make([][]byte, 1000)
	for i := range frames {
		rtp[2], rtp[3] = byte(i>>8), byte(i)
		frames[i] = packettest.UDP(pbx, trunk, rtp)
	}
	for i, f := range frames {
		feed(t, p, nil, layers.LinkTypeRaw, int64(i), f)
		feed(t, p, nil, layers.LinkTypeRaw, int64(i)+20, f) // a tap copy right behind
	}
	s := p.Stats()
	if s.Duplicates != 1000 || s.RTPLike != 1000 || s.DedupEvicted == 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestRetransmissionFlagged: an INVITE sent again 500 ms later (RFC 3261
// Timer A) is a second event, flagged; so is a retransmitted 200 OK. A
// proxy's copy of the INVITE on its next hop, a forked 180 with another To
// tag and the ACK are not retransmissions.
func TestRetransmissionFlagged(t *testing.T) {
	inv := invite("rtx@x", 200)
	proxy := netip.MustParseAddrPort("192.0.2.99:5060")
	ok := sipMsg("SIP/2.0 200 OK", "rtx@x", 1, "INVITE", 0)
	ok = bytes.Replace(ok, []byte("To: <sip:b@y>"), []byte("To: <sip:b@y>;tag=callee1"), 1)
	fork := bytes.Replace(ringing("rtx@x"), []byte("To: <sip:b@y>"), []byte("To: <sip:b@y>;tag=callee2"), 1)
	ring1 := bytes.Replace(ringing("rtx@x"), []byte("To: <sip:b@y>"), []byte("To: <sip:b@y>;tag=callee1"), 1)
	ackMsg := sipMsg("ACK sip:+4420@trunk.example.net SIP/2.0", "rtx@x", 1, "ACK", 0)
	p := newProbe(t)
	var rec recorder
	steps := []struct {
		tsUS     int64
		src, dst netip.AddrPort
		msg      []byte
		rtx      bool
	}{
		{0, pbx, trunk, inv, false},
		{5_000, trunk, proxy, inv, false}, // the next hop: not a retransmission
		{500_000, pbx, trunk, inv, true},  // Timer A
		{600_000, trunk, pbx, ring1, false},
		{610_000, trunk, pbx, fork, false}, // another branch of a fork
		{700_000, trunk, pbx, ok, false},
		{1_200_000, trunk, pbx, ok, true}, // 2xx retransmitted until the ACK (RFC 3261 §13.3.1.4)
		{1_300_000, pbx, trunk, ackMsg, false},
		{1_500_000, pbx, trunk, inv, true}, // still within the transaction's 32 s
	}
	for _, s := range steps {
		feed(t, p, &rec, layers.LinkTypeRaw, s.tsUS, packettest.UDP(s.src, s.dst, s.msg))
	}
	evs := rec.decoded(t)
	if len(evs) != len(steps) {
		t.Fatalf("%d events for %d messages", len(evs), len(steps))
	}
	for i, ev := range evs {
		if got := ev.Flags&event.FlagRetransmission != 0; got != steps[i].rtx {
			t.Errorf("event %d (%s %d at %d): retransmission %v, want %v", i, ev.Method, ev.Status, ev.TimeUS, got, steps[i].rtx)
		}
		checkID(t, &ev)
	}
	if evs[0].ID == evs[2].ID {
		t.Error("a retransmission has the original's event ID")
	}
	if s := p.Stats(); s.SIPRetransmissions != 3 || s.Duplicates != 0 {
		t.Errorf("stats %+v", s)
	}
	// Past the window, the same message is not marked.
	feed(t, p, &rec, layers.LinkTypeRaw, 40_000_000, packettest.UDP(pbx, trunk, inv))
	if ev := rec.decoded(t)[len(steps)]; ev.Flags != 0 {
		t.Errorf("a message 40 s later flagged %v", ev.Flags)
	}
}

// TestRetransmissionINVITE500ms is the case on its own: a
// retransmitted INVITE 500 ms later gives two events, the second flagged.
func TestRetransmissionINVITE500ms(t *testing.T) {
	msg := invite("again@x", 300)
	frame := packettest.Ether(packettest.UDP(pbx, trunk, msg))
	p := newProbe(t)
	var rec recorder
	feed(t, p, &rec, layers.LinkTypeEthernet, 1_000_000, frame)
	feed(t, p, &rec, layers.LinkTypeEthernet, 1_500_000, frame)
	evs := wantMessages(t, &rec, event.TransportUDP, msg, msg)
	if evs[0].Flags != 0 || evs[1].Flags != event.FlagRetransmission || evs[1].TimeUS != 1_500_000 {
		t.Errorf("flags %v, %v at %d", evs[0].Flags, evs[1].Flags, evs[1].TimeUS)
	}
	if s := p.Stats(); s.SIPRetransmissions != 1 || s.Duplicates != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestRetransmissionTableBounded(t *testing.T) {
	p := newProbe(t, probe.MaxRetransmissionEntries(16))
	for i := range 100 {
		feed(t, p, &recorder{}, layers.LinkTypeRaw, int64(i)*1000, packettest.UDP(pbx, trunk, invite(string(rune('A'+i%26))+"-"+string(rune('a'+i/26))+"@x", 0)))
	}
	if s := p.Stats(); s.RetransmissionEvicted == 0 || s.SIPRetransmissions != 0 || s.SIPUDP != 100 {
		t.Errorf("stats %+v", s)
	}
	p = newProbe(t, probe.RetransmissionWindow(0))
	var rec recorder
	f := packettest.UDP(pbx, trunk, invite("off@x", 0))
	feed(t, p, &rec, layers.LinkTypeRaw, 0, f)
	feed(t, p, &rec, layers.LinkTypeRaw, 500_000, f)
	if evs := rec.decoded(t); len(evs) != 2 || evs[1].Flags != 0 {
		t.Errorf("marking off: %d events", len(evs))
	}
}

// TestPayloadMatchesPacket: a payload decoded elsewhere (HEP) becomes the
// same event as the captured UDP packet carrying it, plus its metadata.
func TestPayloadMatchesPacket(t *testing.T) {
	msg := append(invite("hep@x", 120), "\r\n\r\ntrailing junk"...)
	var captured, hep recorder
	p := newProbe(t, probe.ProbeID("edge"))
	feed(t, p, &captured, layers.LinkTypeEthernet, 1_700_000_000_000_001, packettest.Ether(packettest.UDP(pbx, trunk, msg), 5))
	q := newProbe(t, probe.ProbeID("edge"))
	if err := q.Payload(1_700_000_000_000_001, pbx, trunk, event.TransportUDP, msg, probe.Meta{}, &hep); err != nil {
		t.Fatal(err)
	}
	a, b := captured.decoded(t), hep.decoded(t)
	if len(a) != 1 || len(b) != 1 || !bytes.Equal(captured.events[0], hep.events[0]) {
		t.Fatalf("captured %+v\n     hep %+v", a, b)
	}
	// With HEP metadata: the same message fields, the carrier's fields on
	// top; the ID does not depend on them.
	meta := probe.Meta{CorrelationID: []byte("corr-1"), Node: []byte("kamailio-1"), CaptureID: 2001, Flags: event.FlagHEP}
	hep = recorder{}
	q = newProbe(t, probe.ProbeID("edge"))
	if err := q.Payload(1_700_000_000_000_001, pbx, trunk, event.TransportUDP, msg, meta, &hep); err != nil {
		t.Fatal(err)
	}
	ev := hep.decoded(t)[0]
	if ev.ID != a[0].ID || string(ev.CorrelationID) != "corr-1" || string(ev.Node) != "kamailio-1" || ev.CaptureID != 2001 ||
		ev.Flags != event.FlagHEP || !bytes.Equal(ev.Raw, a[0].Raw) || string(ev.CallID) != "hep@x" {
		t.Errorf("HEP event %+v", ev)
	}
	// The same retransmission marking: a HEP copy 500 ms later is flagged.
	if err := q.Payload(1_700_000_000_500_001, pbx, trunk, event.TransportUDP, msg, meta, &hep); err != nil {
		t.Fatal(err)
	}
	if ev := hep.decoded(t)[1]; ev.Flags != event.FlagHEP|event.FlagRetransmission {
		t.Errorf("flags %v", ev.Flags)
	}
	// Not SIP: counted, no event; a malformed message counted by reason.
	_ = q.Payload(1, pbx, trunk, event.TransportUDP, []byte("hello"), meta, &hep)
	_ = q.Payload(1, pbx, trunk, event.TransportTCP, []byte("SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n\r\n"), meta, &hep)
	s := q.Stats()
	if s.Payloads != 4 || s.SIPPayload != 2 || s.SIPMessages != 2 || s.NotSIP != 1 || s.Dropped() != 2 || s.Packets != 0 {
		t.Errorf("stats %+v", s)
	}
}

// mediaRecorder is a MediaHandler that copies what it is shown.
type mediaRecorder struct {
	sip    []string // Call-ID and body
	udp    [][]byte
	ends   []netip.AddrPort
	tsUS   []int64
	noCopy bool
}

func (m *mediaRecorder) SIP(ev *event.SIP, body []byte) {
	if !m.noCopy {
		m.sip = append(m.sip, string(ev.CallID)+"|"+string(body))
	}
}

func (m *mediaRecorder) UDP(tsUS int64, src, dst netip.AddrPort, payload []byte) {
	if !m.noCopy {
		m.udp = append(m.udp, bytes.Clone(payload))
		m.ends = append(m.ends, src, dst)
		m.tsUS = append(m.tsUS, tsUS)
	}
}

func TestMediaHandler(t *testing.T) {
	sdp := "v=0\r\no=- 1 1 IN IP4 10.0.0.10\r\ns=-\r\nc=IN IP4 10.0.0.10\r\nt=0 0\r\nm=audio 40000 RTP/AVP 8\r\n"
	inv := []byte("INVITE sip:b@y SIP/2.0\r\nCall-ID: media@x\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n" +
		"Content-Length: " + itoa(len(sdp)) + "\r\n\r\n" + sdp)
	rtp := make([]byte, 172)
	rtp[0], rtp[1] = 0x80, 0x08
	rtcp := []byte{0x81, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	media := netip.MustParseAddrPort("10.0.0.10:40000")
	far := netip.MustParseAddrPort("198.51.100.10:30000")
	var m mediaRecorder
	p := newProbe(t, probe.Media(&m))
	var rec recorder
	feed(t, p, &rec, layers.LinkTypeRaw, 1, packettest.UDP(pbx, trunk, inv))
	feed(t, p, &rec, layers.LinkTypeRaw, 2, packettest.UDP(far, media, rtp))
	feed(t, p, &rec, layers.LinkTypeRaw, 3, packettest.UDP(far, media, rtp)) // a tap copy: not shown
	feed(t, p, &rec, layers.LinkTypeRaw, 4, packettest.UDP(far, netip.AddrPortFrom(media.Addr(), 40001), rtcp))
	feed(t, p, &rec, layers.LinkTypeRaw, 5, packettest.UDP(far, media, []byte("stun-ish")))
	feed(t, p, &rec, layers.LinkTypeRaw, 6, packettest.TCP(pbx, trunk, 1, ack, ringing("media@x")))
	if len(m.sip) != 2 || m.sip[0] != "media@x|"+sdp || m.sip[1] != "media@x|" {
		t.Errorf("SIP seen by the handler: %q", m.sip)
	}
	if len(m.udp) != 3 || !bytes.Equal(m.udp[0], rtp) || !bytes.Equal(m.udp[1], rtcp) || string(m.udp[2]) != "stun-ish" ||
		m.ends[0] != far || m.ends[1] != media || m.tsUS[0] != 2 || m.tsUS[2] != 5 {
		t.Errorf("UDP seen by the handler: %d datagrams, %v at %v", len(m.udp), m.ends, m.tsUS)
	}
	if s := p.Stats(); s.RTPLike != 1 || s.RTCPLike != 1 || s.NotSIP != 1 || s.Duplicates != 1 {
		t.Errorf("stats %+v", s)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
