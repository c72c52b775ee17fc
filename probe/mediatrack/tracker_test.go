package mediatrack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/internal/packettest"
	"github.com/trunkscope/trunkscope/probe/media"
)

var (
	alice    = netip.MustParseAddrPort("10.0.0.1:5060")
	bob      = netip.MustParseAddrPort("10.0.0.2:5060")
	aliceRTP = netip.MustParseAddrPort("10.0.0.1:20000")
	bobRTP   = netip.MustParseAddrPort("10.0.0.2:30000")
)

const t0 = int64(1_700_000_000_000_000) // µs

func sdpBody(user string, media netip.AddrPort) string {
	return fmt.Sprintf("v=0\r\no=%s 1 1 IN IP4 %v\r\ns=-\r\nc=IN IP4 %v\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n",
		user, media.Addr(), media.Addr(), media.Port())
}

// sipMessage builds a SIP message; cseq is "1 INVITE" and so on.
func sipMessage(start, callID, cseq, body string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK%s\r\nFrom: <sip:alice@10.0.0.1>;tag=a1\r\n"+
		"To: <sip:bob@10.0.0.2>;tag=b1\r\nCall-ID: %s\r\nCSeq: %s\r\n", start, strings.ReplaceAll(cseq, " ", ""), callID, cseq)
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return []byte(b.String())
}

// rtpPacket is a 20 ms G.711 packet.
func rtpPacket(pt uint8, seq uint16, ts, ssrc uint32) []byte {
	b := make([]byte, 12+160)
	b[0], b[1] = 0x80, pt
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return b
}

// wire feeds packets built with gopacket through a real Probe whose
// MediaHandler is the Tracker under test.
type wire struct {
	t   *testing.T
	p   *probe.Probe
	tr  *Tracker
	col *collector
}

func newWire(t *testing.T, opts ...Opt) *wire {
	t.Helper()
	col := &collector{}
	tr := newTracker(t, col, opts...)
	p, err := probe.New(probe.Media(tr))
	if err != nil {
		t.Fatal(err)
	}
	return &wire{t, p, tr, col}
}

func (w *wire) send(tsUS int64, src, dst netip.AddrPort, payload []byte) {
	w.t.Helper()
	if err := w.p.Packet(layers.LinkTypeEthernet, tsUS, packettest.Ether(packettest.UDP(src, dst, payload)), discard); err != nil {
		w.t.Fatal(err)
	}
}

// setUp sends INVITE (offer) and 200 (answer) for callID at tsUS.
func (w *wire) setUp(tsUS int64, callID string) {
	w.send(tsUS, alice, bob, sipMessage("INVITE sip:bob@10.0.0.2 SIP/2.0", callID, "1 INVITE", sdpBody("alice", aliceRTP)))
	w.send(tsUS+50_000, bob, alice, sipMessage("SIP/2.0 200 OK", callID, "1 INVITE", sdpBody("bob", bobRTP)))
	w.send(tsUS+60_000, alice, bob, sipMessage("ACK sip:bob@10.0.0.2 SIP/2.0", callID, "1 ACK", ""))
}

func (w *wire) bye(tsUS int64, callID string) {
	w.send(tsUS, alice, bob, sipMessage("BYE sip:bob@10.0.0.2 SIP/2.0", callID, "2 BYE", ""))
}

// tick moves capture time with a datagram that is not media.
func (w *wire) tick(tsUS int64) {
	w.send(tsUS, netip.MustParseAddrPort("10.9.9.9:9999"), netip.MustParseAddrPort("10.9.9.8:9999"), []byte("tick"))
}

// media sends n packets each way every 20 ms from tsUS, skipping the
// sequence numbers drop says are lost (alice to bob only).
func (w *wire) media(tsUS int64, n int, drop func(i int) bool) {
	for i := range n {
		at := tsUS + int64(i)*20_000
		if drop == nil || !drop(i) {
			w.send(at, aliceRTP, bobRTP, rtpPacket(8, uint16(1000+i), uint32(i*160), 0xA11CE))
		}
		w.send(at+3_000, bobRTP, aliceRTP, rtpPacket(8, uint16(5000+i), uint32(7000+i*160), 0xB0B))
	}
}

