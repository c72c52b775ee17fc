package probe_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/internal/packettest"
)

// bigInvite is an INVITE too large for one 1500-byte packet: its SDP offers
// many codecs, as softswitches' do.
func bigInvite(callID string) []byte { return invite(callID, 3000) }

// wantMessages checks that rec holds exactly the given raw messages, in
// order, over transport tr.
func wantMessages(t *testing.T, rec *recorder, tr event.Transport, msgs ...[]byte) []event.SIP {
	t.Helper()
	evs := rec.decoded(t)
	if len(evs) != len(msgs) {
		t.Fatalf("%d events, want %d", len(evs), len(msgs))
	}
	for i, ev := range evs {
		if !bytes.Equal(ev.Raw, msgs[i]) || ev.Transport != tr {
			t.Errorf("event %d: %d bytes over %v, want message of %d bytes over %v", i, len(ev.Raw), ev.Transport, len(msgs[i]), tr)
		}
		checkID(t, &ev)
	}
	return evs
}

func TestIPv4Fragments(t *testing.T) {
	msg := bigInvite("frag4@x")
	frags := packettest.UDPFragments(pbx, trunk, msg, 0x1234, 1480, false)
	if len(frags) != 3 {
		t.Fatalf("%d fragments", len(frags))
	}
	reversed := slices.Clone(frags)
	slices.Reverse(reversed)
	for _, tc := range []struct {
		name  string
		order [][]byte
	}{
		{"in order", frags},
		{"reversed", reversed},
		{"middle first", [][]byte{frags[1], frags[0], frags[2]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProbe(t)
			var rec recorder
			for i, f := range tc.order {
				feed(t, p, &rec, layers.LinkTypeEthernet, int64(100+i), packettest.Ether(f))
			}
			evs := wantMessages(t, &rec, event.TransportUDP, msg)
			if ev := evs[0]; ev.TimeUS != 102 || ev.Src != pbx || ev.Dst != trunk || string(ev.CallID) != "frag4@x" {
				t.Errorf("event %v -> %v at %d, Call-ID %q; want the last fragment's time 102", ev.Src, ev.Dst, ev.TimeUS, ev.CallID)
			}
			s := p.Stats()
			if s.IPFragments != 3 || s.IPReassembled != 1 || s.UDPDatagrams != 1 || s.SIPUDP != 1 || s.FragDatagrams != 0 || s.FragBytes != 0 {
				t.Errorf("stats %+v", s)
			}
			checkAccounting(t, s)
		})
	}
}

// TestIPv4FragmentsOverlap: an overlapping fragment drops its datagram (RFC
// 5722 rules, applied to IPv4 as Linux does since 4.19) and the rest of it
// is absorbed, counted once; an exact copy of a held fragment is ignored,
// and the datagram still completes.
func TestIPv4FragmentsOverlap(t *testing.T) {
	msg := bigInvite("overlap@x")
	whole := packettest.UDP(pbx, trunk, msg)[20:]
	frag := func(id uint32, off, end int) []byte {
		return packettest.Fragment(pbx.Addr(), trunk.Addr(), layers.IPProtocolUDP, id, off, end < len(whole), whole[off:end], false)
	}
	p := newProbe(t, probe.DedupWindow(0)) // let the exact copy reach the reassembler
	var rec recorder
	// Datagram 1: [0,1480) then [1472,2960) overlaps by 8 bytes.
	feed(t, p, &rec, layers.LinkTypeRaw, 1, frag(1, 0, 1480), frag(1, 1472, 2960), frag(1, 2960, len(whole)))
	// Datagram 2: a duplicate of its first fragment, then the rest.
	feed(t, p, &rec, layers.LinkTypeRaw, 2, frag(2, 0, 1480), frag(2, 0, 1480), frag(2, 1480, 2960), frag(2, 2960, len(whole)))
	wantMessages(t, &rec, event.TransportUDP, msg)
	s := p.Stats()
	if s.FragOverlaps != 1 || s.FragAbsorbed != 1 || s.FragDuplicates != 1 || s.IPReassembled != 1 || s.IPFragments != 7 {
		t.Errorf("stats %+v", s)
	}
	// The dropped datagram's entry waits out its timeout without being
	// counted again.
	feed(t, p, &rec, layers.LinkTypeRaw, 31_000_000, packettest.UDP(pbx, trunk, []byte("x")))
	if s := p.Stats(); s.FragTimeouts != 0 || s.FragDatagrams != 0 || s.Dropped() != 1+s.NotSIP {
		t.Errorf("after the timeout: %+v", s)
	}
}

func TestIPv4FragmentsTimeout(t *testing.T) {
	msg := bigInvite("late@x")
	frags := packettest.UDPFragments(pbx, trunk, msg, 7, 1480, false)
	p := newProbe(t)
	var rec recorder
	feed(t, p, &rec, layers.LinkTypeRaw, 1_000_000, frags[0], frags[1])
	// Any packet 30 s later expires the datagram (Linux ipfrag_time).
	feed(t, p, &rec, layers.LinkTypeRaw, 31_000_001, packettest.UDP(pbx, trunk, invite("other@x", 0)))
	// The last fragment, too late, starts a datagram of its own.
	feed(t, p, &rec, layers.LinkTypeRaw, 31_000_002, frags[2])
	wantMessages(t, &rec, event.TransportUDP, invite("other@x", 0))
	s := p.Stats()
	if s.FragTimeouts != 1 || s.IPReassembled != 0 || s.FragDatagrams != 1 {
		t.Errorf("stats %+v", s)
	}
	// With a shorter timeout configured, the datagram completes within it.
	p = newProbe(t, probe.FragmentTimeout(time.Second))
	rec = recorder{}
	feed(t, p, &rec, layers.LinkTypeRaw, 0, frags[0], frags[1])
	feed(t, p, &rec, layers.LinkTypeRaw, 1_000_000, frags[2])
	wantMessages(t, &rec, event.TransportUDP, msg)
}

