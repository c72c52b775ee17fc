package probe_test

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/internal/packettest"
)

const (
	ack = packettest.ACK | packettest.PSH
	syn = packettest.SYN
	fin = packettest.FIN | packettest.ACK
	rst = packettest.RST
)

// conn sends one direction of a TCP connection as raw IP packets.
type conn struct {
	t        *testing.T
	p        *probe.Probe
	rec      *recorder
	src, dst netip.AddrPort
	seq      uint32
}

func newConn(t *testing.T, p *probe.Probe, rec *recorder) *conn {
	return &conn{t: t, p: p, rec: rec, src: pbx, dst: trunk, seq: 1_000_000}
}

// send sends b at the connection's next sequence number and advances it.
func (c *conn) send(tsUS int64, flags uint8, b []byte) {
	c.t.Helper()
	c.sendAt(tsUS, c.seq, flags, b)
	c.seq += uint32(len(b))
	if flags&(packettest.SYN|packettest.FIN) != 0 {
		c.seq++
	}
}

func (c *conn) sendAt(tsUS int64, seq uint32, flags uint8, b []byte) {
	c.t.Helper()
	feed(c.t, c.p, c.rec, layers.LinkTypeRaw, tsUS, packettest.TCP(c.src, c.dst, seq, flags, b))
}

func callIDs(t *testing.T, rec *recorder) []string {
	var out []string
	for _, ev := range rec.decoded(t) {
		if ev.Transport != event.TransportTCP {
			t.Errorf("transport %v", ev.Transport)
		}
		out = append(out, string(ev.CallID))
	}
	return out
}

func TestTCPSplitOverTwoSegments(t *testing.T) {
	p := newProbe(t)
	var rec recorder
	c := newConn(t, p, &rec)
	msg := invite("split@x", 400)
	c.send(10, syn, nil)
	c.send(20, ack, msg[:100])
	if len(rec.events) != 0 {
		t.Fatal("event before the message was complete")
	}
	c.send(30, ack, msg[100:])
	evs := rec.decoded(t)
	if len(evs) != 1 || !bytes.Equal(evs[0].Raw, msg) {
		t.Fatalf("events %d, stats %+v", len(evs), p.Stats())
	}
	if evs[0].TimeUS != 30 {
		t.Errorf("TimeUS = %d, want the completing packet's 30", evs[0].TimeUS)
	}
	if evs[0].Src != pbx || evs[0].Dst != trunk {
		t.Errorf("addresses %v -> %v", evs[0].Src, evs[0].Dst)
	}
	checkID(t, &evs[0])
}