// TestCallReports follows one call end to end through the probe: SDP
// offer and answer, 25 s of RTP each way with a 5-packet loss burst,
// interval reports at 10 s and 20 s, then the BYE and, EndLinger later,
// the final reports.
func TestCallReports(t *testing.T) {
	w := newWire(t)
	const call = "call-1@10.0.0.1"
	w.setUp(t0, call)
	start := t0 + 200_000
	const n = 1250 // 25 s
	w.media(start, n, func(i int) bool { return i >= 100 && i < 105 })
	last := start + (n-1)*20_000 + 3_000
	byeAt := last + 20_000
	w.bye(byeAt, call)
	w.tick(byeAt + 1_000_000)
	if f := w.col.finals(); len(f) != 0 {
		t.Fatalf("final reports %d before EndLinger", len(f))
	}
	w.tick(byeAt + 2_500_000)

	ids := map[event.ID]bool{}
	for _, c := range []struct {
		src, dst       netip.AddrPort
		ssrc           uint32
		packets, lost  int64
		firstIntervals [2]uint64
		dir            uint8
	}{
		{aliceRTP, bobRTP, 0xA11CE, n - 5, 5, [2]uint64{495, 500}, event.DirFromCaller},
		{bobRTP, aliceRTP, 0xB0B, n, 0, [2]uint64{500, 500}, event.DirToCaller},
	} {
		rs := w.col.of(c.src, c.dst, c.ssrc)
		if len(rs) != 3 {
			t.Fatalf("%v: %d reports, want 2 intervals and a final: %+v", c.src, len(rs), rs)
		}
		var sum uint64
		for i, r := range rs {
			if ids[r.ID] {
				t.Errorf("%v report %d: ID %v repeats", c.src, i, r.ID)
			}
			ids[r.ID] = true
			if r.Seq != uint32(i) || r.Final != (i == 2) {
				t.Errorf("%v report %d: Seq %d Final %v", c.src, i, r.Seq, r.Final)
			}
			if string(r.CallID) != call || string(r.Codec) != "PCMA" || r.PayloadType != 8 || r.ClockHz != 8000 ||
				string(r.ProbeID) != "probe-1" || r.Version != event.Version || r.Direction != c.dir {
				t.Errorf("%v report %d: %q %q PT %d clock %d probe %q", c.src, i, r.CallID, r.Codec, r.PayloadType, r.ClockHz, r.ProbeID)
			}
			if i < 2 {
				if r.Packets != c.firstIntervals[i] {
					t.Errorf("%v interval %d: %d packets, want %d", c.src, i, r.Packets, c.firstIntervals[i])
				}
				sum += r.Packets
			}
		}
		iv0, fin := rs[0], rs[2]
		// The interval closes when the packet at 10 s after the first
		// arrives, before that packet counts.
		if wantAt := start + 10_000_000 + int64(c.src.Port()/30000)*3_000; iv0.TimeUS != wantAt {
			t.Errorf("%v: first interval made at %d, want %d", c.src, iv0.TimeUS-t0, wantAt-t0)
		}
		if c.lost > 0 && (iv0.Lost != 5 || iv0.LossBursts != 1 || rs[1].Lost != 0) {
			t.Errorf("%v: interval losses %d/%d bursts %d", c.src, iv0.Lost, rs[1].Lost, iv0.LossBursts)
		}
		// Intervals plus the tail after 20 s add up to the stream.
		if tail := uint64(n - 1000); sum+tail != fin.Packets || int64(fin.Packets) != c.packets || fin.Lost != c.lost {
			t.Errorf("%v: intervals %d + tail %d, final packets %d lost %d; want %d %d", c.src, sum, tail, fin.Packets, fin.Lost, c.packets, c.lost)
		}
		if fin.Expected != uint64(n) || fin.FirstUS >= fin.LastUS || fin.MOSx1000 < 4000 || fin.MOSx1000 > 4500 {
			t.Errorf("%v: final %+v", c.src, fin)
		}
		if fin.TimeUS < byeAt+2_000_000 {
			t.Errorf("%v: ended at %d, before the EndLinger after the BYE", c.src, fin.TimeUS-byeAt)
		}
	}
	st := w.tr.Stats()
	if st.Ended[EndBye] != 2 || st.StreamsActive != 0 || st.Mapped != 2 || st.IntervalReports != 4 || st.FinalReports != 2 ||
		st.Byes != 1 || st.SDPs != 2 || st.Calls != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestByeMediaContinues: after the BYE a stream that keeps sending stays
// until it has been quiet for EndLinger; one that stopped ends at once.
func TestByeMediaContinues(t *testing.T) {
	w := newWire(t)
	const call = "call-2@10.0.0.1"
	w.setUp(t0, call)
	w.media(t0+100_000, 50, nil) // 1 s each way
	byeAt := t0 + 1_200_000
	w.bye(byeAt, call)
	// Alice goes on for 5 s after the BYE.
	for i := range 250 {
		w.send(byeAt+int64(i)*20_000, aliceRTP, bobRTP, rtpPacket(8, uint16(1050+i), uint32((50+i)*160), 0xA11CE))
	}
	lastAlice := byeAt + 249*20_000
	w.tick(lastAlice + 1_100_000)
	bobs, alices := w.col.of(bobRTP, aliceRTP, 0xB0B), w.col.of(aliceRTP, bobRTP, 0xA11CE)
	if len(bobs) != 1 || !bobs[0].Final || bobs[0].TimeUS > byeAt+3_100_000 {
		t.Fatalf("Bob's stream: %+v", bobs)
	}
	if len(alices) != 0 {
		t.Fatalf("Alice's stream ended while it still sent: %+v", alices)
	}
	w.tick(lastAlice + 2_100_000)
	w.tick(lastAlice + 3_200_000)
	alices = w.col.of(aliceRTP, bobRTP, 0xA11CE)
	if len(alices) != 1 || alices[0].Packets != 300 || alices[0].TimeUS < lastAlice+2_000_000 {
		t.Fatalf("Alice's stream: %+v", alices)
	}
	if st := w.tr.Stats(); st.Ended[EndBye] != 2 {
		t.Errorf("stats %+v", st)
	}
}

// heuristicRTP sends n packets of an SDP-less stream every 20 ms.
func heuristicRTP(tr *Tracker, tsUS int64, src, dst netip.AddrPort, ssrc uint32, seq0, n int) {
	for i := range n {
		tr.UDP(tsUS+int64(i)*20_000, src, dst, rtpPacket(0, uint16(seq0+i), uint32((seq0+i)*160), ssrc))
	}
}

var (
	hSrc = netip.MustParseAddrPort("192.0.2.1:40000")
	hDst = netip.MustParseAddrPort("192.0.2.2:41000")
)

// TestIdleEnd: a stream without signalling ends Idle after its last packet.
func TestIdleEnd(t *testing.T) {
	var col collector
	tr := newTracker(t, &col)
	heuristicRTP(tr, t0, hSrc, hDst, 7, 0, 100)
	last := t0 + 99*20_000
	tr.UDP(last+19_000_000, hSrc, netip.MustParseAddrPort("192.0.2.3:1"), []byte("x"))
	if len(col.reports) != 0 {
		t.Fatalf("reports before Idle: %+v", col.reports)
	}
	tr.UDP(last+21_000_000, hSrc, netip.MustParseAddrPort("192.0.2.3:1"), []byte("x"))
	if len(col.reports) != 1 {
		t.Fatalf("%d reports after Idle", len(col.reports))
	}
	r := col.reports[0]
	if !r.Final || r.Packets != 100 || len(r.CallID) != 0 || string(r.Codec) != "PCMU" || r.ClockHz != 8000 {
		t.Errorf("report %+v", r)
	}
	if st := tr.Stats(); st.Ended[EndIdle] != 1 || st.Heuristic != 1 || st.NotRTP != 2 || st.StreamsActive != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestSSRCChange: a new SSRC on the same addresses is a new stream; the
// old one ends when it goes idle.
func TestSSRCChange(t *testing.T) {
	var col collector
	tr := newTracker(t, &col)
	heuristicRTP(tr, t0, hSrc, hDst, 0x1111, 0, 250)             // 5 s
	heuristicRTP(tr, t0+5_000_000, hSrc, hDst, 0x2222, 40, 1250) // 25 s more
	first, second := col.of(hSrc, hDst, 0x1111), col.of(hSrc, hDst, 0x2222)
	if len(first) != 1 || !first[0].Final || first[0].Packets != 250 {
		t.Fatalf("old SSRC: %+v", first)
	}
	if err := tr.Flush(); err != nil {
		t.Fatal(err)
	}
	second = col.of(hSrc, hDst, 0x2222)
	if len(second) != 3 || second[2].Packets != 1250 || !second[2].Final {
		t.Fatalf("new SSRC: %+v", second)
	}
	if st := tr.Stats(); st.StreamsStarted != 2 || st.Ended[EndIdle] != 1 || st.Ended[EndFlush] != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestMaxStreams: beyond the cap the least recently active stream ends
// early, with its final report.
func TestMaxStreams(t *testing.T) {
	var col collector
	tr := newTracker(t, &col, MaxStreams(3))
	src := func(i int) netip.AddrPort { return netip.AddrPortFrom(hSrc.Addr(), uint16(40000+i)) }
	for i := range 3 {
		tr.UDP(t0+int64(i)*1000, src(i), hDst, rtpPacket(0, 1, 0, uint32(i)))
	}
	tr.UDP(t0+3000, src(0), hDst, rtpPacket(0, 2, 160, 0)) // stream 0 is busy again
	tr.UDP(t0+4000, src(3), hDst, rtpPacket(0, 1, 0, 3))
	if len(col.reports) != 1 || col.reports[0].Src != src(1) || !col.reports[0].Final {
		t.Fatalf("evicted %+v, want stream 1's final report", col.reports)
	}
	tr.UDP(t0+5000, src(4), hDst, rtpPacket(0, 1, 0, 4))
	if len(col.reports) != 2 || col.reports[1].Src != src(2) {
		t.Fatalf("second eviction %+v, want stream 2", col.reports[1:])
	}
	if st := tr.Stats(); st.Ended[EndCap] != 2 || st.StreamsActive != 3 {
		t.Errorf("stats %+v", st)
	}
	checkIndex(t, tr)
}

// countSink counts reports; the flood's 900,000 would not fit a collector.
type countSink struct{ finals, intervals int }

func (c *countSink) RTPReport(r *event.RTPReport) error {
	if r.Final {
		c.finals++
	} else {
		c.intervals++
	}
	return nil
}

// TestFlood sends 1,000,000 packets of distinct streams (a scan, or forged
// SSRCs): the Tracker stays at MaxStreams, evicting with final reports.
func TestFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("a million streams")
	}
	var sink countSink
	tr := newTracker(t, &sink)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	pkt := rtpPacket(0, 1, 0, 0)
	const n = 1_000_000
	for i := range n {
		binary.BigEndian.PutUint32(pkt[8:], uint32(i))
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 16), byte(i >> 8)}), uint16(1024+i%50000))
		tr.UDP(t0+int64(i)*5, src, hDst, pkt) // 5 s of capture
	}
	grown := heap() - before
	st := tr.Stats()
	if st.StreamsActive != 100_000 || st.Ended[EndCap] != n-100_000 || sink.finals != n-100_000 || st.StreamsStarted != n {
		t.Fatalf("stats %+v, %d finals", st, sink.finals)
	}
	checkIndex(t, tr)
	per := float64(grown) / 100_000
	t.Logf("after %d streams: %d held, heap %.1f MB (%.0f bytes per held stream), slots %d, slab %d",
		n, st.StreamsActive, float64(grown)/1e6, per, len(tr.index.s), tr.hi)
	if tr.hi > 100_000 || per > 600 {
		t.Errorf("flood grew the tracker to %d slots, %.0f bytes per stream", tr.hi, per)
	}
	if err := tr.Flush(); err != nil || sink.finals != n {
		t.Errorf("flush: %v, %d finals", err, sink.finals)
	}
}

