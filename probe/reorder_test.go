package probe_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
)

// TestTCPReordered: segment 2 of a message arrives before segment 1; the
// message is recovered whole, stamped with the packet that completed it.
func TestTCPReordered(t *testing.T) {
	p := newProbe(t)
	var rec recorder
	c := newConn(t, p, &rec)
	msg := invite("reorder@x", 600)
	c.send(10, syn, nil)
	start := c.seq
	c.sendAt(20, start+300, ack, msg[300:]) // segment 2 first
	if len(rec.events) != 0 {
		t.Fatal("event before the hole filled")
	}
	c.sendAt(30, start, ack, msg[:300])
	evs := wantMessages(t, &rec, event.TransportTCP, msg)
	if evs[0].TimeUS != 30 {
		t.Errorf("TimeUS = %d, want 30 (the segment that filled the hole)", evs[0].TimeUS)
	}
	s := p.Stats()
	if s.TCPOutOfOrder != 1 || s.TCPReordered != 1 || s.TCPGaps != 0 || s.TCPOutOfOrderBytes != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestTCPReorderedMessages: three messages in five segments, delivered in
// a scrambled order with overlaps and copies; each message comes out once,
// in stream order.
func TestTCPReorderedMessages(t *testing.T) {
	var stream []byte
	for _, id := range []string{"m1@x", "m2@x", "m3@x"} {
		stream = append(stream, invite(id, 250)...)
	}
	cuts := []int{0, 200, 500, 800, 1100, len(stream)}
	seg := func(i int) (int, []byte) { return cuts[i], stream[cuts[i]:cuts[i+1]] }
	for _, order := range [][]int{{1, 0, 2, 3, 4}, {4, 3, 2, 1, 0}, {0, 2, 1, 4, 3}, {2, 2, 0, 1, 3, 4}, {3, 1, 0, 4, 2}} {
		p := newProbe(t)
		var rec recorder
		c := newConn(t, p, &rec)
		c.send(0, syn, nil)
		start := c.seq
		for k, i := range order {
			off, b := seg(i)
			c.sendAt(int64(100+k*100_000), start+uint32(off), ack, b)
		}
		// An overlapping retransmission of everything, after the fact.
		c.sendAt(9_000_000, start+100, ack, stream[100:1000])
		if got := callIDs(t, &rec); !slices.Equal(got, []string{"m1@x", "m2@x", "m3@x"}) {
			t.Errorf("order %v: events %v, stats %+v", order, got, p.Stats())
		}
		if s := p.Stats(); s.TCPGaps != 0 || s.TCPOutOfOrderBytes != 0 {
			t.Errorf("order %v: stats %+v", order, s)
		}
	}
}

// TestTCPReorderTimeout: a hole that never fills is given up on after
// TCPReorderTimeout of capture time (any packet moves the clock); the
// messages held behind it are delivered with their own times.
func TestTCPReorderTimeout(t *testing.T) {
	p := newProbe(t, probe.TCPReorderTimeout(time.Second))
	var rec recorder
	c := newConn(t, p, &rec)
	lost := invite("lost@x", 100)
	after := ringing("after@x")
	c.send(0, syn, nil)
	start := c.seq
	c.sendAt(10, start+uint32(len(lost)), ack, after)
	c.sendAt(20, start+uint32(len(lost)+len(after)), ack, ringing("next@x"))
	if len(rec.events) != 0 {
		t.Fatal("events before the timeout")
	}
	// Another connection's packet 1 s later moves the clock.
	other := newConn(t, p, &rec)
	other.src = trunk
	other.dst = pbx
	other.send(1_000_011, ack, invite("other@x", 0))
	evs := rec.decoded(t)
	if got := callIDs(t, &rec); !slices.Equal(got, []string{"after@x", "next@x", "other@x"}) {
		t.Fatalf("events %v", got)
	}
	if evs[0].TimeUS != 10 || evs[1].TimeUS != 20 {
		t.Errorf("held messages stamped %d, %d; want their own 10, 20", evs[0].TimeUS, evs[1].TimeUS)
	}
	if s := p.Stats(); s.TCPReorderTimeouts != 1 || s.TCPGaps != 1 || s.TCPReordered != 2 || s.TCPDesync != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestTCPReorderOverflow: more out-of-order segments than a flow may hold
// give up on the hole at once.
func TestTCPReorderOverflow(t *testing.T) {
	p := newProbe(t)
	var rec recorder
	c := newConn(t, p, &rec)
	c.send(0, syn, nil)
	start := c.seq
	var want []string
	off := uint32(100) // a 100-byte hole at the start
	for i := range 9 {
		id := string(rune('a'+i)) + "@x"
		m := ringing(id)
		c.sendAt(int64(i+1), start+off, ack, m)
		off += uint32(len(m))
		want = append(want, id)
	}
	if got := callIDs(t, &rec); !slices.Equal(got, want) {
		t.Fatalf("events %v", got)
	}
	if s := p.Stats(); s.TCPReorderOverflows != 1 || s.TCPGaps != 1 || s.TCPOutOfOrder != 8 || s.TCPOutOfOrderBytes != 0 {
		t.Errorf("stats %+v", s)
	}
	// With the queue off, every hole is a gap at once, as before it existed.
	p = newProbe(t, probe.MaxTCPOutOfOrder(0))
	rec = recorder{}
	c = newConn(t, p, &rec)
	c.send(0, syn, nil)
	c.sendAt(1, c.seq+100, ack, ringing("now@x"))
	if got := callIDs(t, &rec); !slices.Equal(got, []string{"now@x"}) {
		t.Fatalf("queue off: events %v", got)
	}
	if s := p.Stats(); s.TCPGaps != 1 || s.TCPOutOfOrder != 0 || s.TCPReorderOverflows != 0 {
		t.Errorf("queue off: stats %+v", s)
	}
}

// TestTCPReorderTotalCap: the bytes held across flows stay under
// MaxTCPOutOfOrder.
func TestTCPReorderTotalCap(t *testing.T) {
	p := newProbe(t, probe.MaxTCPOutOfOrder(4096))
	var rec recorder
	for i := range 20 {
		c := newConn(t, p, &rec)
		c.src = netip.AddrPortFrom(pbx.Addr(), uint16(30000+i))
		c.send(0, syn, nil)
		c.sendAt(1, c.seq+50, ack, invite("x@x", 300))
		if s := p.Stats(); s.TCPOutOfOrderBytes > 4096 {
			t.Fatalf("%d bytes held", s.TCPOutOfOrderBytes)
		}
	}
	if s := p.Stats(); s.TCPReorderOverflows == 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestTCPFINWithHeldSegments: FIN (or RST) ends a flow; what it held behind
// a hole is delivered first, not lost.
func TestTCPFINWithHeldSegments(t *testing.T) {
	for _, end := range []uint8{fin, rst} {
		p := newProbe(t)
		var rec recorder
		c := newConn(t, p, &rec)
		c.send(0, syn, nil)
		start := c.seq
		m := ringing("held@x")
		c.sendAt(1, start+40, ack, m)
		c.sendAt(2, start+40+uint32(len(m)), end, nil)
		if got := callIDs(t, &rec); !slices.Equal(got, []string{"held@x"}) {
			t.Errorf("flags %#x: events %v", end, got)
		}
		if s := p.Stats(); s.TCPFlows != 0 || s.TCPGaps != 1 || s.TCPOutOfOrderBytes != 0 {
			t.Errorf("flags %#x: stats %+v", end, s)
		}
	}
}

// TestTCPSYNSetsSequence: the SYN's sequence number fixes where the stream
// starts, so even the first data segment may be held for a hole before it.
func TestTCPSYNSetsSequence(t *testing.T) {
	p := newProbe(t)
	var rec recorder
	c := newConn(t, p, &rec)
	c.seq = 0xfffffff0 // the stream wraps around 2**32
	c.send(0, syn, nil)
	msg := invite("wrap@x", 100)
	start := c.seq
	c.sendAt(1, start+50, ack, msg[50:])
	c.sendAt(2, start, ack, msg[:50])
	wantMessages(t, &rec, event.TransportTCP, msg)
}

// TestTCPConnectionReplaced: a segment far behind the stream (a new
// connection on the same 4-tuple whose SYN the tap missed) is not taken for
// an old retransmission; the flow resynchronises on it.
func TestTCPConnectionReplaced(t *testing.T) {
	p := newProbe(t)
	var rec recorder
	c := newConn(t, p, &rec)
	c.seq = 0x80000000
	c.send(0, ack, invite("old@x", 0))
	c.seq -= 100 << 20
	c.send(1_000_000, ack, invite("new@x", 0))
	c.send(1_000_001, ack, ringing("new@x"))
	if got := callIDs(t, &rec); !slices.Equal(got, []string{"old@x", "new@x", "new@x"}) {
		t.Fatalf("events %v", got)
	}
	if s := p.Stats(); s.TCPGaps != 1 || s.TCPRetransmits != 0 {
		t.Errorf("stats %+v", s)
	}
}
