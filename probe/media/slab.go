package media

// alloc returns a free slot, evicting the entry that has waited longest
// when the table is full: an ended call's lingering entry first, else the
// least recently learnt or touched one.
func (t *Table) alloc() int32 {
	if t.n >= t.maxEntries {
		if t.linger.head >= 0 {
			t.remove(t.linger.head, RemovedCapacity)
		} else {
			t.remove(t.lru.head, RemovedCapacity)
		}
	}
	t.n++
	if i := t.free; i >= 0 {
		t.free = t.entries[i].next
		return i
	}
	if len(t.entries) == cap(t.entries) {
		// Grow by a quarter, as append does for large slices, but never
		// past the cap, which append would overshoot.
		n := min(max(cap(t.entries)+cap(t.entries)/4, 1024), t.maxEntries)
		grown := make([]Entry, len(t.entries), n)
		copy(grown, t.entries)
		t.entries = grown
	}
	t.entries = t.entries[:len(t.entries)+1]
	return int32(len(t.entries) - 1)
}

// remove deletes entry i and counts why.
func (t *Table) remove(i int32, why RemoveReason) {
	e := &t.entries[i]
	t.unkey(i)
	if e.flags&flagEnded != 0 {
		t.linger.remove(t.entries, i)
	} else {
		t.lru.remove(t.entries, i)
	}
	// Unlink from the call; a call is a handful of entries.
	if c, ok := t.calls[e.callID]; ok {
		if c.first == i {
			c.first = e.callNext
		} else {
			for j := c.first; j >= 0; j = t.entries[j].callNext {
				if t.entries[j].callNext == i {
					t.entries[j].callNext = e.callNext
					break
				}
			}
		}
		if c.n--; c.n <= 0 {
			delete(t.calls, e.callID)
		} else {
			t.calls[e.callID] = c
		}
	}
	*e = Entry{next: t.free, prev: -1, callNext: -1}
	t.free = i
	t.n--
	t.stats.Removed[why]++
}

// unkey takes entry i's addresses out of the key map, where they are still
// its own.
func (t *Table) unkey(i int32) {
	e := &t.entries[i]
	if v, ok := t.keys.get(e.rtp); ok && v == keyVal(i, false) {
		t.keys.del(e.rtp)
	}
	if e.flags&flagRTCPKey != 0 {
		if v, ok := t.keys.get(e.rtcp); ok && v == keyVal(i, true) {
			t.keys.del(e.rtcp)
		}
		e.flags &^= flagRTCPKey
	}
}

// claim maps address k to entry i, as RTP or RTCP, and reports whether it
// did. An address belongs to one stream at a time, the one described last:
// ports are reused by the next call, often before the probe saw the old
// one end. So an RTP claim evicts an entry holding the address for RTP and
// takes it from one holding it for RTCP. An RTCP claim takes it from
// another RTCP holder but never from an RTP one, since most RTCP addresses
// are a guess (port + 1) and an RTP address is what a description says.
func (t *Table) claim(i int32, k key, rtcp bool) bool {
	v := keyVal(i, rtcp)
	if old, ok := t.keys.get(k); ok && old != v {
		j := int32(old >> 1)
		switch {
		case old&1 == 0 && rtcp:
			return false
		case old&1 == 0:
			t.remove(j, RemovedReplaced)
		default:
			t.entries[j].flags &^= flagRTCPKey
		}
	}
	t.keys.set(k, v)
	return true
}

// stalest returns the least recently refreshed entry of the call whose
// newest entry is first.
func (t *Table) stalest(first int32) int32 {
	best := first
	for j := first; j >= 0; j = t.entries[j].callNext {
		if t.entries[j].atUS < t.entries[best].atUS {
			best = j
		}
	}
	return best
}