// checkIndex verifies that every stream in the slab is found through the
// index and the counts agree.
func checkIndex(t *testing.T, tr *Tracker) {
	t.Helper()
	used := 0
	for i := int32(0); int(i) < tr.hi; i++ {
		r := tr.rec(i)
		if r.flags&flagUsed == 0 {
			continue
		}
		used++
		src, dst := tr.addrs(r)
		var k key
		makeKey(src, dst, r.st.SSRC(), &k)
		if j := tr.find(&k, tr.hash(&k)); j != i {
			t.Fatalf("stream %d (%v->%v) found at %d", i, src, dst, j)
		}
	}
	// Robin Hood: each entry sits its distance from its home, and the
	// distances along a run grow by at most one a slot.
	s := tr.index.s
	mask := uint64(len(s) - 1)
	for pos, v := range s {
		if v == 0 {
			continue
		}
		if home := tr.recHash(slotStream(v)) & mask; (uint64(pos)-home)&mask != uint64(slotDist(v)) {
			t.Fatalf("slot %d: distance %d, home %d", pos, slotDist(v), home)
		}
		if prev := s[(uint64(pos)-1)&mask]; slotDist(v) > 0 && (prev == 0 || slotDist(prev)+1 < slotDist(v)) {
			t.Fatalf("slot %d: distance %d after %d", pos, slotDist(v), slotDist(prev))
		}
	}
	if used != tr.n || tr.index.n != tr.n {
		t.Fatalf("%d streams in the slab, n %d, index %d", used, tr.n, tr.index.n)
	}
}

