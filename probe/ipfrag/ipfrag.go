// Package ipfrag reassembles IPv4 (RFC 791 §3.2) and IPv6 (RFC 8200 §4.5)
// datagrams from their fragments, for a passive probe: it never answers
// (no ICMP Time Exceeded, no Parameter Problem), it keeps bounded state
// whatever the traffic, and it counts every datagram it gives up on by
// reason.
//
// A SIP INVITE with a large SDP body (or a 183 with several codecs, or a
// NOTIFY with a big XML body) exceeds a 1500-byte MTU often enough that a
// probe which drops fragments loses calls. Everything else about
// fragmentation is hostile ground (RFC 1858, RFC 3128, FragmentSmack
// CVE-2018-5391), so the rules follow the Linux stack since 4.19, which
// follows RFC 5722 for both IP versions:
//
//   - A fragment that overlaps one already held drops the whole datagram
//     (RFC 5722 §4). A fragment identical in position to one held is a
//     duplicate (the same packet seen twice) and is ignored (RFC 5722
//     errata 3089).
//   - A fragment that is not the last must carry a multiple of 8 bytes
//     (RFC 8200 §4.5; RFC 791 offsets count 8-byte units), and no fragment
//     may reach past the end the last fragment set, nor may two last
//     fragments disagree: either drops the datagram.
//   - A datagram may not exceed 65,535 bytes of payload (the IPv4 total
//     length field and the IPv6 payload length field are 16 bits; the
//     "ping of death" is a reassembly past that).
//   - Time runs on capture timestamps, so a replayed capture reassembles as
//     the live traffic did: a datagram still incomplete Timeout after its
//     first fragment is dropped (Linux ipfrag_time, 30 s).
//
// A datagram that was dropped stays in the table, empty, until its timeout,
// so that its remaining fragments are absorbed rather than starting a new
// datagram that would be counted a second time (Linux does the same).
//
// State is bounded three ways: MaxDatagrams in progress, MaxBytes of
// reassembly buffers in total (the oldest datagram is evicted to make room,
// as an attacker's incomplete datagrams are the old ones), and at most
// MaxFragments fragments per datagram.
package ipfrag

import (
	"fmt"
	"net/netip"
	"time"
)

// MaxDatagramLen is the largest payload a reassembled datagram may have.
const MaxDatagramLen = 65535

// MaxFragments bounds the fragments of one datagram. A 64 KiB datagram
// needs 45 fragments over Ethernet and 53 at the IPv6 minimum MTU of 1280;
// only deliberately tiny fragments need more, and each costs a span in the
// overlap check.
const MaxFragments = 256

// Config bounds a Reassembler. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	// MaxDatagrams caps the datagrams in progress (default 1024); beyond
	// it the oldest is evicted.
	MaxDatagrams int
	// MaxBytes caps the reassembly buffers of all datagrams in progress
	// together (default 4 MiB, Linux's ipfrag_high_thresh); at least
	// MaxDatagramLen, so that one datagram always fits.
	MaxBytes int
	// Timeout drops a datagram still incomplete this long after its first
	// fragment, in capture time (default 30 s, Linux's ipfrag_time).
	Timeout time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{MaxDatagrams: 1024, MaxBytes: 4 << 20, Timeout: 30 * time.Second}
}

// Fragment is one fragment as decoded from its packet.
type Fragment struct {
	Src, Dst netip.Addr
	ID       uint32
	// Proto is the IPv4 Protocol field, or the Next Header field of the
	// IPv6 Fragment header.
	Proto uint8
	// Offset is the fragment's position in bytes; More is the MF / M flag.
	Offset int
	More   bool
	// Data is the fragment's payload; Add copies it.
	Data []byte
}

// key identifies a datagram: source, destination, protocol and
// identification for IPv4 (RFC 791 §3.2); source, destination and
// identification for IPv6 (RFC 8200 §4.5), where proto stays 0 because the
// fragments' Next Header values may differ.
type key struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
}

// span is one fragment held: bytes [start, end) of the datagram.
type span struct{ start, end int }

type datagram struct {
	key     key
	firstUS int64
	buf     []byte // grown up to the highest end seen; cap counts in Reassembler.bytes
	reuse   []byte // a spare buffer for grow, not counted
	spans   []span
	got     int // bytes held; with no overlaps allowed, got == total means complete
	total   int // the payload length, -1 until the last fragment came
	maxEnd  int
	proto   uint8 // the offset-zero fragment's protocol
	// dead marks a datagram dropped and kept only to absorb its remaining
	// fragments until its timeout.
	dead         bool
	older, newer *datagram
}

