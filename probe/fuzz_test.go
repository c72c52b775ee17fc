package probe

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/internal/packettest"
	"github.com/trunkscope/trunkscope/probe/sipscan"
)

// fuzzLinkTypes are the link types FuzzPacket spreads its input over.
var fuzzLinkTypes = []layers.LinkType{
	layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw,
	layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeNull, layers.LinkTypeLoop,
}

var (
	fuzzA = netip.MustParseAddrPort("10.0.0.1:5060")
	fuzzB = netip.MustParseAddrPort("10.0.0.2:5060")
)

func fuzzSIP(callID string, body int) []byte {
	return fmt.Appendf(nil, "INVITE sip:b@x SIP/2.0\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@x>;tag=1\r\nContent-Length: %d\r\n\r\n%0*d",
		callID, body, body, 0)
}

// checkingSink re-encodes and re-scans every event, as a consumer would.
type checkingSink struct {
	t   *testing.T
	buf []byte
	n   int
}

func (s *checkingSink) SIP(ev *event.SIP) error {
	s.n++
	s.buf = event.AppendSIP(s.buf[:0], ev)
	var back event.SIP
	if err := event.DecodeSIP(s.buf, &back); err != nil {
		s.t.Fatalf("event does not decode: %v", err)
	}
	var m sipscan.Msg
	if err := sipscan.Scan(ev.Raw, &m); err != nil {
		s.t.Fatalf("event raw bytes do not scan: %v", err)
	}
	if ev.Transport == event.TransportTCP && m.Len() != len(ev.Raw) {
		s.t.Fatalf("TCP event of %d bytes holds a message of %d", len(ev.Raw), m.Len())
	}
	return nil
}

func FuzzPacket(f *testing.F) {
	udp4 := packettest.UDP(fuzzA, fuzzB, fuzzSIP("f1@x", 3))
	udp6 := packettest.UDP(netip.MustParseAddrPort("[2001:db8::1]:5060"), netip.MustParseAddrPort("[2001:db8::2]:5060"), fuzzSIP("f2@x", 0))
	tcp4 := packettest.TCP(fuzzA, fuzzB, 7, packettest.ACK, fuzzSIP("f3@x", 10))
	for i, lt := range fuzzLinkTypes {
		var frame []byte
		switch lt {
		case layers.LinkTypeEthernet:
			frame = packettest.Ether(udp4, 5, 6)
		case layers.LinkTypeLinuxSLL:
			frame = packettest.SLL(tcp4)
		case layers.LinkTypeLinuxSLL2:
			frame = packettest.SLL2(udp6)
		case layers.LinkTypeNull, layers.LinkTypeLoop:
			frame = packettest.Null(udp4)
		case layers.LinkTypeIPv6:
			frame = udp6
		default:
			frame = tcp4
		}
		f.Add(uint8(i), frame)
	}
	f.Fuzz(func(t *testing.T, lt uint8, data []byte) {
		p, err := New(MaxDedupEntries(64), MaxRetransmissionEntries(64))
		if err != nil {
			t.Fatal(err)
		}
		sink := &checkingSink{t: t}
		link := fuzzLinkTypes[int(lt)%len(fuzzLinkTypes)]
		// Three times: the second is a tap copy (a duplicate); the third,
		// later, meets the TCP and fragment state the first one left.
		for _, ts := range []int64{1, 1, 100_001} {
			if err := p.Packet(link, ts, data, sink); err != nil {
				t.Fatal(err)
			}
		}
		checkProbe(t, p, sink)
	})
}

// checkProbe checks the Stats identities and the state caps.
func checkProbe(t *testing.T, p *Probe, sink *checkingSink) {
	t.Helper()
	s := p.Stats()
	if s.Packets+s.IPReassembled != s.UDPDatagrams+s.TCPSegments+s.IPFragments+s.Duplicates+
		s.Truncated+s.DecodeErrors+s.UnsupportedLink+s.NonIP+s.NonUDPTCP {
		t.Fatalf("packet accounting: %+v", s)
	}
	if s.SIPMessages != uint64(sink.n) || s.SIPMessages != s.SIPUDP+s.SIPTCP+s.SIPWS+s.SIPPayload {
		t.Fatalf("%d events, stats %+v", sink.n, s)
	}
	if s.FragDatagrams > uint64(p.cfg.frag.MaxDatagrams) || s.FragBytes > uint64(p.cfg.frag.MaxBytes) {
		t.Fatalf("reassembly over its caps: %+v", s)
	}
	checkFlows(t, p)
}

