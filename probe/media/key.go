package media

import (
	"encoding/binary"
	"net/netip"
)

// key is a transport address as entries hold it. netip.AddrPort would do
// (it is comparable), but it carries a zone pointer and 32 bytes; this is
// 18 bytes without pointers. IPv4 and IPv4-mapped IPv6 addresses meet in
// one key: a dual-stack endpoint announcing ::ffff:a.b.c.d receives IPv4
// packets.
type key struct {
	a    [16]byte
	port uint16
}

func (k key) is4() bool {
	return k.a[10] == 0xff && k.a[11] == 0xff && binary.BigEndian.Uint64(k.a[:8]) == 0 && k.a[8] == 0 && k.a[9] == 0
}

// v4 packs an IPv4 key as keyMap.v4 holds it.
func (k key) v4() uint64 { return v4Key([4]byte(k.a[12:16]), k.port) }

func v4Key(a [4]byte, port uint16) uint64 {
	return uint64(binary.BigEndian.Uint32(a[:]))<<16 | uint64(port)
}

// keyMap maps addresses to entries. IPv4 addresses, nearly all of a
// trunk's media, go in a map keyed by a uint64 (address << 16 | port): Go
// maps have a specialised implementation for 8-byte keys that looks up
// several times faster than the generic one an 18-byte struct gets (14 ns
// against 45 to 80 here), and its slots are 16 bytes instead of 24.
// Neither map holds pointers, so the garbage collector does not scan them.
type keyMap struct {
	v4 map[uint64]uint32
	v6 map[key]uint32
}

func newKeyMap() keyMap { return keyMap{make(map[uint64]uint32), make(map[key]uint32)} }

func (m *keyMap) get(k key) (uint32, bool) {
	if k.is4() {
		v, ok := m.v4[k.v4()]
		return v, ok
	}
	v, ok := m.v6[k]
	return v, ok
}

func (m *keyMap) set(k key, v uint32) {
	if k.is4() {
		m.v4[k.v4()] = v
	} else {
		m.v6[k] = v
	}
}

func (m *keyMap) del(k key) {
	if k.is4() {
		delete(m.v4, k.v4())
	} else {
		delete(m.v6, k)
	}
}

func (m *keyMap) len() int { return len(m.v4) + len(m.v6) }

func keyOf(a netip.Addr, port uint16) key { return key{a.Unmap().As16(), port} }

func (k key) addrPort() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16(k.a).Unmap(), k.port)
}

// Map values are an entry index shifted left, with the low bit set for an
// RTCP address.
func keyVal(i int32, rtcp bool) uint32 {
	v := uint32(i) << 1
	if rtcp {
		v |= 1
	}
	return v
}

// list is a doubly linked list of entries through their prev and next
// indexes; -1 ends it.
type list struct{ head, tail int32 }

func newList() list { return list{-1, -1} }

func (l *list) pushBack(es []Entry, i int32) {
	e := &es[i]
	e.prev, e.next = l.tail, -1
	if l.tail >= 0 {
		es[l.tail].next = i
	} else {
		l.head = i
	}
	l.tail = i
}

func (l *list) remove(es []Entry, i int32) {
	e := &es[i]
	if e.prev >= 0 {
		es[e.prev].next = e.next
	} else {
		l.head = e.next
	}
	if e.next >= 0 {
		es[e.next].prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (l *list) moveToBack(es []Entry, i int32) {
	if l.tail == i {
		return
	}
	l.remove(es, i)
	l.pushBack(es, i)
}