// Stats counts fragments and what became of their datagrams. The drop
// reasons count datagrams, except BadLength, which also counts a malformed
// fragment that arrived before any other of its datagram.
type Stats struct {
	Fragments   uint64 // fragments given to Add
	Reassembled uint64 // datagrams completed
	Duplicates  uint64 // fragments identical in position to one held, ignored
	Absorbed    uint64 // fragments of a datagram already dropped

	Timeouts  uint64 // incomplete after Timeout
	Overlaps  uint64 // a fragment overlapped another (RFC 5722)
	TooBig    uint64 // a fragment reached past MaxDatagramLen
	BadLength uint64 // a non-last fragment not a multiple of 8, an empty one, or disagreeing ends
	TooMany   uint64 // more than MaxFragments fragments
	Evicted   uint64 // evicted for MaxDatagrams or MaxBytes

	// Open is the number of datagrams in progress (dropped ones waiting
	// for their timeout included) and Bytes the reassembly buffer bytes
	// they hold, now.
	Open, Bytes int
}

// Reassembler reassembles datagrams. It is not safe for concurrent use.
type Reassembler struct {
	cfg       Config
	timeoutUS int64
	table     map[key]*datagram
	// oldest and newest end the list of datagrams in order of their first
	// fragment: expiry and eviction take from the old end.
	oldest, newest *datagram
	bytes          int
	// spare holds datagrams (with their buffers) for reuse, bounded by
	// maxSpare, so steady fragmented traffic does not allocate per
	// datagram.
	spare []*datagram
	stats Stats
}

// maxSpare bounds the datagrams kept for reuse: with their buffers at most
// maxSpare * 64 KiB outside MaxBytes.
const maxSpare = 4