// fuzzScript encodes packets for FuzzPackets: link type index, time step in
// milliseconds, length (u16) and the packet.
func fuzzScript(steps ...fuzzStep) []byte {
	var b []byte
	for _, s := range steps {
		b = append(b, s.lt, s.dtMS, byte(len(s.data)>>8), byte(len(s.data)))
		b = append(b, s.data...)
	}
	return b
}

type fuzzStep struct {
	lt, dtMS uint8
	data     []byte
}

// FuzzPackets feeds a sequence of packets, so that what needs several
// (fragments to reassemble, TCP segments to reorder, a WebSocket handshake
// and its frames, tap duplicates) can be reached; the seeds are such
// sequences.
func FuzzPackets(f *testing.F) {
	for _, s := range fuzzPacketsSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script []byte) { runPackets(t, script) })
}

// fuzzPacketsSeeds are FuzzPackets' seeds: fragments in order, reversed,
// duplicated and overlapping; reordered TCP; a WebSocket handshake and
// frames; tap duplicates.
func fuzzPacketsSeeds() [][]byte {
	var seeds [][]byte
	add := func(b []byte) { seeds = append(seeds, b) }
	raw := uint8(3) // fuzzLinkTypes index of LinkTypeRaw
	// Small messages and fragments keep the seeds, and the inputs the
	// fuzzer minimises, short.
	inv := fuzzSIP("frag@x", 300)
	v4 := packettest.UDPFragments(fuzzA, fuzzB, inv, 1, 160, false)
	a6, b6 := netip.MustParseAddrPort("[2001:db8::1]:5060"), netip.MustParseAddrPort("[2001:db8::2]:5060")
	v6 := packettest.UDPFragments(a6, b6, inv, 2, 200, true)
	var steps []fuzzStep
	for _, fr := range v4 {
		steps = append(steps, fuzzStep{raw, 1, fr})
	}
	add(fuzzScript(steps...))
	add(fuzzScript(fuzzStep{raw, 0, v6[2]}, fuzzStep{raw, 0, v6[0]}, fuzzStep{raw, 0, v6[0]}, fuzzStep{raw, 200, v6[1]}))
	whole := packettest.UDP(fuzzA, fuzzB, inv)[20:]
	add(fuzzScript(
		fuzzStep{raw, 0, packettest.Fragment(fuzzA.Addr(), fuzzB.Addr(), 17, 3, 0, true, whole[:200], false)},
		fuzzStep{raw, 0, packettest.Fragment(fuzzA.Addr(), fuzzB.Addr(), 17, 3, 192, false, whole[192:], false)},
	))
	msg := fuzzSIP("tcp@x", 50)
	add(fuzzScript(
		fuzzStep{raw, 0, packettest.TCP(fuzzA, fuzzB, 99, packettest.SYN, nil)},
		fuzzStep{raw, 1, packettest.TCP(fuzzA, fuzzB, 200, packettest.ACK, msg[100:])},
		fuzzStep{raw, 1, packettest.TCP(fuzzA, fuzzB, 100, packettest.ACK, msg[:100])},
		fuzzStep{raw, 255, packettest.TCP(fuzzA, fuzzB, 100+uint32(len(msg))+50, packettest.ACK, msg)},
		fuzzStep{raw, 255, packettest.TCP(fuzzA, fuzzB, 100, packettest.FIN, nil)},
	))
	upgrade := []byte("GET / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: sip\r\n\r\n")
	frame := append([]byte{0x81, 0xfe, byte(len(msg) >> 8), byte(len(msg)), 1, 2, 3, 4}, msg...)
	maskBytes(frame[8:], [4]byte{1, 2, 3, 4}, 0)
	add(fuzzScript(
		fuzzStep{raw, 0, packettest.TCP(fuzzA, fuzzB, 1000, packettest.ACK, upgrade)},
		fuzzStep{raw, 0, packettest.TCP(fuzzB, fuzzA, 5000, packettest.ACK, []byte("HTTP/1.1 101 Switching Protocols\r\n\r\n"))},
		fuzzStep{raw, 0, packettest.TCP(fuzzA, fuzzB, 1000+uint32(len(upgrade)), packettest.ACK, frame)},
		fuzzStep{raw, 0, packettest.TCP(fuzzB, fuzzA, 5000+36, packettest.ACK, []byte{0x81, 5, 'h', 'e', 'l', 'l', 'o'})},
	))
	dup := packettest.UDP(fuzzA, fuzzB, fuzzSIP("dup@x", 0))
	add(fuzzScript(fuzzStep{raw, 0, dup}, fuzzStep{0, 0, packettest.Ether(dup, 20)}, fuzzStep{raw, 250, dup}))
	return seeds
}