// TestIndexChurn starts and ends streams in a random order (evictions,
// idle ends, one index growth after another) and checks the index after
// each round.
func TestIndexChurn(t *testing.T) {
	var sink countSink
	tr := newTracker(t, &sink, MaxStreams(3000), Idle(time.Second), EndLinger(0))
	rng := rand.New(rand.NewPCG(1, 2))
	ts := t0
	for round := range 40 {
		if round%10 == 9 {
			ts += 1_500_000 // a lull: the next packet's sweep ends every stream
		}
		for range 2000 {
			ts += int64(rng.IntN(300))
			i := rng.IntN(4000)
			src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(2000+i%7))
			if i%5 == 0 {
				src = netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 1, 14: byte(i >> 8), 15: byte(i)}), 3000)
			}
			tr.UDP(ts, src, hDst, rtpPacket(0, uint16(round), uint32(round*160), uint32(i%3)))
		}
		checkIndex(t, tr)
	}
	st := tr.Stats()
	if st.Ended[EndCap] == 0 || st.Ended[EndIdle] == 0 || int(st.StreamsStarted)-st.StreamsActive != sink.finals {
		t.Errorf("stats %+v, %d finals", st, sink.finals)
	}
}

// TestAllocs: an established stream's packets allocate nothing, sweeps
// included, whether handed in directly or through the probe.
func TestAllocs(t *testing.T) {
	tr := newTracker(t, &countSink{}, Interval(time.Hour), Idle(time.Hour))
	ts, seq := t0, 0
	pkt := rtpPacket(8, 0, 0, 42)
	next := func() {
		seq++
		ts += 20_000
		binary.BigEndian.PutUint16(pkt[2:], uint16(seq))
		binary.BigEndian.PutUint32(pkt[4:], uint32(seq*160))
	}
	tr.UDP(ts, hSrc, hDst, pkt)
	if a := testing.AllocsPerRun(2000, func() { next(); tr.UDP(ts, hSrc, hDst, pkt) }); a != 0 {
		t.Errorf("UDP: %.2f allocs per packet", a)
	}
	p, err := probe.New(probe.Media(tr))
	if err != nil {
		t.Fatal(err)
	}
	frame := packettest.Ether(packettest.UDP(hSrc, hDst, pkt))
	rtpAt := len(frame) - len(pkt)
	if a := testing.AllocsPerRun(2000, func() {
		next()
		copy(frame[rtpAt:], pkt)
		_ = p.Packet(layers.LinkTypeEthernet, ts, frame, discard)
	}); a != 0 {
		t.Errorf("probe + tracker: %.2f allocs per packet", a)
	}
	// AllocsPerRun runs f once more than asked, to warm up.
	if st := tr.Stats(); st.StreamsStarted != 1 || st.RTPPackets != 1+2*2001 {
		t.Errorf("stats %+v", st)
	}
}

