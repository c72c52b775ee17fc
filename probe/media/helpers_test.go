package media

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func crlf(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func newTable(t testing.TB, opts ...Opt) *Table {
	t.Helper()
	tb, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func learn(t testing.TB, tb *Table, tsUS int64, callID string, offer bool, body []byte, sender string) {
	t.Helper()
	var s netip.Addr
	if sender != "" {
		s = netip.MustParseAddr(sender)
	}
	if err := tb.Learn(tsUS, []byte(callID), offer, body, s); err != nil {
		t.Fatalf("Learn(%s): %v", callID, err)
	}
	if err := check(tb); err != nil {
		t.Fatalf("after Learn(%s): %v", callID, err)
	}
}

// mustLookup looks dst up and checks the call, stream and kind it maps to.
func mustLookup(t testing.TB, tb *Table, dst string, callID string, media int, rtcp bool) *Entry {
	t.Helper()
	e, isRTCP, ok := tb.Lookup(ap(dst))
	if !ok {
		t.Fatalf("Lookup(%s): not found", dst)
	}
	if e.CallID() != callID || e.MediaIndex() != media || isRTCP != rtcp {
		t.Fatalf("Lookup(%s) = call %q media %d rtcp %v; want %q %d %v", dst, e.CallID(), e.MediaIndex(), isRTCP, callID, media, rtcp)
	}
	return e
}

func mustMiss(t testing.TB, tb *Table, dst string) {
	t.Helper()
	if e, _, ok := tb.Lookup(ap(dst)); ok {
		t.Fatalf("Lookup(%s) = call %q media %d, want no match", dst, e.CallID(), e.MediaIndex())
	}
}

func codecs(e *Entry) string {
	var b strings.Builder
	for pt, c := range e.Codecs() {
		fmt.Fprintf(&b, "%d:%s/%d ", pt, c.Name, c.Clock)
	}
	return strings.TrimSpace(b.String())
}

// check verifies the table's internal consistency: every key names a live
// entry holding that key, every live entry is in exactly one list and in
// its call's list, and the counts agree.
func check(t *Table) error {
	used := 0
	for i := range t.entries {
		if t.entries[i].flags&flagUsed != 0 {
			used++
		}
	}
	if used != t.n {
		return fmt.Errorf("%d used slots, n = %d", used, t.n)
	}
	if t.n > t.maxEntries || len(t.entries) > t.maxEntries {
		return fmt.Errorf("n %d, slab %d over MaxEntries %d", t.n, len(t.entries), t.maxEntries)
	}
	all := make(map[key]uint32)
	for k4, v := range t.keys.v4 {
		k := keyOf(netip.AddrFrom4([4]byte{byte(k4 >> 40), byte(k4 >> 32), byte(k4 >> 24), byte(k4 >> 16)}), uint16(k4))
		if k.v4() != k4 || !k.is4() {
			return fmt.Errorf("v4 key %x round trip %x", k4, k.v4())
		}
		all[k] = v
	}
	for k, v := range t.keys.v6 {
		if k.is4() {
			return fmt.Errorf("IPv4 key %v in the IPv6 map", k.addrPort())
		}
		all[k] = v
	}
	for k, v := range all {
		i := int32(v >> 1)
		if int(i) >= len(t.entries) {
			return fmt.Errorf("key %v: index %d out of range", k.addrPort(), i)
		}
		e := &t.entries[i]
		if e.flags&flagUsed == 0 {
			return fmt.Errorf("key %v names a free slot %d", k.addrPort(), i)
		}
		if v&1 == 0 && e.rtp != k || v&1 == 1 && (e.rtcp != k || e.flags&flagRTCPKey == 0) {
			return fmt.Errorf("key %v (rtcp %v) names entry %d holding rtp %v rtcp %v", k.addrPort(), v&1, i, e.rtp.addrPort(), e.rtcp.addrPort())
		}
	}
	for i := range t.entries {
		e := &t.entries[i]
		if e.flags&flagUsed == 0 {
			continue
		}
		if v, ok := t.keys.get(e.rtp); ok && v&1 == 0 && int32(v>>1) != int32(i) {
			return fmt.Errorf("entry %d's RTP address %v names entry %d", i, e.rtp.addrPort(), v>>1)
		}
		if v, ok := t.keys.get(e.rtcp); e.flags&flagRTCPKey != 0 && (!ok || v != keyVal(int32(i), true)) {
			return fmt.Errorf("entry %d's RTCP address %v is not its own", i, e.rtcp.addrPort())
		}
	}
	inList := make(map[int32]bool)
	for _, l := range []struct {
		l     list
		ended bool
	}{{t.lru, false}, {t.linger, true}} {
		prev := int32(-1)
		for i := l.l.head; i >= 0; i = t.entries[i].next {
			e := &t.entries[i]
			if inList[i] || e.flags&flagUsed == 0 || (e.flags&flagEnded != 0) != l.ended || e.prev != prev {
				return fmt.Errorf("list corrupt at %d", i)
			}
			inList[i] = true
			prev = i
		}
		if l.l.tail != prev {
			return fmt.Errorf("list tail %d, last %d", l.l.tail, prev)
		}
	}
	if len(inList) != t.n {
		return fmt.Errorf("%d entries in lists, n = %d", len(inList), t.n)
	}
	inCall := 0
	for id, c := range t.calls {
		n := int32(0)
		for i := c.first; i >= 0; i = t.entries[i].callNext {
			e := &t.entries[i]
			if e.flags&flagUsed == 0 || e.callID != id || (e.flags&flagEnded != 0) != c.ended {
				return fmt.Errorf("call %q: entry %d is %q, flags %b", id, i, e.callID, e.flags)
			}
			if e.idx != i {
				return fmt.Errorf("entry %d has idx %d", i, e.idx)
			}
			n++
		}
		if n != c.n || n == 0 || n > maxPerCall {
			return fmt.Errorf("call %q: %d entries, record says %d", id, n, c.n)
		}
		inCall += int(n)
	}
	if inCall != t.n {
		return fmt.Errorf("%d entries in calls, n = %d", inCall, t.n)
	}
	return nil
}
