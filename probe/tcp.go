package probe

import (
	"net/netip"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/packet"
	"github.com/trunkscope/trunkscope/probe/sipscan"
)

// SIP over TCP (RFC 3261 §18.3): several messages may share a segment and
// one message may span several, so each direction of a connection is a flow
// whose in-order bytes are framed with sipscan.Frame.
//
// This is deliberately not full TCP reassembly: a passive probe that misses
// a segment cannot ask for it again, and SIP messages normally start at
// segment boundaries, so on a gap the flow drops its partial message and
// waits for a segment that starts a SIP message. Out-of-order segments are
// not held back for the same reason; what a later issue may add (a small
// out-of-order queue) fits in flow.data.

// flowKey is one direction of a TCP connection.
type flowKey struct{ src, dst netip.AddrPort }

type flow struct {
	key flowKey
	// next is the sequence number of the next byte expected, valid while
	// synced: buf then starts at a message boundary and holds the bytes of
	// an incomplete message.
	next   uint32
	synced bool
	// sip is set once the flow carried a SIP start line; flows opened by a
	// SYN are dropped at their first data if it is anything else.
	sip    bool
	buf    []byte
	lastUS int64
	// older and newer link the flows from least to most recently active.
	older, newer *flow
}

type tcpFlows struct {
	maxFlows, maxBuf int
	idleUS           int64
	flows            map[flowKey]*flow
	// oldest and newest end the activity list: eviction takes the oldest,
	// expiry walks from it.
	oldest, newest *flow
	// free holds closed flows for reuse, so that steady churn of
	// connections does not allocate; bounded by maxFree.
	free []*flow
}

// Closed flows are kept for reuse up to maxFree, with buffers up to
// maxFreeBuf: together at most a few MiB held back.
const (
	maxFree    = 1024
	maxFreeBuf = 4 << 10
)

func newTCPFlows(c cfg) *tcpFlows {
	return &tcpFlows{
		maxFlows: c.maxTCPFlows,
		maxBuf:   c.maxTCPBuffer,
		idleUS:   c.tcpIdle.Microseconds(),
		flows:    make(map[flowKey]*flow),
	}
}

// segment processes the TCP segment in p.pkt.
func (t *tcpFlows) segment(p *Probe, tsUS int64, sink Sink) error {
	pk := &p.pkt
	p.stats.TCPSegments++
	t.expire(p, tsUS)
	key := flowKey{netip.AddrPortFrom(pk.Src, pk.SrcPort), netip.AddrPortFrom(pk.Dst, pk.DstPort)}
	seq, payload := pk.Seq, pk.Payload
	syn, fin, rst := pk.Flags&packet.SYN != 0, pk.Flags&packet.FIN != 0, pk.Flags&packet.RST != 0
	if syn {
		seq++ // the SYN takes one sequence number; data (TCP Fast Open) follows it
	}
	f := t.flows[key]
	switch {
	case rst:
		// A reset ends both directions.
		if f != nil {
			t.close(p, f)
		}
		if r := t.flows[flowKey{key.dst, key.src}]; r != nil {
			t.close(p, r)
		}
		return nil
	case f == nil && syn:
		f = t.open(p, key)
	case f == nil && len(payload) > 0 && sipscan.LooksLikeSIP(payload[sipscan.KeepAlive(payload):]):
		// Mid-stream (the capture started after the handshake, or the
		// flow expired): a segment that starts a SIP message starts one.
		f = t.open(p, key)
		f.sip = true
	case f == nil:
		if len(payload) > 0 {
			p.stats.NotSIP++
		}
		return nil
	case syn:
		// A new connection on the same 4-tuple, or a retransmitted SYN.
		t.reset(p, f)
	}
	f.lastUS = tsUS
	t.touch(f)
	if syn {
		f.next, f.synced = seq, true
	}
	var err error
	if len(payload) > 0 {
		err = t.data(p, f, seq, payload, tsUS, sink)
	}
	if fin && t.flows[key] == f {
		t.close(p, f)
	}
	return err
}

// data takes the payload of one segment of f.
func (t *tcpFlows) data(p *Probe, f *flow, seq uint32, b []byte, tsUS int64, sink Sink) error {
	if f.synced {
		// Serial-number arithmetic (RFC 1982) handles wrap-around.
		switch d := int32(seq - f.next); {
		case d < 0:
			p.stats.TCPRetransmits++
			if int64(-d) >= int64(len(b)) {
				return nil // all seen before
			}
			b = b[-d:] // keep only the new tail
			seq = f.next
		case d > 0:
			// A lost segment: the partial message (if any) can never be
			// completed, and the next bytes may be mid-message.
			p.stats.TCPGaps++
			f.buf = f.buf[:0]
			f.synced = false
		}
	}
	k := sipscan.KeepAlive(b)
	if k == len(b) && len(f.buf) == 0 {
		// Only CRLFs between messages: a keep-alive (RFC 5626), and no
		// verdict on what the flow carries. (CRLFs inside a message, the
		// end of a body say, go to consume below.)
		p.stats.KeepAlives++
		if f.synced {
			f.next = seq + uint32(len(b))
		}
		return nil
	}
	if !f.synced {
		// Mid-stream, or after a gap: resynchronise at a segment that
		// starts with a whole SIP start line.
		if !sipscan.LooksLikeSIP(b[k:]) {
			p.stats.TCPDesync++
			return nil
		}
		f.sip, f.synced = true, true
		f.buf = f.buf[:0]
	}
	f.next = seq + uint32(len(b))
	err := t.consume(p, f, b, tsUS, sink)
	if !f.sip && !f.synced {
		// The first data of a connection opened by a SYN is not SIP
		// (HTTPS, say): stop tracking it.
		p.stats.NotSIP++
		t.close(p, f)
	}
	return err
}