// runPackets feeds a FuzzPackets script to a probe with small caps.
func runPackets(t *testing.T, script []byte) {
	p, err := New(MaxDedupEntries(64), MaxRetransmissionEntries(64), MaxTCPFlows(4), MaxTCPBuffer(2048),
		MaxTCPOutOfOrder(4096), TCPReorderTimeout(300*time.Millisecond), MaxFragmentDatagrams(4),
		MaxFragmentBytes(1<<17), FragmentTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	sink := &checkingSink{t: t}
	ts := int64(1_000_000)
	for len(script) >= 4 {
		lt, dt, n := script[0], script[1], int(script[2])<<8|int(script[3])
		script = script[4:]
		n = min(n, len(script))
		data := script[:n]
		script = script[n:]
		ts += int64(dt) * 1000
		if err := p.Packet(fuzzLinkTypes[int(lt)%len(fuzzLinkTypes)], ts, data, sink); err != nil {
			t.Fatal(err)
		}
		checkProbe(t, p, sink)
	}
}

// FuzzTCP feeds one flow a script of segments cut from a stream of SIP
// messages: in order, retransmitted, lost, reset, or replaced by junk, with
// time jumps that expire the flow. It checks the reassembler's bounds and
// bookkeeping after every segment.
func FuzzTCP(f *testing.F) {
	f.Add([]byte{0, 200, 0, 0, 1, 255, 1, 0, 2, 40, 0, 0})               // in order
	f.Add([]byte{5, 0, 0, 0, 0, 100, 0, 0, 3, 50, 60, 0, 0, 255, 3, 0})  // SYN, data, retransmission
	f.Add([]byte{0, 100, 0, 0, 4, 30, 0, 0, 0, 255, 0, 0, 6, 0, 0, 200}) // loss, FIN, idle
	f.Add([]byte{7, 20, 5, 0, 'I', 'N', 'V', 'I', 'T', 'E', ' ', 's', 'i', 'p', ':', 'x', ' ', 'S', 'I', 'P', '/', '2', '.', '0', '\r', '\n'})
	var stream []byte
	for i, n := range []int{0, 100, 2000, 5, 300} {
		stream = append(stream, fuzzSIP(fmt.Sprintf("s%d@x", i), n)...)
		stream = append(stream, "\r\n"...)
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		p, err := New(MaxTCPFlows(2), MaxTCPBuffer(1024), TCPIdle(time.Second), TCPReorderTimeout(500*time.Millisecond),
			MaxTCPOutOfOrder(3000), MaxDedupEntries(64), MaxRetransmissionEntries(64))
		if err != nil {
			t.Fatal(err)
		}
		sink := &checkingSink{t: t}
		isn, cur, ts := uint32(0xfffff000), 0, int64(1) // near the wrap
		send := func(seq uint32, flags uint8, b []byte) {
			if err := p.Packet(layers.LinkTypeRaw, ts, packettest.TCP(fuzzA, fuzzB, seq, flags, b), sink); err != nil {
				t.Fatal(err)
			}
			checkFlows(t, p)
		}
		chunk := func(off, n int) []byte {
			off = max(0, min(off, len(stream)))
			return stream[off:min(off+n, len(stream))]
		}
		for len(script) >= 4 {
			op, a, b, dt := script[0], int(script[1]), int(script[2]), int64(script[3])
			script = script[4:]
			ts += dt * 10_000 // up to 2.55 s: enough to expire the flow
			switch op % 10 {
			case 0, 1, 2: // in order
				c := chunk(cur, a+b<<8&0x700+1)
				send(isn+uint32(cur), packettest.ACK, c)
				cur += len(c)
			case 3: // retransmission of recent bytes
				off := max(0, cur-a)
				send(isn+uint32(off), packettest.ACK, chunk(off, b+1))
			case 4: // a lost segment
				cur = min(cur+a+1, len(stream))
			case 5: // a new connection
				isn, cur = uint32(a)<<24|uint32(b)<<8, 0
				send(isn-1, packettest.SYN, nil)
			case 6: // FIN or RST
				fl := packettest.FIN
				if a&1 != 0 {
					fl = packettest.RST
				}
				send(isn+uint32(cur), fl, nil)
			case 7: // junk from the script itself
				n := min(a%64, len(script))
				send(isn+uint32(cur+b-128), packettest.ACK, script[:n])
				script = script[n:]
			case 8: // a segment ahead of a hole, the hole not (yet) sent
				off := min(cur+a+1, len(stream))
				send(isn+uint32(off), packettest.ACK, chunk(off, b+1))
			case 9: // the next two segments swapped
				c1 := chunk(cur, a+1)
				c2 := chunk(cur+len(c1), b+1)
				send(isn+uint32(cur+len(c1)), packettest.ACK, c2)
				send(isn+uint32(cur), packettest.ACK, c1)
				cur += len(c1) + len(c2)
			}
		}
	})
}

