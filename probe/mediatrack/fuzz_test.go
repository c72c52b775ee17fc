package mediatrack

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/event"
)

// FuzzUDP feeds a datagram, and variations of it, to a Tracker that has a
// call mapped: from and to arbitrary ports over IPv4 or IPv6, to the
// mapped addresses, as the body of a SIP message (the SDP path), with
// capture time crossing interval, EndLinger, Idle and sweep boundaries,
// and a stream cap of 4. Nothing may panic, and every stream started
// must end with one final report. The corpus is in testdata/fuzz/FuzzUDP.
func FuzzUDP(f *testing.F) {
	f.Add(rtpPacket(8, 1, 160, 0xA11CE), uint16(20000), uint16(30000), false)
	f.Add([]byte{0x80, 200, 0, 6, 0, 0, 0, 42, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 99}, uint16(20001), uint16(30001), false)
	f.Add([]byte(sdpBody("fuzz", netip.MustParseAddrPort("10.0.0.7:40000"))), uint16(5060), uint16(5060), false)
	f.Fuzz(func(t *testing.T, payload []byte, sport, dport uint16, v6 bool) {
		var sink countSink
		tr, err := New(&sink, MaxStreams(4), Interval(time.Second), Idle(2*time.Second), EndLinger(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		sip := func(ts int64, method string, status uint16, callID string, body []byte) {
			tr.SIP(&event.SIP{Header: event.Header{TimeUS: ts}, Src: alice, Dst: bob, CallID: []byte(callID),
				Method: []byte(method), Status: status}, body)
		}
		sip(t0, "INVITE", 0, "fuzz@x", []byte(sdpBody("alice", aliceRTP)))
		sip(t0+1000, "INVITE", 200, "fuzz@x", []byte(sdpBody("bob", bobRTP)))
		sip(t0+2000, "INVITE", 0, "other@x", payload)
		sip(t0+3000, "ACK", 0, "other@x", payload)
		src, dst := netip.AddrPortFrom(hSrc.Addr(), sport), netip.AddrPortFrom(hDst.Addr(), dport)
		if v6 {
			src = netip.AddrPortFrom(netip.MustParseAddr("2001:db8::1"), sport)
			dst = netip.AddrPortFrom(netip.MustParseAddr("2001:db8::2"), dport)
		}
		b := append([]byte(nil), payload...)
		ts := t0 + 10_000
		for i := range 40 {
			ts += 150_000
			if len(b) >= 8 {
				binary.BigEndian.PutUint16(b[2:], binary.BigEndian.Uint16(b[2:])+1)
				binary.BigEndian.PutUint32(b[4:], binary.BigEndian.Uint32(b[4:])+160)
			}
			if i%9 == 8 && len(b) >= 12 {
				b[11]++ // a new SSRC
			}
			tr.UDP(ts, src, dst, b)
			tr.UDP(ts+1, dst, src, b)
			tr.UDP(ts+2, bobRTP, aliceRTP, b)
			tr.UDP(ts+3, netip.AddrPortFrom(aliceRTP.Addr(), aliceRTP.Port()+1), netip.AddrPortFrom(bobRTP.Addr(), bobRTP.Port()+1), b)
			if i == 20 {
				sip(ts, "BYE", 0, "fuzz@x", nil)
			}
			if i == 30 {
				ts += 3_000_000 // past Idle
			}
		}
		if st := tr.Stats(); st.StreamsActive > 4 {
			t.Fatalf("%d streams over the cap", st.StreamsActive)
		}
		if err := tr.Flush(); err != nil {
			t.Fatal(err)
		}
		st := tr.Stats()
		if st.StreamsActive != 0 || st.Calls != 0 || uint64(sink.finals) != st.StreamsStarted || st.FinalReports != st.StreamsStarted {
			t.Fatalf("after Flush: stats %+v, %d finals", st, sink.finals)
		}
	})
}
