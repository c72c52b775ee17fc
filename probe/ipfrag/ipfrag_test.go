package ipfrag

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var (
	a4 = netip.MustParseAddr("192.0.2.1")
	b4 = netip.MustParseAddr("192.0.2.2")
	a6 = netip.MustParseAddr("2001:db8::1")
	b6 = netip.MustParseAddr("2001:db8::2")
)

func newR(t testing.TB, c Config) *Reassembler {
	t.Helper()
	r, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// split cuts payload into fragments of size bytes (a multiple of 8).
func split(src, dst netip.Addr, id uint32, payload []byte, size int) []Fragment {
	var out []Fragment
	for off := 0; off < len(payload); off += size {
		end := min(off+size, len(payload))
		out = append(out, Fragment{Src: src, Dst: dst, ID: id, Proto: 17, Offset: off, More: end < len(payload), Data: payload[off:end]})
	}
	return out
}

func payload(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestShuffled reassembles datagrams of many sizes from fragments in random
// order with random duplicates: each completes exactly once, at its last
// missing fragment, and equals the original.
func TestShuffled(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	r := newR(t, Config{})
	for i := range 500 {
		src, dst := a4, b4
		if i%2 == 1 {
			src, dst = a6, b6
		}
		want := payload(1+rng.IntN(MaxDatagramLen), uint64(i))
		minSize := (len(want)/MaxFragments + 8) &^ 7
		frags := split(src, dst, uint32(i), want, max(minSize, 8*(1+rng.IntN(1500/8))))
		rng.Shuffle(len(frags), func(i, j int) { frags[i], frags[j] = frags[j], frags[i] })
		if len(frags) > 1 && rng.IntN(3) == 0 {
			// A duplicate before the last fragment.
			k := rng.IntN(len(frags) - 1)
			frags = append(frags[:len(frags)-1], frags[k], frags[len(frags)-1])
		}
		for j, f := range frags {
			got, proto := r.Add(int64(i), f)
			if j < len(frags)-1 {
				if got != nil {
					t.Fatalf("datagram %d complete after %d of %d fragments", i, j+1, len(frags))
				}
				continue
			}
			if !bytes.Equal(got, want) || proto != 17 {
				t.Fatalf("datagram %d: %d bytes, proto %d; want %d bytes", i, len(got), proto, len(want))
			}
		}
	}
	s := r.Stats()
	if s.Reassembled != 500 || s.Open != 0 || s.Bytes != 0 || s.Timeouts+s.Overlaps+s.TooBig+s.BadLength+s.TooMany+s.Evicted != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestDrops(t *testing.T) {
	p := payload(4000, 1)
	frag := func(id uint32, off, end int, more bool) Fragment {
		return Fragment{Src: a6, Dst: b6, ID: id, Proto: 17, Offset: off, More: more, Data: p[off:end]}
	}
	for _, tc := range []struct {
		name  string
		frags []Fragment
		check func(Stats) bool
	}{
		{"overlap", []Fragment{frag(1, 0, 1000, true), frag(1, 992, 2000, true), frag(1, 2000, 3000, false)},
			func(s Stats) bool { return s.Overlaps == 1 && s.Absorbed == 1 }},
		{"overlap inside", []Fragment{frag(1, 0, 2000, true), frag(1, 1000, 1008, true)},
			func(s Stats) bool { return s.Overlaps == 1 }},
		{"two ends", []Fragment{frag(1, 1000, 2000, false), frag(1, 2000, 3000, false)},
			func(s Stats) bool { return s.BadLength == 1 }},
		{"bytes past the end", []Fragment{frag(1, 8, 1000, false), frag(1, 1000, 2000, true)},
			func(s Stats) bool { return s.BadLength == 1 }},
		{"end before bytes held", []Fragment{frag(1, 1000, 2000, true), frag(1, 0, 8, false)},
			func(s Stats) bool { return s.BadLength == 1 }},
		{"odd length", []Fragment{frag(1, 0, 1001, true)},
			func(s Stats) bool { return s.BadLength == 1 && s.Open == 0 }},
		{"empty", []Fragment{frag(1, 0, 0, true)},
			func(s Stats) bool { return s.BadLength == 1 }},
		{"largest", []Fragment{{Src: a4, Dst: b4, Offset: 65520, Data: make([]byte, 15)}},
			func(s Stats) bool { return s.TooBig == 0 && s.Open == 1 }},
		{"too big by one", []Fragment{{Src: a4, Dst: b4, Offset: 65520, Data: make([]byte, 16)}},
			func(s Stats) bool { return s.TooBig == 1 && s.Open == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newR(t, Config{})
			for _, f := range tc.frags {
				if got, _ := r.Add(1, f); got != nil {
					t.Fatal("a datagram completed")
				}
			}
			if s := r.Stats(); !tc.check(s) {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestTooManyFragments(t *testing.T) {
	r := newR(t, Config{})
	for i := range MaxFragments + 1 {
		r.Add(1, Fragment{Src: a4, Dst: b4, ID: 1, Offset: 8 * i, More: true, Data: make([]byte, 8)})
	}
	if s := r.Stats(); s.TooMany != 1 || s.Bytes != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestKeys: IPv4 datagrams differ by protocol (RFC 791), IPv6 ones do not
// (RFC 8200 §4.5: the offset-zero fragment's Next Header counts).
func TestKeys(t *testing.T) {
	p := payload(16, 2)
	r := newR(t, Config{})
	r.Add(1, Fragment{Src: a4, Dst: b4, ID: 5, Proto: 17, Offset: 0, More: true, Data: p[:8]})
	if got, _ := r.Add(1, Fragment{Src: a4, Dst: b4, ID: 5, Proto: 6, Offset: 8, Data: p[8:]}); got != nil {
		t.Fatal("IPv4 fragments of two protocols joined")
	}
	r.Add(1, Fragment{Src: a6, Dst: b6, ID: 5, Proto: 60, Offset: 0, More: true, Data: p[:8]})
	got, proto := r.Add(1, Fragment{Src: a6, Dst: b6, ID: 5, Proto: 17, Offset: 8, Data: p[8:]})
	if !bytes.Equal(got, p) || proto != 60 {
		t.Fatalf("IPv6: %x proto %d", got, proto)
	}
}

func TestTimeout(t *testing.T) {
	p := payload(3000, 3)
	frags := split(a4, b4, 9, p, 1480)
	r := newR(t, Config{Timeout: time.Second})
	r.Add(0, frags[0])
	r.Add(1_000_000, frags[1]) // exactly the timeout: still in time
	if got, _ := r.Add(1_000_001, frags[2]); got != nil {
		t.Fatal("completed after the timeout")
	}
	if s := r.Stats(); s.Timeouts != 1 || s.Open != 1 {
		t.Fatalf("stats %+v", s)
	}
	r.Expire(5_000_000)
	if s := r.Stats(); s.Timeouts != 2 || s.Open != 0 || s.Bytes != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestBounds floods the reassembler with incomplete datagrams: it never
// holds more than its caps, and evicts the oldest.
func TestBounds(t *testing.T) {
	r := newR(t, Config{MaxDatagrams: 10, MaxBytes: 100_000})
	for id := range uint32(1000) {
		r.Add(int64(id), Fragment{Src: a4, Dst: b4, ID: id, Offset: 8 * int(id%8000), More: true, Data: make([]byte, 1024)})
		if s := r.Stats(); s.Open > 10 || s.Bytes > 100_000 {
			t.Fatalf("after %d: %+v", id, s)
		}
	}
	if s := r.Stats(); s.Evicted < 990 {
		t.Fatalf("stats %+v", s)
	}
	// A datagram still completes in the flood's wake.
	p := payload(3000, 4)
	var got []byte
	for _, f := range split(a4, b4, 5000, p, 1480) {
		got, _ = r.Add(2000, f)
	}
	if !bytes.Equal(got, p) {
		t.Fatal("datagram after the flood did not complete")
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{MaxDatagrams: -1}, "MaxDatagrams"},
		{Config{MaxBytes: 1000}, "MaxBytes"},
		{Config{Timeout: -time.Second}, "Timeout"},
	} {
		if _, err := New(tc.c); err == nil || !strings.HasPrefix(err.Error(), "ipfrag: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v", tc.c, err)
		}
	}
}

// TestAllocs: once its spare datagrams are warm, reassembling steady
// traffic allocates only the span lists it cannot reuse... and in fact
// nothing.
func TestAllocs(t *testing.T) {
	p := payload(3000, 5)
	frags := split(a4, b4, 1, p, 1480)
	r := newR(t, Config{})
	for range 3 {
		for _, f := range frags {
			r.Add(1, f)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, f := range frags {
			r.Add(1, f)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per datagram", n)
	}
}

// FuzzDefrag feeds random fragment sequences: fragments of four reference
// datagrams (two IPv4, two IPv6) at any offset and length, duplicated,
// overlapping, out of order, with time jumps. Whatever completes must be a
// prefix of its reference (fragments only ever carry reference bytes at
// their true offsets), and the caps must hold after every fragment.
func FuzzDefrag(f *testing.F) {
	f.Add([]byte{0, 0, 0, 185, 1, 0, 0, 0, 185, 0, 185, 1, 0, 0, 0, 1, 114, 0, 0, 0})                       // in order
	f.Add([]byte{1, 1, 114, 200, 0, 0, 1, 0, 185, 0, 185, 1, 1, 0, 0, 185, 1, 0})                           // reversed
	f.Add([]byte{2, 0, 0, 100, 1, 0, 2, 0, 90, 100, 1, 0, 2, 0, 190, 50, 0, 0})                             // overlap
	f.Add([]byte{3, 0, 0, 8, 1, 0, 3, 0, 0, 8, 1, 0, 3, 0, 1, 8, 0, 255, 3, 0, 1, 8, 0, 0})                 // duplicate, timeout
	f.Add([]byte{0, 31, 255, 1, 0, 0, 0, 31, 254, 2, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 2, 0, 0, 1}) // too big, empty
	refs := [4][]byte{payload(MaxDatagramLen, 10), payload(MaxDatagramLen, 11), payload(MaxDatagramLen, 12), payload(MaxDatagramLen, 13)}
	srcs := [4]netip.Addr{a4, b4, a6, b6}
	f.Fuzz(func(t *testing.T, script []byte) {
		c := Config{MaxDatagrams: 3, MaxBytes: 2 * MaxDatagramLen, Timeout: time.Second}
		r := newR(t, c)
		ts := int64(0)
		// Each op: datagram, offset (u16, in 8-byte units), length (in 8
		// bytes, +odd), flags, time step.
		for len(script) >= 6 {
			op := script[:6]
			script = script[6:]
			i := int(op[0] % 4)
			off := (int(op[1])<<8 | int(op[2])) * 8 % (MaxDatagramLen + 16)
			n := int(op[3]) * 8
			if op[4]&2 != 0 {
				n += int(op[4] >> 2 % 8) // a length that is not a multiple of 8
			}
			ts += int64(op[5]) * 10_000
			data := refs[i][min(off, MaxDatagramLen):min(off+n, MaxDatagramLen)]
			proto := uint8(17)
			if op[4]&0x80 != 0 {
				proto = 6
			}
			got, _ := r.Add(ts, Fragment{Src: srcs[i], Dst: srcs[(i+1)%4], ID: uint32(i), Proto: proto,
				Offset: off, More: op[4]&1 != 0, Data: data})
			if got != nil && !bytes.Equal(got, refs[i][:len(got)]) {
				t.Fatalf("datagram %d reassembled wrong (%d bytes)", i, len(got))
			}
			s := r.Stats()
			if s.Open > c.MaxDatagrams || s.Bytes > c.MaxBytes || s.Bytes < 0 {
				t.Fatalf("over the caps: %+v", s)
			}
		}
		r.Expire(ts + 2_000_000)
		if s := r.Stats(); s.Open != 0 || s.Bytes != 0 {
			t.Fatalf("after expiry: %+v", s)
		}
	})
}
