package probe

import (
	"net/netip"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/packet"
	"github.com/trunkscope/trunkscope/probe/sipscan"
)

// SIP over TCP (RFC 3261 §18.3): several messages may share a segment and
// one message may span several, so each direction of a connection is a flow
// whose in-order bytes are framed with sipscan.Frame (or, once the
// connection upgraded to WebSocket, RFC 7118, into WebSocket frames: ws.go).
//
// This is deliberately not full TCP reassembly. A passive probe that misses
// a segment cannot ask for it again, and SIP messages normally start at
// segment boundaries, so when a hole in the stream is given up on the flow
// drops its partial message and waits for a segment that starts a SIP
// message. Before giving up, a flow holds a few segments that arrived ahead
// of the missing one (up to maxHeldSegments and MaxTCPBuffer bytes, and
// MaxTCPOutOfOrder bytes across flows) for up to TCPReorderTimeout of
// capture time: packets merged from two interfaces, or a segment resent by
// TCP after the tap missed the first copy, arrive out of order and complete
// the stream once the hole fills.

// flowKey is one direction of a TCP connection.
type flowKey struct{ src, dst netip.AddrPort }

type flow struct {
	key flowKey
	// next is the sequence number of the next byte expected, valid while
	// synced: buf then starts at a message boundary and holds the bytes of
	// an incomplete message (or WebSocket frame).
	next   uint32
	synced bool
	// sip is set once the flow carried a SIP start line; flows opened by a
	// SYN are dropped at their first data if it is anything else. ws is
	// set once the connection upgraded to WebSocket for SIP: its bytes are
	// WebSocket frames.
	sip, ws bool
	buf     []byte
	// wsMsg assembles a WebSocket message sent in several frames (RFC 6455
	// §5.4), unmasked; wsFrag is set while one is open.
	wsMsg  []byte
	wsFrag bool
	lastUS int64
	// links place the flow on the tables' two lists: links[onRecent] by
	// activity, links[onHeld] among the flows holding segments.
	links [2]links
	// held are copies of segments that arrived ahead of next, in sequence
	// order, heldBytes their size, heldSinceUS when the flow started
	// waiting for its hole.
	held        []heldSegment
	heldBytes   int
	heldSinceUS int64
}

// links are a flow's neighbours on one list, toward older and newer.
type links struct{ older, newer *flow }

// The lists a flow can be on, indexes into flow.links.
const (
	onRecent = iota // every flow, from least to most recently active
	onHeld          // flows holding segments, from the longest wait
)

// flowList is an intrusive doubly linked list of flows, oldest first: a
// flow is on a list through its own links, so joining one allocates
// nothing and one flow can be on both lists at once.
type flowList struct {
	oldest, newest *flow
	on             int // which of a flow's links this list uses
}

func (l *flowList) push(f *flow) {
	f.links[l.on] = links{older: l.newest}
	if l.newest != nil {
		l.newest.links[l.on].newer = f
	} else {
		l.oldest = f
	}
	l.newest = f
}

func (l *flowList) unlink(f *flow) {
	k := &f.links[l.on]
	if k.older != nil {
		k.older.links[l.on].newer = k.newer
	} else if l.oldest == f {
		l.oldest = k.newer
	}
	if k.newer != nil {
		k.newer.links[l.on].older = k.older
	} else if l.newest == f {
		l.newest = k.older
	}
	*k = links{}
}

type heldSegment struct {
	seq  uint32
	tsUS int64
	data []byte
}

// maxBehind is how far behind the next expected byte a segment may start
// and still be a retransmission: far more than any TCP window carrying SIP
// has in flight.
const maxBehind = 16 << 20

// maxHeldSegments bounds a flow's out-of-order queue: capture reordering
// swaps neighbours, and a resent segment follows a few others at most.
const maxHeldSegments = 8

type tcpFlows struct {
	maxFlows, maxBuf int
	idleUS           int64
	flows            map[flowKey]*flow
	// recent orders every flow by activity: eviction takes the oldest,
	// expiry walks from it.
	recent flowList
	// free holds closed flows for reuse, so that steady churn of
	// connections does not allocate; bounded by maxFree.
	free []*flow
	// maxHeld bounds heldBytes, the bytes held by all flows; reorderUS is
	// TCPReorderTimeout; held lists the flows holding segments.
	maxHeld, heldBytes int
	reorderUS          int64
	held               flowList
}

