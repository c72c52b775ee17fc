package mediatrack

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"net/netip"

	"github.com/trunkscope/trunkscope/probe/rtp"
)

// stream is one tracked RTP stream: the rtp.Stream (448 bytes) and 32
// bytes of metadata, 480 in all (TestMemoryPerStream). Everything that
// several streams share lives elsewhere and is referenced by index: the
// Call-ID (calls), the codec name (codecs), IPv6 addresses (v6).
type stream struct {
	// st comes first: with the metadata first instead, the packet path
	// measured 15 % slower (BenchmarkRTPPacket), though the index and
	// the sweep then read one cache line less.
	st rtp.Stream

	// a and b are the IPv4 source and destination, big-endian; with
	// flagV6, a indexes Tracker.v6, which holds both addresses. Keeping
	// IPv4 inline and IPv6 aside saves 24 bytes on every IPv4 stream.
	a, b         uint32
	sport, dport uint16
	// call indexes Tracker.calls, -1 for a heuristic stream; while the
	// slot is unused it links the free list.
	call int32
	// lastMS is the capture time of the latest packet and nextMS the
	// next interval boundary, in milliseconds since Tracker.baseUS,
	// compared modulo 2^32 (exact for spans under 24 days).
	lastMS, nextMS uint32
	// seq counts the interval reports made: the next report's Seq.
	seq   uint32
	codec uint16 // index in Tracker.codecs, 0 for unknown
	pt    uint8  // the payload type the codec is for
	flags uint8
}

const (
	flagUsed uint8 = 1 << iota
	flagV6
	flagHeuristic
	flagFromCaller // event.DirFromCaller
	flagToCaller   // event.DirToCaller
)

// Streams live in chunks of chunkLen records that never move, so that the
// slab grows without copying 480-byte records or leaving append's slack
// (up to a quarter of the slab) unused; only the first chunk grows, by
// doubling, so that a small Tracker stays small.
const (
	chunkBits = 8
	chunkLen  = 1 << chunkBits
)

func (t *Tracker) rec(i int32) *stream { return &t.chunks[i>>chunkBits][i&(chunkLen-1)] }

// alloc returns a free stream slot.
func (t *Tracker) alloc() int32 {
	t.n++
	if i := t.free; i >= 0 {
		t.free = t.rec(i).call
		return i
	}
	i := int32(t.hi)
	t.hi++
	c := int(i >> chunkBits)
	switch {
	case c == len(t.chunks):
		t.chunks = append(t.chunks, make([]stream, chunkLen))
		if c == 0 {
			t.chunks[0] = make([]stream, 8)
		}
	case c == 0 && int(i) == len(t.chunks[0]):
		grown := make([]stream, min(2*len(t.chunks[0]), chunkLen))
		copy(grown, t.chunks[0])
		t.chunks[0] = grown
	}
	return i
}

// release returns slot i, whose stream has left the index, to the free
// list.
func (t *Tracker) release(i int32) {
	r := t.rec(i)
	if r.flags&flagV6 != 0 {
		*t.pair(r.a) = addrPair{}
		t.v6Free = append(t.v6Free, r.a)
	}
	if r.call >= 0 {
		t.unrefCall(r.call)
	}
	*r = stream{call: t.free}
	t.free = i
	t.n--
}

// addrPair holds an IPv6 stream's addresses.
type addrPair struct{ src, dst [16]byte }

// v6Chunk is how many address pairs are allocated at a time: growing in
// fixed chunks instead of by append keeps the unused slack to one chunk
// (append grows large slices by a quarter, 8 bytes a stream on average,
// which took IPv6 streams past the 512-byte budget).
const v6Chunk = 1024

// pair returns address pair i.
func (t *Tracker) pair(i uint32) *addrPair { return &t.v6[i/v6Chunk][i%v6Chunk] }

func (t *Tracker) newPair(src, dst [16]byte) uint32 {
	if n := len(t.v6Free); n > 0 {
		i := t.v6Free[n-1]
		t.v6Free = t.v6Free[:n-1]
		*t.pair(i) = addrPair{src, dst}
		return i
	}
	i := t.v6N
	if int(i/v6Chunk) == len(t.v6) {
		t.v6 = append(t.v6, new([v6Chunk]addrPair))
	}
	t.v6N++
	*t.pair(i) = addrPair{src, dst}
	return i
}