// consume appends in-order bytes to f and emits every message they complete.
func (t *tcpFlows) consume(p *Probe, f *flow, b []byte, tsUS int64, sink Sink) error {
	if len(f.buf) == 0 {
		// The common case: the segment starts at a message boundary, so
		// frame it in place and copy only an incomplete tail.
		n, err := t.frames(p, f, b, tsUS, sink)
		if rest := b[n:]; f.synced && len(rest) > 0 {
			if len(rest) > t.maxBuf {
				p.stats.TCPOverflows++
				f.synced = false
				return err
			}
			f.buf = append(f.buf, rest...)
		}
		return err
	}
	if len(f.buf)+len(b) > t.maxBuf {
		p.stats.TCPOverflows++
		f.buf = f.buf[:0]
		// The buffered message is lost; this segment may start the next.
		if !sipscan.LooksLikeSIP(b[sipscan.KeepAlive(b):]) {
			f.synced = false
			return nil
		}
		return t.consume(p, f, b, tsUS, sink)
	}
	f.buf = append(f.buf, b...)
	n, err := t.frames(p, f, f.buf, tsUS, sink)
	if !f.synced {
		f.buf = f.buf[:0]
		return err
	}
	// Events emitted from buf have been handed over (the sink copies), so
	// the incomplete tail can move to the front.
	f.buf = f.buf[:copy(f.buf, f.buf[n:])]
	return err
}

// frames emits every complete message at the start of b and returns how many
// bytes they (and keep-alives between them) took. A framing error loses the
// flow's place: it is counted and the flow waits for a new start line.
func (t *tcpFlows) frames(p *Probe, f *flow, b []byte, tsUS int64, sink Sink) (int, error) {
	var first error
	off := 0
	for off < len(b) {
		if k := sipscan.KeepAlive(b[off:]); k > 0 {
			p.stats.KeepAlives++
			off += k
			continue
		}
		n, err := sipscan.Frame(b[off:])
		if err != nil {
			if err == sipscan.ErrNotSIP {
				if f.sip { // else data counts the flow as not SIP
					p.stats.TCPDesync++
				}
			} else {
				p.stats.MalformedSIP[sipscan.ReasonOf(err)]++
			}
			f.synced = false
			return len(b), first
		}
		if n == 0 {
			break
		}
		msg := b[off : off+n]
		off += n
		f.sip = true
		if err := sipscan.Scan(msg, &p.msg); err != nil {
			p.stats.MalformedSIP[sipscan.ReasonOf(err)]++
			continue
		}
		p.stats.SIPTCP++
		if err := p.emit(tsUS, f.key.src, f.key.dst, event.TransportTCP, msg, sink); err != nil && first == nil {
			first = err
		}
	}
	return off, first
}

// open starts tracking key, evicting the least recently active flow when
// the table is full.
func (t *tcpFlows) open(p *Probe, key flowKey) *flow {
	if len(t.flows) >= t.maxFlows && t.oldest != nil {
		p.stats.TCPEvicted++
		t.close(p, t.oldest)
	}
	var f *flow
	if n := len(t.free); n > 0 {
		f, t.free = t.free[n-1], t.free[:n-1]
	} else {
		f = new(flow)
	}
	*f = flow{key: key, buf: f.buf[:0]}
	t.flows[key] = f
	t.pushNewest(f)
	return f
}

// reset restarts f for a new connection on the same 4-tuple.
func (t *tcpFlows) reset(p *Probe, f *flow) {
	if len(f.buf) > 0 {
		p.stats.TCPUnfinished++
	}
	f.buf, f.synced, f.sip = f.buf[:0], false, false
}

// close stops tracking f; a partial message it held is lost.
func (t *tcpFlows) close(p *Probe, f *flow) {
	if len(f.buf) > 0 {
		p.stats.TCPUnfinished++
	}
	delete(t.flows, f.key)
	t.unlink(f)
	if len(t.free) < maxFree {
		buf := f.buf[:0]
		if cap(buf) > maxFreeBuf {
			buf = nil
		}
		*f = flow{buf: buf}
		t.free = append(t.free, f)
	}
}

// expire closes flows idle for longer than TCPIdle in capture time. The
// activity list is ordered by arrival, so only its old end need be checked.
func (t *tcpFlows) expire(p *Probe, nowUS int64) {
	for f := t.oldest; f != nil && nowUS-f.lastUS > t.idleUS; f = t.oldest {
		p.stats.TCPExpired++
		t.close(p, f)
	}
}

func (t *tcpFlows) touch(f *flow) {
	if t.newest != f {
		t.unlink(f)
		t.pushNewest(f)
	}
}

func (t *tcpFlows) pushNewest(f *flow) {
	f.older, f.newer = t.newest, nil
	if t.newest != nil {
		t.newest.newer = f
	} else {
		t.oldest = f
	}
	t.newest = f
}

func (t *tcpFlows) unlink(f *flow) {
	if f.older != nil {
		f.older.newer = f.newer
	} else if t.oldest == f {
		t.oldest = f.newer
	}
	if f.newer != nil {
		f.newer.older = f.older
	} else if t.newest == f {
		t.newest = f.older
	}
	f.older, f.newer = nil, nil
}
