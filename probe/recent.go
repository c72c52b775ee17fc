package probe

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"net/netip"
)

// recent remembers 64-bit hashes with the capture time they were last seen,
// for a window: the probe's duplicate filter (the same packet from two taps,
// microseconds apart) and its SIP retransmission table (the same message
// sent again, half a second to 32 s later) are both one.
//
// It is a fixed-size set-associative cache, allocated once: a hash picks a
// bucket of `ways` entries, and a new hash replaces the bucket's stalest
// entry. So a lookup touches one cache line, steady traffic allocates
// nothing, and a flood of distinct hashes costs no memory, only evictions,
// which are counted when the entry evicted was still within its window (the
// table was too small for the traffic: a duplicate or retransmission may go
// unrecognised).
type recent struct {
	ents     []recentEntry
	mask     uint64 // buckets - 1
	windowUS int64
}

// ways per bucket: 4 entries of 16 bytes fill one 64-byte cache line.
const ways = 4

type recentEntry struct {
	h    uint64 // 0 = empty
	tsUS int64
}

// Bounds on the entries of a recent table (options MaxDedupEntries,
// MaxRetransmissionEntries): one bucket at least; 16M entries are 256 MiB.
const (
	minRecent = ways
	maxRecent = 1 << 24
)

// newRecent returns a table of n entries (rounded up to a power of two),
// or nil when windowUS is 0 (the feature is off).
func newRecent(n int, windowUS int64) *recent {
	if windowUS <= 0 {
		return nil
	}
	b := 1
	for b*ways < n {
		b <<= 1
	}
	return &recent{ents: make([]recentEntry, b*ways), mask: uint64(b - 1), windowUS: windowUS}
}

// seen records h at tsUS and reports whether it had been seen within the
// window of tsUS (either side: captures merged from two taps are not
// strictly in time order), and whether recording it evicted an entry still
// within its window.
func (r *recent) seen(h uint64, tsUS int64) (hit, evicted bool) {
	if h == 0 {
		h = 1 // 0 marks an empty entry
	}
	i := (h & r.mask) * ways
	bucket := r.ents[i : i+ways : i+ways]
	victim := -1
	for w := range bucket {
		e := &bucket[w]
		if e.h == h {
			d := tsUS - e.tsUS
			hit = d <= r.windowUS && -d <= r.windowUS
			e.tsUS = max(e.tsUS, tsUS)
			return hit, false
		}
		// The victim is the first empty entry, else the stalest.
		switch {
		case victim < 0:
			victim = w
		case bucket[victim].h == 0:
		case e.h == 0 || e.tsUS < bucket[victim].tsUS:
			victim = w
		}
	}
	e := &bucket[victim]
	evicted = e.h != 0 && tsUS-e.tsUS <= r.windowUS
	*e = recentEntry{h: h, tsUS: tsUS}
	return false, evicted
}

// hasher derives the keys of the recent tables from packet and message
// fields with a per-probe random seed (hash/maphash): no state shared
// between probes, and keys an outsider cannot aim collisions at.
type hasher struct {
	seed maphash.Seed
	h    maphash.Hash
	buf  [64]byte
}

func newHasher() *hasher {
	s := maphash.MakeSeed()
	x := &hasher{seed: s}
	x.h.SetSeed(s)
	return x
}

// packet hashes what identifies one IP packet whatever the link layer it was
// captured on: addresses, protocol, fragment position (zero for whole
// packets) and the IP payload from the transport header on. The payload,
// the long part, goes through maphash (seeded); the fixed fields are
// multiplied by odd constants in parallel and folded in with one
// finaliser, which costs a few nanoseconds where a second maphash call
// costs twenty. (The transport checksum in the payload already depends on
// the addresses, RFC 768 and RFC 9293 pseudo-headers; mixing them in
// covers IPv4 UDP sent without one.)
func (x *hasher) packet(src, dst netip.Addr, proto uint8, fragID uint32, fragOff int, more bool, l4 []byte) uint64 {
	h := maphash.Bytes(x.seed, l4)
	s, d := src.As16(), dst.As16()
	f := uint64(proto) | uint64(fragID)<<8 | uint64(fragOff&0xffff)<<40
	if more {
		f |= 1 << 56
	}
	a := (binary.LittleEndian.Uint64(s[0:8])^bits.RotateLeft64(binary.LittleEndian.Uint64(s[8:16]), 29))*0x9e3779b97f4a7c15 +
		(binary.LittleEndian.Uint64(d[0:8])^bits.RotateLeft64(binary.LittleEndian.Uint64(d[8:16]), 31))*0xc2b2ae3d27d4eb4f +
		f*0x165667b19e3779f9
	return mix(h, a)
}

// mix folds v into h: xor, then the murmur3 fmix64 finaliser, whose every
// output bit depends on every input bit.
func mix(h, v uint64) uint64 {
	h ^= v
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// message hashes a SIP message's transaction identity for the
// retransmission table: the hop (source and destination), Call-ID, CSeq
// number and method, and the method or the status with the To tag (forked
// responses from different UASs differ in it). A retransmission repeats
// all of these (RFC 3261 §17.1.1.2, §17.2.1); a proxy forwarding the
// message is another hop, and a new transaction has another CSeq.
func (x *hasher) message(src, dst netip.AddrPort, callID, cseqMethod []byte, cseq uint32, method []byte, status uint16, toTag []byte) uint64 {
	h := &x.h
	h.Reset()
	b := x.buf[:]
	s, d := src.Addr().As16(), dst.Addr().As16()
	copy(b[0:16], s[:])
	binary.LittleEndian.PutUint16(b[16:18], src.Port())
	copy(b[18:34], d[:])
	binary.LittleEndian.PutUint16(b[34:36], dst.Port())
	binary.LittleEndian.PutUint32(b[36:40], cseq)
	binary.LittleEndian.PutUint16(b[40:42], status)
	// The lengths keep the variable fields apart (no two messages hash
	// the same bytes by shifting a boundary).
	binary.LittleEndian.PutUint32(b[42:46], uint32(len(callID)))
	binary.LittleEndian.PutUint32(b[46:50], uint32(len(cseqMethod)))
	binary.LittleEndian.PutUint32(b[50:54], uint32(len(method)))
	binary.LittleEndian.PutUint32(b[54:58], uint32(len(toTag)))
	h.Write(b[:58])
	h.Write(callID)
	h.Write(cseqMethod)
	h.Write(method)
	h.Write(toTag)
	return h.Sum64()
}