// addrs returns a stream's source and destination.
func (t *Tracker) addrs(r *stream) (src, dst netip.AddrPort) {
	if r.flags&flagV6 != 0 {
		p := t.pair(r.a)
		return netip.AddrPortFrom(netip.AddrFrom16(p.src), r.sport), netip.AddrPortFrom(netip.AddrFrom16(p.dst), r.dport)
	}
	var a, b [4]byte
	binary.BigEndian.PutUint32(a[:], r.a)
	binary.BigEndian.PutUint32(b[:], r.b)
	return netip.AddrPortFrom(netip.AddrFrom4(a), r.sport), netip.AddrPortFrom(netip.AddrFrom4(b), r.dport)
}

// key is a packet's stream key, in the form the index hashes. Zones are
// dropped: captured addresses have none.
type key struct {
	v6     bool
	a, b   uint32   // IPv4
	s6, d6 [16]byte // IPv6
	ports  uint32   // source << 16 | destination
	ssrc   uint32
}

func makeKey(src, dst netip.AddrPort, ssrc uint32, k *key) {
	sa, da := src.Addr(), dst.Addr()
	k.ports, k.ssrc = uint32(src.Port())<<16|uint32(dst.Port()), ssrc
	if sa.Is4() && da.Is4() {
		s, d := sa.As4(), da.As4()
		k.v6, k.a, k.b = false, binary.BigEndian.Uint32(s[:]), binary.BigEndian.Uint32(d[:])
		return
	}
	k.v6, k.s6, k.d6 = true, sa.As16(), da.As16()
}

// mix is the multiply-fold of wyhash: the 128-bit product's halves xored.
// With secret per-Tracker keys xored into the inputs, an attacker who
// chooses ports and SSRCs cannot aim streams at one slot.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (t *Tracker) hash(k *key) uint64 {
	pp := uint64(k.ports)<<32 | uint64(k.ssrc)
	if !k.v6 {
		return mix(uint64(k.a)<<32|uint64(k.b)^t.keys[0], pp^t.keys[1])
	}
	h1 := mix(binary.LittleEndian.Uint64(k.s6[:8])^t.keys[2], binary.LittleEndian.Uint64(k.s6[8:])^t.keys[3])
	h2 := mix(binary.LittleEndian.Uint64(k.d6[:8])^t.keys[4], binary.LittleEndian.Uint64(k.d6[8:])^t.keys[5])
	return mix(h1^pp^t.keys[0], h2^t.keys[1])
}

// recHash is the hash of stream i's key, for moving it in the index.
func (t *Tracker) recHash(i int32) uint64 {
	r := t.rec(i)
	k := key{a: r.a, b: r.b, ports: uint32(r.sport)<<16 | uint32(r.dport), ssrc: r.st.SSRC()}
	if r.flags&flagV6 != 0 {
		p := t.pair(r.a)
		k.v6, k.s6, k.d6 = true, p.src, p.dst
	}
	return t.hash(&k)
}

// The stream index is Robin Hood hashing (Celis, 1986) over 32-bit slots:
// the stream's slot index + 1 in the low 21 bits (0 is empty), the entry's
// distance from its home slot in the next 6, and 5 bits of its hash above.
// A lookup reads a record only for entries with the same home and tag, and
// stops at the first entry closer to its home than the key would be; a
// removal shifts the run behind it back by one, rewriting distances,
// without rehashing (reading) any record. At most 7/8 full, the index
// costs 4.6 to 9.1 bytes a stream; a Go map with the key inline, some 70.
const (
	slotIdxBits = 21
	slotIdx     = 1<<slotIdxBits - 1
	distShift   = slotIdxBits
	maxDist     = 1<<6 - 1
	tagShift    = slotIdxBits + 6
	slotTag     = uint32(1<<32 - 1<<tagShift)
	minSlots    = 64
)

func tagOf(h uint64) uint32     { return uint32(h>>(64-(32-tagShift))) << tagShift }
func slotDist(v uint32) uint32  { return v >> distShift & maxDist }
func slotStream(v uint32) int32 { return int32(v&slotIdx) - 1 }