// Closed flows are kept for reuse up to maxFree, with buffers up to
// maxFreeBuf: together at most a few MiB held back.
const (
	maxFree    = 1024
	maxFreeBuf = 4 << 10
)

func newTCPFlows(c cfg) *tcpFlows {
	return &tcpFlows{
		maxFlows:  c.maxTCPFlows,
		maxBuf:    c.maxTCPBuffer,
		idleUS:    c.tcpIdle.Microseconds(),
		flows:     make(map[flowKey]*flow),
		maxHeld:   c.maxTCPOutOfOrder,
		reorderUS: c.tcpReorderTimeout.Microseconds(),
		recent:    flowList{on: onRecent},
		held:      flowList{on: onHeld},
	}
}

// What a segment on an untracked 4-tuple can start.
const (
	startsNothing = iota
	startsSIP
	startsHandshake // an HTTP upgrade to WebSocket for SIP, or its 101 answer
	startsWS        // WebSocket frames, the handshake missed
)

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
	if rst {
		// A reset ends both directions; what they held behind a hole is
		// delivered first.
		err := t.finish(p, f, tsUS, sink)
		if e := t.finish(p, t.flows[flowKey{key.dst, key.src}], tsUS, sink); err == nil {
			err = e
		}
		return err
	}
	switch {
	case f == nil && syn:
		f = t.open(p, key)
	case f == nil && len(payload) > 0:
		// Mid-stream (the capture started after the handshake, or the
		// flow expired): a segment that starts a SIP message (or a
		// WebSocket handshake or frame carrying one) starts a flow.
		kind := t.starts(p, key, payload)
		if kind == startsNothing {
			p.stats.NotSIP++
			return nil
		}
		f = t.open(p, key)
		f.sip, f.ws = kind == startsSIP, kind == startsWS
		if f.ws {
			p.stats.WebSocketFlows++
		}
	case f == nil:
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
		if e := t.finish(p, f, tsUS, sink); err == nil {
			err = e
		}
	}
	return err
}

// starts tells what the first segment seen on an untracked 4-tuple starts.
func (t *tcpFlows) starts(p *Probe, key flowKey, b []byte) int {
	switch {
	case sipscan.LooksLikeSIP(b[sipscan.KeepAlive(b):]):
		return startsSIP
	case isWSUpgrade(b):
		return startsHandshake
	case isWSAccept(b):
		if r := t.flows[flowKey{key.dst, key.src}]; r != nil && r.ws {
			return startsHandshake
		}
	case p.wsStart(b):
		return startsWS
	}
	return startsNothing
}

// data takes the payload of one segment of f: in order, it is delivered
// with whatever it lets through from the held queue; ahead of next, it is
// held.
func (t *tcpFlows) data(p *Probe, f *flow, seq uint32, b []byte, tsUS int64, sink Sink) error {
	if f.synced && int32(seq-f.next) > 0 {
		// Serial-number arithmetic (RFC 1982) handles wrap-around.
		return t.hold(p, f, seq, b, tsUS, sink)
	}
	err := t.deliver(p, f, seq, b, tsUS, sink)
	if e := t.drain(p, f, tsUS, false, sink); err == nil {
		err = e
	}
	return err
}

