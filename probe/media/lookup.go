package media

import "net/netip"

// Lookup returns the entry whose party receives RTP or RTCP at dst, the
// destination of a packet: payload types are the receiver's (RFC 3264
// §5.1: an offer's numbers are the ones the offerer wants to receive), so
// the destination's description is the one that decodes the packet.
// isRTCP reports a match on the entry's separate RTCP address; on a
// multiplexed port (Entry.RTCPMux) the caller tells RTCP from RTP by the
// packet itself. It allocates nothing.
func (t *Table) Lookup(dst netip.AddrPort) (e *Entry, isRTCP bool, ok bool) {
	// RTCP on the RTP port + 1 has no key of its own (it would double the
	// map for 1% of the packets): when nothing has the port, port - 1 is
	// tried for an entry whose RTCP is there. An address some entry has for
	// RTP or a=rtcp takes precedence.
	var v, below uint32
	var okBelow bool
	port := dst.Port()
	if a := dst.Addr(); a.Is4() || a.Is4In6() {
		k := v4Key(a.As4(), port)
		if v, ok = t.keys.v4[k]; ok {
			return &t.entries[v>>1], v&1 != 0, true
		}
		if port > 0 {
			below, okBelow = t.keys.v4[k-1]
		}
	} else {
		k := keyOf(a, port)
		if v, ok = t.keys.v6[k]; ok {
			return &t.entries[v>>1], v&1 != 0, true
		}
		if port > 0 {
			k.port--
			below, okBelow = t.keys.v6[k]
		}
	}
	if okBelow && below&1 == 0 {
		if e := &t.entries[below>>1]; e.flags&flagRTCPNext != 0 {
			return e, true, true
		}
	}
	return nil, false, false
}

// LookupPair matches a packet from src to dst: by its destination first, as
// Lookup does, else by its source (bySrc). The source is the fallback for
// what a passive probe often sees: one direction of a call only, or a
// receiver behind NAT whose description names a private address the
// packets never go to. The sender's own entry then names the call and the
// stream; for the payload types, ask Peer for the receiver's entry, or rely
// on RFC 3264 §6.1, which has an answer reuse the offer's numbers.
func (t *Table) LookupPair(src, dst netip.AddrPort) (e *Entry, isRTCP, bySrc, ok bool) {
	if e, isRTCP, ok = t.Lookup(dst); ok {
		return e, isRTCP, false, true
	}
	if e, isRTCP, ok = t.Lookup(src); ok {
		return e, isRTCP, true, true
	}
	return nil, false, false, false
}

// Peer returns the entry of the other party of e's stream (same call, same
// m= index): where the media e's party sends goes. With several (forked
// early media), the most recently learnt or touched one.
func (t *Table) Peer(e *Entry) (*Entry, bool) {
	c, ok := t.calls[e.callID]
	if !ok {
		return nil, false
	}
	var best *Entry
	for j := c.first; j >= 0; j = t.entries[j].callNext {
		p := &t.entries[j]
		if p.party != e.party && p.media == e.media && (best == nil || p.atUS > best.atUS) {
			best = p
		}
	}
	return best, best != nil
}

// Touch marks e as carrying media at capture time tsUS, so that a call
// longer than the TTL whose description is never refreshed stays mapped,
// and a full table evicts idle entries before busy ones. It is cheap
// enough for every packet: it reorders the LRU list at most once a second
// per entry, and allocates nothing.
func (t *Table) Touch(e *Entry, tsUS int64) {
	if e == nil || tsUS-e.atUS < touchEveryUS || e.flags&(flagUsed|flagEnded) != flagUsed {
		return
	}
	// e may point into a slab since grown; its index finds the live slot.
	i := e.idx
	if int(i) >= len(t.entries) || t.entries[i].flags&flagUsed == 0 || t.entries[i].callID != e.callID {
		return
	}
	t.entries[i].atUS = tsUS
	e.atUS = tsUS
	t.lru.moveToBack(t.entries, i)
}

// Advance moves the table's clock to capture time tsUS (never backwards)
// and removes what is due: ended calls' entries whose linger is over, and
// entries neither learnt nor touched for the TTL. Learn and End call it;
// call it also when only media flows, e.g. once per captured second.
func (t *Table) Advance(tsUS int64) {
	if tsUS > t.nowUS {
		t.nowUS = tsUS
	}
	now := t.nowUS
	for t.linger.head >= 0 && t.entries[t.linger.head].atUS <= now {
		t.remove(t.linger.head, RemovedEnded)
	}
	for t.lru.head >= 0 && t.entries[t.lru.head].atUS+t.ttlUS <= now {
		t.remove(t.lru.head, RemovedExpired)
	}
}

// End ends callID's media at capture time tsUS (its BYE, or a final
// failure response): its entries go after the Linger, so that media still
// in flight maps to the call. They are no longer refreshed by Learn or
// Touch. Unknown calls are ignored.
func (t *Table) End(tsUS int64, callID []byte) {
	t.Advance(tsUS)
	c, ok := t.calls[string(callID)]
	if !ok || c.ended {
		return
	}
	t.stats.Ended++
	id := t.entries[c.first].callID
	c.ended = true
	t.calls[id] = c
	for i := c.first; i >= 0; {
		e := &t.entries[i]
		next := e.callNext
		if t.lingerUS == 0 {
			t.remove(i, RemovedEnded)
		} else {
			t.lru.remove(t.entries, i)
			e.flags |= flagEnded
			e.atUS = tsUS + t.lingerUS
			t.linger.pushBack(t.entries, i)
		}
		i = next
	}
}