// find returns the stream with key k and hash h, -1 if none.
func (t *Tracker) find(k *key, h uint64) int32 {
	s := t.index.s
	mask := uint64(len(s) - 1)
	tag := tagOf(h)
	pos := h & mask
	for d := uint32(0); ; d++ {
		v := s[pos]
		// Robin Hood keeps every run sorted by distance: an entry
		// closer to home than d means the key would have been here.
		if v == 0 || slotDist(v) < d {
			return -1
		}
		if slotDist(v) == d && v&slotTag == tag {
			j := slotStream(v)
			r := t.rec(j)
			if uint32(r.sport)<<16|uint32(r.dport) == k.ports && r.st.SSRC() == k.ssrc {
				if !k.v6 {
					if r.flags&flagV6 == 0 && r.a == k.a && r.b == k.b {
						return j
					}
				} else if r.flags&flagV6 != 0 && t.pair(r.a).src == k.s6 && t.pair(r.a).dst == k.d6 {
					return j
				}
			}
		}
		pos = (pos + 1) & mask
	}
}

// index is the Robin Hood table; the slab holds the keys.
type index struct {
	s []uint32
	n int
}

// insert adds stream i with hash h. It returns false when an entry would
// be more than maxDist from home: the table has then lost an entry and
// must be rebuilt larger.
func (x *index) insert(h uint64, i int32) bool {
	mask := uint64(len(x.s) - 1)
	pos := h & mask
	v := tagOf(h) | uint32(i+1)
	for {
		cur := x.s[pos]
		if cur == 0 {
			x.s[pos] = v
			x.n++
			return true
		}
		if slotDist(cur) < slotDist(v) {
			x.s[pos], v = v, cur // take from the rich
		}
		if slotDist(v) == maxDist {
			return false
		}
		v += 1 << distShift
		pos = (pos + 1) & mask
	}
}

// remove deletes stream i, whose hash is h, and shifts the entries behind
// it that are away from home one slot back.
func (x *index) remove(h uint64, i int32) {
	mask := uint64(len(x.s) - 1)
	pos := h & mask
	for x.s[pos]&slotIdx != uint32(i+1) {
		if x.s[pos] == 0 {
			return // not there
		}
		pos = (pos + 1) & mask
	}
	for {
		next := (pos + 1) & mask
		v := x.s[next]
		if v == 0 || slotDist(v) == 0 {
			x.s[pos] = 0
			break
		}
		x.s[pos] = v - 1<<distShift
		pos = next
	}
	x.n--
}

// indexAdd puts stream i, whose hash is h, in the index, growing the index
// first if it would be over 7/8 full.
func (t *Tracker) indexAdd(i int32, h uint64) {
	switch n := len(t.index.s); {
	case (t.index.n+1)*8 > n*7:
		t.rebuild(max(2*n, minSlots)) // i is in the slab already
	case !t.index.insert(h, i):
		t.rebuild(2 * n)
	}
}

// rebuild makes an index of n slots (a power of two) from the slab, and
// doubles n until no entry is more than maxDist from home, which at 7/8
// full takes an astronomically unlucky hash.
func (t *Tracker) rebuild(n int) {
	for {
		t.index = index{s: make([]uint32, n)}
		ok := true
		t.each(func(_ *stream, i int32) { ok = ok && t.index.insert(t.recHash(i), i) })
		if ok {
			return
		}
		n *= 2
	}
}

// slots is an open-addressing table with linear probing of 32-bit
// values, at most 7/8 full; the caller keeps the keys and hashes them
// again when values move. The call index uses it: calls come and go at a
// fraction of the packet rate.
type slots struct {
	s []uint32
	n int
}

// insert adds v with hash h, growing the table first if it would be over
// 7/8 full; hashOf rehashes the values already in.
func (o *slots) insert(h uint64, v uint32, hashOf func(uint32) uint64) {
	if (o.n+1)*8 > len(o.s)*7 {
		o.resize(max(2*len(o.s), minSlots), hashOf)
	}
	mask := uint64(len(o.s) - 1)
	i := h & mask
	for o.s[i] != 0 {
		i = (i + 1) & mask
	}
	o.s[i] = v
	o.n++
}