// TestIPv6Fragments: fragments with a hop-by-hop options header before the
// Fragment header (RFC 8200 §4.1 order), reassembled in any order.
func TestIPv6Fragments(t *testing.T) {
	msg := bigInvite("frag6@x")
	for _, hbh := range []bool{false, true} {
		frags := packettest.UDPFragments(pbx6, trk6, msg, 0xdeadbeef, 1232, hbh)
		if len(frags) != 3 {
			t.Fatalf("%d fragments", len(frags))
		}
		p := newProbe(t)
		var rec recorder
		feed(t, p, &rec, layers.LinkTypeEthernet, 10, packettest.Ether(frags[2]), packettest.Ether(frags[0], 30))
		feed(t, p, &rec, layers.LinkTypeEthernet, 11, packettest.Ether(frags[1]))
		evs := wantMessages(t, &rec, event.TransportUDP, msg)
		if evs[0].Src != pbx6 || evs[0].Dst != trk6 || evs[0].TimeUS != 11 {
			t.Errorf("hop-by-hop %v: event %v -> %v at %d", hbh, evs[0].Src, evs[0].Dst, evs[0].TimeUS)
		}
		checkAccounting(t, p.Stats())
	}
}

func TestIPv6FragmentsOverlap(t *testing.T) {
	msg := bigInvite("o6@x")
	whole := packettest.UDP(pbx6, trk6, msg)[40:]
	frag := func(off, end int) []byte {
		return packettest.Fragment(pbx6.Addr(), trk6.Addr(), layers.IPProtocolUDP, 9, off, end < len(whole), whole[off:end], true)
	}
	p := newProbe(t)
	var rec recorder
	// RFC 5722 §4: the second fragment overlaps the first; drop it all.
	feed(t, p, &rec, layers.LinkTypeRaw, 1, frag(0, 1232), frag(1224, 2456), frag(2456, len(whole)), frag(1232, 2456))
	if len(rec.events) != 0 {
		t.Fatalf("%d events from an overlapping datagram", len(rec.events))
	}
	if s := p.Stats(); s.FragOverlaps != 1 || s.FragAbsorbed != 2 {
		t.Errorf("stats %+v", s)
	}
}

// TestFragmentBounds: oversized datagrams, bad lengths and floods of
// incomplete datagrams are dropped and counted, within the caps.
func TestFragmentBounds(t *testing.T) {
	a, b := pbx.Addr(), trunk.Addr()
	udp := layers.IPProtocolUDP
	p := newProbe(t, probe.MaxFragmentDatagrams(8), probe.MaxFragmentBytes(1<<17))
	var rec recorder
	feed(t, p, &rec, layers.LinkTypeRaw, 1,
		packettest.Fragment(a, b, udp, 1, 65528, false, make([]byte, 16), false), // ends past 65,535
		packettest.Fragment(a, b, udp, 2, 0, true, make([]byte, 12), false),      // not a multiple of 8
		packettest.Fragment(a, b, udp, 3, 800, false, make([]byte, 8), false),    // end 808
		packettest.Fragment(a, b, udp, 3, 1600, true, make([]byte, 8), false),    // past that end
	)
	if s := p.Stats(); s.FragTooBig != 1 || s.FragBadLength != 2 {
		t.Errorf("stats %+v", s)
	}
	for id := uint32(100); id < 200; id++ {
		feed(t, p, &rec, layers.LinkTypeRaw, 2, packettest.Fragment(a, b, udp, id, 60000, true, make([]byte, 1024), false))
	}
	s := p.Stats()
	if s.FragDatagrams > 8 || s.FragBytes > 1<<17 || s.FragEvicted < 90 {
		t.Errorf("after a flood: %+v", s)
	}
	checkAccounting(t, s)
}

// TestFragmentsFromTwoTaps: every fragment seen twice (with and without a
// VLAN tag) yields one datagram and one event, not a second datagram that
// would time out.
func TestFragmentsFromTwoTaps(t *testing.T) {
	msg := bigInvite("taps@x")
	p := newProbe(t)
	var rec recorder
	for i, f := range packettest.UDPFragments(pbx, trunk, msg, 77, 1480, false) {
		ts := int64(1000 + 100*i)
		feed(t, p, &rec, layers.LinkTypeEthernet, ts, packettest.Ether(f))
		feed(t, p, &rec, layers.LinkTypeEthernet, ts+20, packettest.Ether(f, 20))
	}
	wantMessages(t, &rec, event.TransportUDP, msg)
	feed(t, p, &rec, layers.LinkTypeRaw, 60_000_000, packettest.UDP(pbx, trunk, []byte("x")))
	if s := p.Stats(); s.Duplicates != 3 || s.IPReassembled != 1 || s.FragTimeouts != 0 {
		t.Errorf("stats %+v", s)
	}
}

// checkAccounting checks the packet identity documented on Stats.
func checkAccounting(t *testing.T, s probe.Stats) {
	t.Helper()
	in := s.Packets + s.IPReassembled
	out := s.UDPDatagrams + s.TCPSegments + s.IPFragments + s.Duplicates + s.Truncated + s.DecodeErrors + s.UnsupportedLink + s.NonIP + s.NonUDPTCP
	if in != out {
		t.Errorf("packet accounting: packets %d + reassembled %d != %d: %+v", s.Packets, s.IPReassembled, out, s)
	}
	if s.SIPMessages != s.SIPUDP+s.SIPTCP+s.SIPWS+s.SIPPayload {
		t.Errorf("SIP accounting: %+v", s)
	}
}