func TestTCPTwoMessagesInOneSegment(t *testing.T) {
	p := newProbe(t)
	var rec recorder
	c := newConn(t, p, &rec)
	// Mid-stream start (no SYN seen), a keep-alive between the messages.
	c.send(1, ack, slices.Concat(invite("two@x", 30), []byte("\r\n\r\n"), ringing("two@x")))
	if got := callIDs(t, &rec); !slices.Equal(got, []string{"two@x", "two@x"}) {
		t.Fatalf("events %v", got)
	}
	if s := p.Stats(); s.SIPTCP != 2 || s.KeepAlives != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestTCPRetransmissionNoDuplicate(t *testing.T) {
	p := newProbe(t)
	var rec recorder
	c := newConn(t, p, &rec)
	msg := invite("rtx@x", 50)
	c.send(1, syn, nil)
	start := c.seq
	c.send(2, ack, msg)
	// A full retransmission, an RTO later (RFC 6298, at least 200 ms on
	// Linux); the same packet within DedupWindow is a tap duplicate.
	c.sendAt(300_003, start, ack, msg)
	next := ringing("rtx@x")
	// A retransmission overlapping the old tail and carrying new bytes.
	c.sendAt(600_004, start+uint32(len(msg))-10, ack, slices.Concat(msg[len(msg)-10:], next))
	c.seq = start + uint32(len(msg)+len(next))
	if got := callIDs(t, &rec); len(got) != 2 {
		t.Fatalf("%d events, want 2: stats %+v", len(got), p.Stats())
	}
	if s := p.Stats(); s.TCPRetransmits != 2 || s.TCPGaps != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestTCPGapResyncs(t *testing.T) {
	p := newProbe(t)
	var rec recorder
	c := newConn(t, p, &rec)
	lost := invite("lost@x", 300)
	c.send(1, syn, nil)
	c.send(2, ack, lost[:100])
	c.seq += 100 // lose a segment
	c.send(3, ack, lost[200:])
	// The flow holds segments behind the hole for TCPReorderTimeout (2 s)
	// in case the missing one comes late, then gives up on it.
	c.send(3_000_004, ack, ringing("after@x"))
	if got := callIDs(t, &rec); !slices.Equal(got, []string{"after@x"}) {
		t.Fatalf("events %v, stats %+v", got, p.Stats())
	}
	if s := p.Stats(); s.TCPGaps != 1 || s.TCPDesync != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestTCPOverflow(t *testing.T) {
	p := newProbe(t, probe.MaxTCPBuffer(1024))
	var rec recorder
	c := newConn(t, p, &rec)
	big := invite("big@x", 3000)
	c.send(1, syn, nil)
	for i := 0; i < len(big); i += 500 {
		c.send(2, ack, big[i:min(i+500, len(big))])
	}
	c.send(3, ack, ringing("small@x"))
	if got := callIDs(t, &rec); !slices.Equal(got, []string{"small@x"}) {
		t.Fatalf("events %v, stats %+v", got, p.Stats())
	}
	if s := p.Stats(); s.TCPOverflows != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestTCPFlowLifecycle(t *testing.T) {
	p := newProbe(t, probe.MaxTCPFlows(2), probe.TCPIdle(time.Second))
	var rec recorder
	conns := make([]*conn, 3)
	for i := range conns {
		conns[i] = newConn(t, p, &rec)
		conns[i].src = netip.AddrPortFrom(pbx.Addr(), uint16(40000+i))
		conns[i].send(int64(i), syn, nil)
	}
	s := p.Stats()
	if s.TCPFlows != 2 || s.TCPEvicted != 1 {
		t.Fatalf("after 3 SYNs with MaxTCPFlows 2: %+v", s)
	}
	// FIN closes a flow, and a half-received message is counted as lost.
	conns[1].send(10, ack, invite("half@x", 100)[:50])
	conns[1].send(11, fin, nil)
	if s = p.Stats(); s.TCPFlows != 1 || s.TCPUnfinished != 1 {
		t.Fatalf("after FIN: %+v", s)
	}
	// Two seconds of capture time later the last flow has expired.
	conns[0].send(2_000_100, ack, ringing("late@x"))
	if s = p.Stats(); s.TCPExpired != 1 || s.TCPFlows != 1 || s.SIPTCP != 1 {
		t.Fatalf("after idle: %+v", s)
	}
	// RST ends both directions.
	rev := newConn(t, p, &rec)
	rev.src, rev.dst = trunk, conns[0].src
	rev.send(2_000_200, ack, ringing("rev@x"))
	if s = p.Stats(); s.TCPFlows != 2 {
		t.Fatalf("before RST: %+v", s)
	}
	conns[0].send(2_000_300, rst, nil)
	if s = p.Stats(); s.TCPFlows != 0 {
		t.Fatalf("after RST: %+v", s)
	}
}

func TestTCPNotSIPFlowDropped(t *testing.T) {
	p := newProbe(t)
	var rec recorder
	c := newConn(t, p, &rec)
	c.send(1, syn, nil)
	c.send(2, ack, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	c.send(3, ack, []byte("more bytes"))
	if s := p.Stats(); s.TCPFlows != 0 || s.NotSIP != 2 || len(rec.events) != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestTCPChunkings delivers one stream of messages in many random in-order
// chunkings: each must give exactly the stream's messages, in order.
func TestTCPChunkings(t *testing.T) {
	var stream []byte
	var want []string
	for i, n := range []int{0, 1, 200, 1500, 3, 0, 700} {
		id := string(rune('a'+i)) + "@chunk"
		stream = append(stream, invite(id, n)...)
		want = append(want, id)
		if i%3 == 0 {
			stream = append(stream, "\r\n"...)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 200 {
		p := newProbe(t)
		var rec recorder
		c := newConn(t, p, &rec)
		if run%2 == 0 {
			c.send(0, syn, nil)
		}
		for off := 0; off < len(stream); {
			n := 1 + rng.IntN(1+rng.IntN(2000))
			n = min(n, len(stream)-off)
			c.send(int64(off), ack, stream[off:off+n])
			off += n
		}
		if got := callIDs(t, &rec); !slices.Equal(got, want) {
			// A mid-stream start needs its first segment to hold a whole
			// start line; with 1-byte first chunks it may not.
			if run%2 == 1 && slices.Equal(got, want[len(want)-len(got):]) {
				continue
			}
			t.Fatalf("run %d: events %v, want %v; stats %+v", run, got, want, p.Stats())
		}
	}
}