// TestRTCP: RTCP is told from RTP, parsed and counted by type.
func TestRTCP(t *testing.T) {
	tr := newTracker(t, &countSink{})
	// SR with no report blocks, then SDES with one CNAME: a compound.
	sr := []byte{0x80, 200, 0, 6, 0, 0, 0, 42, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 99}
	sdes := []byte{0x81, 202, 0, 2, 0, 0, 0, 42, 1, 1, 'x', 0}
	tr.UDP(t0, hSrc, hDst, append(sr, sdes...))
	xr := []byte{0x80, 207, 0, 1, 0, 0, 0, 42} // an XR, which RTP's heuristic would take for PT 79
	tr.UDP(t0+1, hSrc, hDst, xr)
	tr.UDP(t0+2, netip.MustParseAddrPort("192.0.2.1:53"), hDst, sr) // DNS port, no SDP: not RTCP
	st := tr.Stats()
	if st.RTCPPackets != 2 || st.RTCPByType[0] != 1 || st.RTCPByType[2] != 1 || st.RTCPByType[7] != 1 ||
		st.RTCPErrors != 0 || st.StreamsStarted != 0 || st.NotRTP != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestUntracked: what is not tracked is counted by reason.
func TestUntracked(t *testing.T) {
	tr := newTracker(t, &countSink{}, Heuristic(false))
	tr.UDP(t0, hSrc, hDst, rtpPacket(0, 1, 0, 1))                                           // no SDP, heuristic off
	tr.UDP(t0, hSrc, hDst, []byte{0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5}) // STUN
	tr.UDP(t0, hSrc, hDst, []byte("\r\n\r\n"))
	on := newTracker(t, &countSink{})
	on.UDP(t0, netip.MustParseAddrPort("192.0.2.1:137"), hDst, rtpPacket(0, 1, 0, 1)) // NetBIOS port
	b := rtpPacket(73, 1, 0, 1)                                                       // PT 73: RTCP's range (RFC 5761 §4)
	on.UDP(t0, hSrc, hDst, b)
	if st := tr.Stats(); st.Unmapped != 1 || st.NotRTP != 2 || st.StreamsStarted != 0 {
		t.Errorf("heuristic off: %+v", st)
	}
	if st := on.Stats(); st.Unmapped != 1 || st.NotRTP != 1 || st.StreamsStarted != 0 {
		t.Errorf("heuristic on: %+v", st)
	}
}

// TestIPv6: IPv6 streams keep their addresses aside and report them.
func TestIPv6(t *testing.T) {
	var col collector
	tr := newTracker(t, &col)
	a, b := netip.MustParseAddrPort("[2001:db8::1]:40000"), netip.MustParseAddrPort("[2001:db8::2]:40002")
	v4 := netip.MustParseAddrPort("192.0.2.1:40000")
	heuristicRTP(tr, t0, a, b, 1, 0, 10)
	heuristicRTP(tr, t0, b, a, 2, 0, 10)
	heuristicRTP(tr, t0, v4, b, 3, 0, 10) // mixed families cannot happen on the wire; keyed apart anyway
	checkIndex(t, tr)
	if err := tr.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(col.of(a, b, 1)) != 1 || len(col.of(b, a, 2)) != 1 || col.of(a, b, 1)[0].Packets != 10 {
		t.Errorf("reports %+v", col.reports)
	}
}

// TestSinkError: a failing sink is counted; Flush returns its error and
// still ends every stream.
func TestSinkError(t *testing.T) {
	boom := errors.New("boom")
	col := &collector{fail: boom}
	tr := newTracker(t, col)
	heuristicRTP(tr, t0, hSrc, hDst, 1, 0, 600) // 12 s: one interval report
	heuristicRTP(tr, t0, hDst, hSrc, 2, 0, 10)
	if err := tr.Flush(); !errors.Is(err, boom) {
		t.Errorf("Flush: %v", err)
	}
	if st := tr.Stats(); st.SinkErrors != 3 || st.StreamsActive != 0 || len(col.reports) != 3 {
		t.Errorf("stats %+v", st)
	}
	// The Tracker is usable after Flush.
	heuristicRTP(tr, t0+20_000_000, hSrc, hDst, 1, 0, 10)
	checkIndex(t, tr)
	if st := tr.Stats(); st.StreamsActive != 1 {
		t.Errorf("after Flush: %+v", st)
	}
}

// TestCounters: every counter is listed once, media's prefixed.
func TestCounters(t *testing.T) {
	tr := newTracker(t, &countSink{})
	heuristicRTP(tr, t0, hSrc, hDst, 1, 0, 3)
	seen := map[string]bool{}
	var started uint64
	for _, c := range tr.Counters() {
		if seen[c.Name] {
			t.Errorf("%s twice", c.Name)
		}
		seen[c.Name] = true
		if c.Name == "streams_started" {
			started = c.Value
		}
	}
	for _, n := range []string{"streams_ended_cap", "rtcp_xr", "media_entries", "sink_errors", "rtp_packets"} {
		if !seen[n] {
			t.Errorf("no counter %s", n)
		}
	}
	if started != 1 {
		t.Errorf("streams_started %d", started)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(nil); err == nil {
		t.Error("nil sink accepted")
	}
	for _, c := range []struct {
		opts []Opt
		want string
	}{
		{[]Opt{ProbeID("")}, "ProbeID is empty"},
		{[]Opt{Interval(time.Millisecond)}, "Interval"},
		{[]Opt{Idle(0)}, "Idle"},
		{[]Opt{EndLinger(-time.Second)}, "EndLinger"},
		{[]Opt{Idle(5 * time.Second), EndLinger(6 * time.Second)}, "EndLinger"},
		{[]Opt{MaxStreams(0)}, "MaxStreams"},
		{[]Opt{MaxStreams(1 << 21)}, "MaxStreams"},
		{[]Opt{MediaTable(newTracker(t, &countSink{}).Table()), MediaOptions()}, "both set"},
	} {
		if _, err := New(&countSink{}, c.opts...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.want, err)
		}
	}
	if _, err := New(&countSink{}, MaxStreams(1), Interval(24*time.Hour), EndLinger(0), Heuristic(false)); err != nil {
		t.Error(err)
	}
}

// TestLongCallStaysMapped: a call whose SDP is older than the media
// table's TTL stays mapped while its streams flow (the sweep touches its
// entries), so that a new SSRC in it still gets the Call-ID.
func TestLongCallStaysMapped(t *testing.T) {
	w := newWire(t, MediaOptions(media.TTL(5*time.Second), media.Linger(time.Second)))
	const call = "long@10.0.0.1"
	w.setUp(t0, call)
	w.media(t0+100_000, 600, nil) // 12 s
	at := t0 + 100_000 + 600*20_000
	w.send(at, aliceRTP, bobRTP, rtpPacket(8, 1, 0, 0xC0FFEE))
	if err := w.tr.Flush(); err != nil {
		t.Fatal(err)
	}
	rs := w.col.of(aliceRTP, bobRTP, 0xC0FFEE)
	if len(rs) != 1 || string(rs[0].CallID) != call {
		t.Errorf("new SSRC after the TTL: %+v", rs)
	}
	if st := w.tr.Table().Stats(); st.Removed[media.RemovedExpired] != 0 {
		t.Errorf("media entries expired under flowing media: %+v", st)
	}
}

// TestLateOffer: the 200 carries the offer and the ACK the answer; the
// streams map either way.
func TestLateOffer(t *testing.T) {
	w := newWire(t)
	const call = "late@10.0.0.1"
	w.send(t0, alice, bob, sipMessage("INVITE sip:bob@10.0.0.2 SIP/2.0", call, "1 INVITE", ""))
	w.send(t0+50_000, bob, alice, sipMessage("SIP/2.0 200 OK", call, "1 INVITE", sdpBody("bob", bobRTP)))
	w.send(t0+60_000, alice, bob, sipMessage("ACK sip:bob@10.0.0.2 SIP/2.0", call, "1 ACK", sdpBody("alice", aliceRTP)))
	w.media(t0+100_000, 10, nil)
	if err := w.tr.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, r := range w.col.finals() {
		if string(r.CallID) != call || string(r.Codec) != "PCMA" || r.Direction != 0 {
			t.Errorf("%v: %q %q direction %d", r.Src, r.CallID, r.Codec, r.Direction)
		}
	}
	if st := w.tr.Stats(); st.Mapped != 2 || st.SDPs != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestCodecs: clocks and codec names from the SDP, with RFC 3551's G.722
// and RFC 7587's Opus clocks whatever the rtpmap says, the preferred codec
// for a stream that opens with comfort noise, and no clock for an unknown
// dynamic type.
func TestCodecs(t *testing.T) {
	var col collector
	tr := newTracker(t, &col)
	offer := func(callID string, media netip.AddrPort, fmts string, maps ...string) {
		body := fmt.Sprintf("v=0\r\no=x 1 1 IN IP4 %v\r\ns=-\r\nc=IN IP4 %v\r\nt=0 0\r\nm=audio %d RTP/AVP %s\r\n",
			media.Addr(), media.Addr(), media.Port(), fmts)
		for _, m := range maps {
			body += "a=rtpmap:" + m + "\r\n"
		}
		tr.SIP(&event.SIP{Header: event.Header{TimeUS: t0}, Src: alice, Dst: bob, CallID: []byte(callID), Method: []byte("INVITE")}, []byte(body))
	}
	g722 := netip.MustParseAddrPort("10.0.0.1:20000")
	opus := netip.MustParseAddrPort("10.0.0.1:20002")
	offer("g722@x", g722, "9 13 101", "9 G722/16000", "101 telephone-event/8000")
	offer("opus@x", opus, "111 101", "111 opus/48000/2", "101 telephone-event/48000")
	src := netip.MustParseAddrPort("192.0.2.9:40000")
	tr.UDP(t0+1, src, g722, rtpPacket(13, 1, 0, 1)) // comfort noise first
	tr.UDP(t0+2, src, opus, rtpPacket(111, 1, 0, 2))
	tr.UDP(t0+3, src, hDst, rtpPacket(96, 1, 0, 3)) // no SDP, dynamic
	if err := tr.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ssrc   uint32
		codec  string
		pt     uint8
		clock  uint32
		callID string
	}{
		{1, "G722", 9, 8000, "g722@x"},
		{2, "opus", 111, 48000, "opus@x"},
		{3, "", 96, 0, ""},
	} {
		var r *event.RTPReport
		for i := range col.reports {
			if col.reports[i].SSRC == c.ssrc {
				r = &col.reports[i]
			}
		}
		if r == nil || string(r.Codec) != c.codec || r.PayloadType != c.pt || r.ClockHz != c.clock || string(r.CallID) != c.callID {
			t.Errorf("SSRC %d: %+v; want %s PT %d clock %d call %q", c.ssrc, r, c.codec, c.pt, c.clock, c.callID)
		}
	}
}
