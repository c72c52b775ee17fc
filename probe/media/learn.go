package media

import (
	"net/netip"

	"github.com/trunkscope/trunkscope/probe/sdp"
)

// learner holds what one description's sections share. It has no pointer
// to the Table: escape analysis is field-insensitive, and with one, callID
// would leak with it and cost the caller an allocation.
type learner struct {
	tsUS   int64
	callID []byte
	party  uint32
	offer  bool
	sender netip.Addr
}

// learnMedia applies m= section i.
func (t *Table) learnMedia(l *learner, i int, m *sdp.Media) {
	ei := t.find(l.callID, l.party, i)
	if m.Port == 0 {
		// RFC 3264 §6 and §8.2: a rejected or disabled stream.
		if ei >= 0 {
			t.remove(ei, RemovedDisabled)
		}
		return
	}
	addr := m.Conn.Addr
	switch {
	case m.Conn.Hold():
		// RFC 3264 §8.4: 0.0.0.0 says "send me nothing", not where the
		// party is, so the entry stays where it was, held. With no entry
		// to hold (an initial offer that does not know its address yet)
		// there is nothing to map.
		if ei < 0 {
			t.stats.Unmappable++
			return
		}
		t.stats.Updated++
		t.fill(l, ei, i, m)
		return
	case !m.Conn.Present():
		// c= is mandatory (RFC 8866 §5.7); without one the SIP sender is
		// the best guess at where the party is.
		addr = l.sender
	}
	if !addr.IsValid() {
		// An FQDN, another network type, or no c= and no sender.
		t.stats.Unmappable++
		return
	}
	rtp := keyOf(addr, m.Port)
	var rtcp key
	hasRTCP, next, implicitMux := false, false, false
	if m.IsRTP() {
		switch {
		case m.RTCPPort != 0:
			ra := addr
			if m.RTCPConn.Addr.IsValid() && !m.RTCPConn.Hold() {
				ra = m.RTCPConn.Addr
			}
			rtcp, hasRTCP = keyOf(ra, m.RTCPPort), true
			if rtcp == rtp {
				hasRTCP, implicitMux = false, true // a=rtcp naming the RTP port
			}
		case m.Port < 0xffff:
			// RTCP on port + 1 (RFC 3550 §11) takes no key: Lookup tries
			// port - 1 when nothing has the port itself. Also when rtcp-mux
			// is offered, since the answer may refuse it (RFC 5761
			// §5.1.1).
			next = true
		}
	}
	if ei < 0 {
		ei = t.create(l)
		t.stats.Learned++
	} else if e := &t.entries[ei]; e.rtp != rtp || (e.flags&flagRTCPKey != 0) != hasRTCP || (hasRTCP && e.rtcp != rtcp) {
		t.unkey(ei)
		t.stats.Moved++
	} else {
		t.stats.Updated++
	}
	e := &t.entries[ei]
	e.rtp = rtp
	t.claim(ei, rtp, false)
	if hasRTCP {
		e.rtcp = rtcp
		if t.claim(ei, rtcp, true) {
			e.flags |= flagRTCPKey
		}
	}
	t.fill(l, ei, i, m)
	e.flags &^= flagRTCPNext
	if next {
		e.flags |= flagRTCPNext
	}
	if implicitMux {
		e.flags |= flagMux
	}
}

// create allocates an entry for the learner's call and party.
func (t *Table) create(l *learner) int32 {
	c, ok := t.calls[string(l.callID)]
	if ok && c.n >= maxPerCall {
		t.remove(t.stalest(c.first), RemovedCallCap)
	}
	i := t.alloc()
	// alloc may have evicted the call's last entry and with it its record.
	c, ok = t.calls[string(l.callID)]
	switch {
	case ok:
		t.id = t.entries[c.first].callID
	case t.id == "":
		t.id = string(l.callID)
	}
	e := &t.entries[i]
	*e = Entry{callID: t.id, pool: &t.pool, idx: i, party: l.party, flags: flagUsed, prev: -1, next: -1, callNext: -1}
	if ok {
		e.callNext = c.first
	}
	t.calls[t.id] = callRec{first: i, n: c.n + 1}
	t.lru.pushBack(t.entries, i)
	return i
}

// fill sets an entry's attributes from section mi and marks it fresh.
func (t *Table) fill(l *learner, i int32, mi int, m *sdp.Media) {
	e := &t.entries[i]
	e.media, e.dir = uint8(mi), m.Direction
	e.flags &= flagUsed | flagRTCPKey | flagRTCPNext // address flags: learnMedia sets those
	if l.offer {
		e.flags |= flagOffer
	}
	if m.OnHold() {
		e.flags |= flagHold
	}
	if m.RTCPMux {
		e.flags |= flagMux
	}
	if m.IsRTP() {
		e.flags |= flagRTP
	}
	// A new codec list replaces the old one whole: an answer narrows the
	// offer, a re-offer may switch codecs (RFC 3264 §8.3.2).
	e.npt = 0
	for _, pt := range m.Formats[:m.NumFormats] {
		f, ok := m.Format(pt)
		if !ok {
			continue // a dynamic type without rtpmap: nothing to say
		}
		id, ok := t.pool.intern(f.Name, f.Clock, f.Channels)
		if !ok {
			t.stats.CodecsDropped++
			continue
		}
		e.pts[e.npt] = ptCodec{pt: pt, id: id}
		e.npt++
	}
	if e.atUS < l.tsUS {
		e.atUS = l.tsUS
	}
	t.lru.moveToBack(t.entries, i)
}