// deliver takes bytes at seq, which is not ahead of f.next when f is
// synced: retransmitted bytes are trimmed, the rest is framed.
func (t *tcpFlows) deliver(p *Probe, f *flow, seq uint32, b []byte, tsUS int64, sink Sink) error {
	if f.synced {
		if d := int32(seq - f.next); d < -maxBehind {
			// Too far behind to be a retransmission: the connection was
			// replaced without the probe seeing its SYN. Resynchronise
			// rather than take every segment for an old one until the
			// flow expires.
			p.stats.TCPGaps++
			f.buf, f.synced = f.buf[:0], false
			f.wsMsg, f.wsFrag = f.wsMsg[:0], false
		} else if d < 0 {
			p.stats.TCPRetransmits++
			back := -int64(d) // in int64: -math.MinInt32 does not fit an int32
			if back >= int64(len(b)) {
				return nil // all seen before
			}
			b = b[back:] // keep only the new tail
			seq = f.next
		}
	}
	if !f.sip && !f.ws {
		if n, ok := t.handshake(p, f, b); ok {
			// RFC 6455 §4: after the HTTP upgrade the connection carries
			// frames, from the first byte after the header block.
			f.ws, f.synced, f.next = true, true, seq+uint32(len(b))
			f.buf, f.wsMsg, f.wsFrag = f.buf[:0], f.wsMsg[:0], false
			return t.consume(p, f, b[n:], tsUS, sink)
		}
	}
	if f.ws {
		if !f.synced {
			// After a gap: resynchronise at a segment that starts with a
			// whole frame carrying a SIP start line.
			if !p.wsStart(b) {
				p.stats.TCPDesync++
				return nil
			}
			f.synced = true
			f.buf, f.wsMsg, f.wsFrag = f.buf[:0], f.wsMsg[:0], false
		}
		f.next = seq + uint32(len(b))
		return t.consume(p, f, b, tsUS, sink)
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

// hold queues a segment that arrived ahead of f.next. When the queue has
// no room, the flow gives up on its hole and the segment is taken again.
func (t *tcpFlows) hold(p *Probe, f *flow, seq uint32, b []byte, tsUS int64, sink Sink) error {
	for _, h := range f.held {
		if h.seq == seq && len(h.data) >= len(b) {
			p.stats.TCPRetransmits++ // a copy of a segment held already
			return nil
		}
	}
	if len(f.held) >= maxHeldSegments || f.heldBytes+len(b) > t.maxBuf || t.heldBytes+len(b) > t.maxHeld {
		if t.maxHeld > 0 {
			p.stats.TCPReorderOverflows++
		}
		key := f.key
		err := t.giveUp(p, f, tsUS, sink)
		if t.flows[key] != f {
			return err
		}
		if e := t.data(p, f, seq, b, tsUS, sink); err == nil {
			err = e
		}
		return err
	}
	i := len(f.held)
	for i > 0 && int32(f.held[i-1].seq-seq) > 0 {
		i--
	}
	// Out-of-order segments are rare: a copy each is cheaper than a pool.
	f.held = append(f.held, heldSegment{})
	copy(f.held[i+1:], f.held[i:])
	f.held[i] = heldSegment{seq: seq, tsUS: tsUS, data: append([]byte(nil), b...)}
	f.heldBytes += len(b)
	t.heldBytes += len(b)
	if len(f.held) == 1 {
		f.heldSinceUS = tsUS
		t.held.push(f)
	}
	p.stats.TCPOutOfOrder++
	return nil
}

// drain delivers held segments that are no longer ahead of f.next, or,
// while f is not synced, every held segment up to the one that
// resynchronises it. Segments delivered because the hole filled are
// stamped with the packet that filled it (tsUS), the time a receiver's
// stack could read them; with own they keep the time they arrived (the
// hole was given up on).
func (t *tcpFlows) drain(p *Probe, f *flow, tsUS int64, own bool, sink Sink) error {
	key := f.key
	var first error
	for len(f.held) > 0 && t.flows[key] == f {
		h := f.held[0]
		if f.synced && int32(h.seq-f.next) > 0 {
			break // still a hole
		}
		f.held[0] = heldSegment{}
		f.held = f.held[1:]
		f.heldBytes -= len(h.data)
		t.heldBytes -= len(h.data)
		if len(f.held) == 0 {
			f.held = f.held[:0:0]
			t.held.unlink(f)
		}
		p.stats.TCPReordered++
		at := max(tsUS, h.tsUS)
		if own {
			at = h.tsUS
		}
		if err := t.deliver(p, f, h.seq, h.data, at, sink); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// giveUp abandons f's hole: the partial message before it is lost, and the
// held segments are delivered as after any gap (the first that starts a
// message resynchronises the flow). A flow still holding segments after
// that (a second hole) waits for it from now.
func (t *tcpFlows) giveUp(p *Probe, f *flow, tsUS int64, sink Sink) error {
	p.stats.TCPGaps++
	f.buf, f.synced = f.buf[:0], false
	f.wsMsg, f.wsFrag = f.wsMsg[:0], false
	key := f.key
	err := t.drain(p, f, tsUS, true, sink)
	if t.flows[key] == f && len(f.held) > 0 {
		t.held.unlink(f)
		f.heldSinceUS = tsUS
		t.held.push(f)
	}
	return err
}

// reorderExpire gives up on the holes flows have waited on for longer than
// TCPReorderTimeout at nowUS.
func (t *tcpFlows) reorderExpire(p *Probe, nowUS int64, sink Sink) error {
	var first error
	for f := t.held.oldest; f != nil && nowUS-f.heldSinceUS > t.reorderUS; f = t.held.oldest {
		p.stats.TCPReorderTimeouts++
		if err := t.giveUp(p, f, nowUS, sink); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// finish ends f (which may be nil) on FIN or RST: what it holds behind a
// hole is delivered, then it is closed.
func (t *tcpFlows) finish(p *Probe, f *flow, tsUS int64, sink Sink) error {
	if f == nil {
		return nil
	}
	key := f.key
	var err error
	if len(f.held) > 0 {
		err = t.giveUp(p, f, tsUS, sink)
	}
	if t.flows[key] == f {
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
		if !t.startsMessage(p, f, b) {
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

// startsMessage reports whether b starts a message of f's kind.
func (t *tcpFlows) startsMessage(p *Probe, f *flow, b []byte) bool {
	if f.ws {
		return p.wsStart(b)
	}
	return sipscan.LooksLikeSIP(b[sipscan.KeepAlive(b):])
}

// frames emits every complete message at the start of b and returns how many
// bytes they (and keep-alives between them) took. A framing error loses the
// flow's place: it is counted and the flow waits for a new start line.
func (t *tcpFlows) frames(p *Probe, f *flow, b []byte, tsUS int64, sink Sink) (int, error) {
	if f.ws {
		return t.wsFrames(p, f, b, tsUS, sink)
	}
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
				if f.sip { // else deliver counts the flow as not SIP
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
		if err := p.emit(tsUS, f.key.src, f.key.dst, event.TransportTCP, msg, nil, sink); err != nil && first == nil {
			first = err
		}
	}
	return off, first
}

// open starts tracking key, evicting the least recently active flow when
// the table is full.
func (t *tcpFlows) open(p *Probe, key flowKey) *flow {
	if len(t.flows) >= t.maxFlows && t.recent.oldest != nil {
		p.stats.TCPEvicted++
		t.close(p, t.recent.oldest)
	}
	var f *flow
	if n := len(t.free); n > 0 {
		f, t.free = t.free[n-1], t.free[:n-1]
	} else {
		f = new(flow)
	}
	*f = flow{key: key, buf: f.buf[:0], wsMsg: f.wsMsg[:0]}
	t.flows[key] = f
	t.recent.push(f)
	return f
}

// reset restarts f for a new connection on the same 4-tuple.
func (t *tcpFlows) reset(p *Probe, f *flow) {
	if len(f.buf) > 0 || len(f.held) > 0 || f.wsFrag {
		p.stats.TCPUnfinished++
	}
	t.dropHeld(f)
	f.buf, f.synced, f.sip, f.ws = f.buf[:0], false, false, false
	f.wsMsg, f.wsFrag = f.wsMsg[:0], false
}

// close stops tracking f; a partial message and held segments are lost.
func (t *tcpFlows) close(p *Probe, f *flow) {
	if len(f.buf) > 0 || len(f.held) > 0 || f.wsFrag {
		p.stats.TCPUnfinished++
	}
	t.dropHeld(f)
	delete(t.flows, f.key)
	t.recent.unlink(f)
	if len(t.free) < maxFree {
		buf, wsMsg := f.buf[:0], f.wsMsg[:0]
		if cap(buf) > maxFreeBuf {
			buf = nil
		}
		if cap(wsMsg) > maxFreeBuf {
			wsMsg = nil
		}
		*f = flow{buf: buf, wsMsg: wsMsg}
		t.free = append(t.free, f)
	}
}

// dropHeld discards f's held segments.
func (t *tcpFlows) dropHeld(f *flow) {
	if len(f.held) == 0 {
		return
	}
	t.heldBytes -= f.heldBytes
	f.held, f.heldBytes = nil, 0
	t.held.unlink(f)
}

// expire closes flows idle for longer than TCPIdle in capture time. The
// activity list is ordered by arrival, so only its old end need be checked.
func (t *tcpFlows) expire(p *Probe, nowUS int64) {
	for f := t.recent.oldest; f != nil && nowUS-f.lastUS > t.idleUS; f = t.recent.oldest {
		p.stats.TCPExpired++
		t.close(p, f)
	}
}

func (t *tcpFlows) touch(f *flow) {
	if t.recent.newest != f {
		t.recent.unlink(f)
		t.recent.push(f)
	}
}