// New returns a Reassembler bounded by c.
func New(c Config) (*Reassembler, error) {
	d := DefaultConfig()
	if c.MaxDatagrams == 0 {
		c.MaxDatagrams = d.MaxDatagrams
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = d.MaxBytes
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	switch {
	case c.MaxDatagrams < 1:
		return nil, fmt.Errorf("ipfrag: MaxDatagrams is %d, must be at least 1", c.MaxDatagrams)
	case c.MaxBytes < MaxDatagramLen:
		return nil, fmt.Errorf("ipfrag: MaxBytes is %d, must be at least %d", c.MaxBytes, MaxDatagramLen)
	case c.Timeout < 0:
		return nil, fmt.Errorf("ipfrag: Timeout is %v, must be positive", c.Timeout)
	}
	return &Reassembler{cfg: c, timeoutUS: c.Timeout.Microseconds(), table: make(map[key]*datagram)}, nil
}

// Stats returns the counters.
func (r *Reassembler) Stats() Stats {
	s := r.stats
	s.Open, s.Bytes = len(r.table), r.bytes
	return s
}

// Add adds the fragment f, captured at tsUS. When f completes its datagram,
// Add returns the datagram's payload (the IPv4 payload, or the IPv6
// fragmentable part) and the offset-zero fragment's Proto; otherwise nil.
// The payload aliases r's buffers: it is valid until the next call to Add.
func (r *Reassembler) Add(tsUS int64, f Fragment) ([]byte, uint8) {
	r.stats.Fragments++
	r.Expire(tsUS)
	k := key{src: f.Src, dst: f.Dst, id: f.ID}
	if f.Src.Is4() {
		k.proto = f.Proto
	}
	d := r.table[k]
	if d != nil && d.dead {
		r.stats.Absorbed++
		return nil, 0
	}
	end := f.Offset + len(f.Data)
	switch {
	case f.Offset < 0 || end > MaxDatagramLen:
		r.drop(d, &r.stats.TooBig)
		return nil, 0
	case f.More && (len(f.Data) == 0 || len(f.Data)%8 != 0):
		// RFC 8200 §4.5: the next fragment's offset, in 8-byte units,
		// could not follow this one.
		r.drop(d, &r.stats.BadLength)
		return nil, 0
	}
	if d == nil {
		d = r.open(k, tsUS)
	}
	switch {
	case !f.More && (d.total >= 0 && d.total != end || d.maxEnd > end):
		r.drop(d, &r.stats.BadLength) // two ends, or bytes past the end
		return nil, 0
	case f.More && d.total >= 0 && end > d.total:
		r.drop(d, &r.stats.BadLength)
		return nil, 0
	}
	for _, s := range d.spans {
		if s.start == f.Offset && s.end == end {
			r.stats.Duplicates++
			return nil, 0
		}
		if f.Offset < s.end && s.start < end {
			r.drop(d, &r.stats.Overlaps)
			return nil, 0
		}
	}
	if len(d.spans) >= MaxFragments {
		r.drop(d, &r.stats.TooMany)
		return nil, 0
	}
	if !f.More {
		d.total = end
	}
	r.grow(d, end)
	copy(d.buf[f.Offset:end], f.Data)
	d.spans = append(d.spans, span{f.Offset, end})
	d.got += len(f.Data)
	d.maxEnd = max(d.maxEnd, end)
	if f.Offset == 0 {
		d.proto = f.Proto
	}
	if d.total < 0 || d.got != d.total {
		return nil, 0
	}
	r.stats.Reassembled++
	out, proto := d.buf[:d.total], d.proto
	r.remove(d)
	return out, proto
}

// Expire drops the datagrams whose first fragment came more than Timeout
// before tsUS. Add calls it; a caller that wants timeouts counted promptly
// calls it for other packets too (it is a comparison when nothing is held).
func (r *Reassembler) Expire(tsUS int64) {
	for d := r.oldest; d != nil && tsUS-d.firstUS > r.timeoutUS; d = r.oldest {
		if !d.dead {
			r.stats.Timeouts++
		}
		r.remove(d)
	}
}

// open starts a datagram, evicting the oldest when the table is full.
func (r *Reassembler) open(k key, tsUS int64) *datagram {
	if len(r.table) >= r.cfg.MaxDatagrams {
		r.evict(r.oldest)
	}
	var d *datagram
	if n := len(r.spare); n > 0 {
		d, r.spare = r.spare[n-1], r.spare[:n-1]
	} else {
		d = new(datagram)
	}
	// A reused buffer counts in r.bytes only once grow takes it.
	*d = datagram{key: k, firstUS: tsUS, total: -1, reuse: d.buf[:0], spans: d.spans[:0]}
	r.table[k] = d
	d.older = r.newest
	if r.newest != nil {
		r.newest.newer = d
	} else {
		r.oldest = d
	}
	r.newest = d
	return d
}

// grow makes d.buf reach end, keeping r.bytes within MaxBytes by evicting
// the oldest other datagrams.
func (r *Reassembler) grow(d *datagram, end int) {
	if end <= len(d.buf) {
		return
	}
	if end <= cap(d.buf) {
		d.buf = d.buf[:end]
		return
	}
	// Double, so that fragments arriving in order copy the buffer a few
	// times rather than once each; but never past the known total or the
	// maximum.
	n := max(end, min(2*cap(d.buf), MaxDatagramLen))
	if d.total >= 0 {
		n = max(end, d.total)
	}
	var nb []byte
	if cap(d.reuse) >= n {
		nb, n = d.reuse[:end], cap(d.reuse)
	}
	d.reuse = nil
	for r.bytes+n-cap(d.buf) > r.cfg.MaxBytes && r.oldest != nil && r.oldest != d {
		r.evict(r.oldest)
	}
	for r.bytes+n-cap(d.buf) > r.cfg.MaxBytes && d.newer != nil {
		r.evict(d.newer) // d is the oldest: make room among the newer ones
	}
	if nb == nil {
		nb = make([]byte, end, n)
	}
	copy(nb, d.buf)
	r.bytes += n - cap(d.buf)
	d.buf = nb
}

// drop gives up on d (if any) for a reason, counted once.
func (r *Reassembler) drop(d *datagram, reason *uint64) {
	*reason++
	if d == nil {
		return
	}
	// Keep the entry, without its buffer, to absorb the rest.
	r.bytes -= cap(d.buf)
	d.buf, d.reuse, d.spans, d.dead = nil, nil, nil, true
}

func (r *Reassembler) evict(d *datagram) {
	if !d.dead {
		r.stats.Evicted++
	}
	r.remove(d)
}

// remove takes d out of the table and keeps it for reuse. A completed
// datagram's buffer stays intact until the next open, which is what lets
// Add return it.
func (r *Reassembler) remove(d *datagram) {
	delete(r.table, d.key)
	if d.older != nil {
		d.older.newer = d.newer
	} else {
		r.oldest = d.newer
	}
	if d.newer != nil {
		d.newer.older = d.older
	} else {
		r.newest = d.older
	}
	d.older, d.newer = nil, nil
	r.bytes -= cap(d.buf)
	if len(r.spare) < maxSpare {
		r.spare = append(r.spare, d)
	}
}