// checkFlows checks the flow table's invariants, out-of-order queues
// included.
func checkFlows(t *testing.T, p *Probe) {
	t.Helper()
	tf := p.tcp
	held, holding := 0, map[*flow]bool{}
	for f := tf.held.oldest; f != nil; f = f.links[onHeld].newer {
		if holding[f] || len(f.held) == 0 || tf.flows[f.key] != f || (f.links[onHeld].newer == nil) != (tf.held.newest == f) {
			t.Fatal("held list and flows disagree")
		}
		holding[f] = true
	}
	for _, f := range tf.flows {
		n := 0
		for i, h := range f.held {
			n += len(h.data)
			if i > 0 && int32(h.seq-f.held[i-1].seq) < 0 {
				t.Fatal("held segments out of sequence order")
			}
			if int32(h.seq-f.next) <= 0 {
				t.Fatalf("held segment at %d not ahead of next %d", h.seq, f.next)
			}
		}
		if n != f.heldBytes || len(f.held) > maxHeldSegments || n > tf.maxBuf || holding[f] != (len(f.held) > 0) {
			t.Fatalf("flow holds %d segments, %d bytes (counted %d)", len(f.held), n, f.heldBytes)
		}
		if len(f.held) > 0 && !f.synced {
			t.Fatal("unsynced flow holds segments")
		}
		held += n
	}
	if held != tf.heldBytes || held > tf.maxHeld {
		t.Fatalf("%d bytes held, counted %d, cap %d", held, tf.heldBytes, tf.maxHeld)
	}
	if len(tf.flows) > tf.maxFlows {
		t.Fatalf("%d flows over the cap %d", len(tf.flows), tf.maxFlows)
	}
	n := 0
	var prev *flow
	for f := tf.recent.oldest; f != nil; f = f.links[onRecent].newer {
		if f.links[onRecent].older != prev || tf.flows[f.key] != f {
			t.Fatal("activity list and flow map disagree")
		}
		if len(f.buf) > tf.maxBuf {
			t.Fatalf("flow buffer %d over the cap %d", len(f.buf), tf.maxBuf)
		}
		if len(f.buf) > 0 && !f.synced {
			t.Fatal("unsynced flow holds bytes")
		}
		prev = f
		n++
	}
	if n != len(tf.flows) || tf.recent.newest != prev {
		t.Fatalf("activity list has %d flows, map %d", n, len(tf.flows))
	}
}