func (o *slots) resize(n int, hashOf func(uint32) uint64) {
	old := o.s
	o.s = make([]uint32, n)
	mask := uint64(n - 1)
	for _, v := range old {
		if v == 0 {
			continue
		}
		i := hashOf(v) & mask
		for o.s[i] != 0 {
			i = (i + 1) & mask
		}
		o.s[i] = v
	}
}

// remove deletes the value whose masked bits equal want (h is its hash),
// shifting later values of its probe run back into the hole (Knuth's
// Algorithm R), so that the table needs no tombstones.
func (o *slots) remove(h uint64, want, mask32 uint32, hashOf func(uint32) uint64) {
	mask := uint64(len(o.s) - 1)
	hole := h & mask
	for o.s[hole]&mask32 != want {
		if o.s[hole] == 0 {
			return // not there: nothing to do
		}
		hole = (hole + 1) & mask
	}
	for j := (hole + 1) & mask; o.s[j] != 0; j = (j + 1) & mask {
		home := hashOf(o.s[j]) & mask
		// The value at j may fill the hole unless its home lies
		// cyclically in (hole, j]: it would then sit before its home.
		if (j-home)&mask >= (j-hole)&mask {
			o.s[hole] = o.s[j]
			hole = j
		}
	}
	o.s[hole] = 0
	o.n--
}

// callRec is a call's shared record: its streams hold its index, not a
// copy of the Call-ID. The id string is the media.Table entry's own copy
// (Entry.CallID), shared, not copied again.
type callRec struct {
	id    string
	byeMS uint32 // the BYE's capture time, with callEnded
	// state is the number of streams referencing the record << 1, and
	// callEnded; while the record is free, it links the free list.
	state uint32
}

const callEnded = 1

func (c *callRec) refs() uint32 { return c.state >> 1 }
func (c *callRec) ended() bool  { return c.state&callEnded != 0 }

// findCall returns the record of Call-ID id, -1 if none. id is a string
// or bytes; the comparison and the hash allocate nothing.
func (t *Tracker) findCall(id []byte) int32 {
	if len(t.callSlots.s) == 0 {
		return -1
	}
	return findCallHash(t, maphash.Bytes(t.seed, id), id)
}

func findCallHash[T string | []byte](t *Tracker, h uint64, id T) int32 {
	s := t.callSlots.s
	mask := uint64(len(s) - 1)
	for i := h & mask; s[i] != 0; i = (i + 1) & mask {
		if j := int32(s[i]) - 1; t.calls[j].id == string(id) {
			return j
		}
	}
	return -1
}

// refCall returns the record of Call-ID id with one more stream on it,
// creating it if need be. ended marks the call ended at nowMS if it was
// not: media that starts after the BYE (the table still maps it while its
// entries linger).
func (t *Tracker) refCall(id string, ended bool, nowMS uint32) int32 {
	h := maphash.String(t.seed, id)
	i := int32(-1)
	if len(t.callSlots.s) > 0 {
		i = findCallHash(t, h, id)
	}
	if i < 0 {
		if i = t.callFree; i >= 0 {
			t.callFree = int32(t.calls[i].state)
			t.calls[i] = callRec{id: id}
		} else {
			t.calls = append(t.calls, callRec{id: id})
			i = int32(len(t.calls) - 1)
		}
		t.callSlots.insert(h, uint32(i+1), t.callHash)
	}
	c := &t.calls[i]
	c.state += 2
	if ended && !c.ended() {
		c.state |= callEnded
		c.byeMS = nowMS
	}
	return i
}

func (t *Tracker) callHash(v uint32) uint64 { return maphash.String(t.seed, t.calls[v-1].id) }

func (t *Tracker) unrefCall(i int32) {
	c := &t.calls[i]
	if c.state -= 2; c.refs() > 0 {
		return
	}
	t.callSlots.remove(maphash.String(t.seed, c.id), uint32(i+1), ^uint32(0), t.callHash)
	*c = callRec{state: uint32(t.callFree)}
	t.callFree = i
}
