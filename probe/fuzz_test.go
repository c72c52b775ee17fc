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
		p, err := New()
		if err != nil {
			t.Fatal(err)
		}
		sink := &checkingSink{t: t}
		link := fuzzLinkTypes[int(lt)%len(fuzzLinkTypes)]
		// Twice: the second pass meets the TCP state the first one left.
		for range 2 {
			if err := p.Packet(link, 1, data, sink); err != nil {
				t.Fatal(err)
			}
		}
		s := p.Stats()
		if s.Packets != s.UDPDatagrams+s.TCPSegments+s.Truncated+s.DecodeErrors+s.UnsupportedLink+s.NonIP+s.IPFragments+s.NonUDPTCP {
			t.Fatalf("packet accounting: %+v", s)
		}
		if s.SIPMessages != uint64(sink.n) || s.SIPMessages != s.SIPUDP+s.SIPTCP {
			t.Fatalf("%d events, stats %+v", sink.n, s)
		}
	})
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
		p, err := New(MaxTCPFlows(2), MaxTCPBuffer(1024), TCPIdle(time.Second))
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
			switch op % 8 {
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
			}
		}
	})
}

// checkFlows checks the flow table's invariants.
func checkFlows(t *testing.T, p *Probe) {
	t.Helper()
	tf := p.tcp
	if len(tf.flows) > tf.maxFlows {
		t.Fatalf("%d flows over the cap %d", len(tf.flows), tf.maxFlows)
	}
	n := 0
	var prev *flow
	for f := tf.oldest; f != nil; f = f.newer {
		if f.older != prev || tf.flows[f.key] != f {
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
	if n != len(tf.flows) || tf.newest != prev {
		t.Fatalf("activity list has %d flows, map %d", n, len(tf.flows))
	}
}
