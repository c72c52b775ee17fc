package media

import (
	"net/netip"
	"testing"
)

// benchTable holds calls of two entries each: 100,000 as a busy probe's
// table would (a working set beyond the CPU caches), or 500.
func benchTable(b *testing.B, calls int) (*Table, []netip.AddrPort) {
	tb := newTable(b)
	var body, id []byte
	dsts := make([]netip.AddrPort, 0, 2*calls)
	for i := 0; i < calls; i++ {
		id = appendInt(append(id[:0], "bench-"...), i)
		for party := 0; party < 2; party++ {
			a := netip.AddrFrom4([4]byte{10, byte(party), byte(i >> 8), byte(i)})
			port := uint16(20000 + 2*(i%1000))
			body = append(body[:0], "v=0\r\no=p"...)
			body = appendInt(body, party)
			body = append(body, " 1 1 IN IP4 x\r\nc=IN IP4 "...)
			body = a.AppendTo(body)
			body = append(body, "\r\nm=audio "...)
			body = appendInt(body, int(port))
			body = append(body, " RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"...)
			if err := tb.Learn(int64(i), id, party == 0, body, netip.Addr{}); err != nil {
				b.Fatal(err)
			}
			dsts = append(dsts, netip.AddrPortFrom(a, port))
		}
	}
	return tb, dsts
}

func BenchmarkLookup(b *testing.B) {
	small, smallDsts := benchTable(b, 500)
	b.Run("hit_1k_entries", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, _, ok := small.Lookup(smallDsts[i]); !ok {
				b.Fatal("miss")
			}
			if i++; i == len(smallDsts) {
				i = 0
			}
		}
	})
	tb, dsts := benchTable(b, 100_000)
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			e, _, ok := tb.Lookup(dsts[i])
			if !ok || e.npt == 0 {
				b.Fatal("miss")
			}
			if i++; i == len(dsts) {
				i = 0
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		dst := netip.MustParseAddrPort("203.0.113.1:30000")
		for b.Loop() {
			if _, _, ok := tb.Lookup(dst); ok {
				b.Fatal("hit")
			}
		}
	})
	b.Run("pair_by_src", func(b *testing.B) {
		b.ReportAllocs()
		dst := netip.MustParseAddrPort("203.0.113.1:30000")
		i := 0
		for b.Loop() {
			if _, _, bySrc, ok := tb.LookupPair(dsts[i], dst); !ok || !bySrc {
				b.Fatal("miss")
			}
			if i++; i == len(dsts) {
				i = 0
			}
		}
	})
	b.Run("hit_touch_codec", func(b *testing.B) {
		b.ReportAllocs()
		i, ts := 0, int64(200_000)
		for b.Loop() {
			e, _, ok := tb.Lookup(dsts[i])
			if !ok {
				b.Fatal("miss")
			}
			ts += 20
			tb.Touch(e, ts)
			if c, ok := e.Codec(8); !ok || c.Clock != 8000 {
				b.Fatal("codec")
			}
			if i++; i == len(dsts) {
				i = 0
			}
		}
	})
}

func BenchmarkLearn(b *testing.B) {
	b.Run("reinvite_known_call", func(b *testing.B) {
		tb := newTable(b)
		b.ReportAllocs()
		b.SetBytes(int64(len(offerAV)))
		id := []byte("call-1")
		ts := int64(0)
		for b.Loop() {
			ts++
			if err := tb.Learn(ts, id, true, offerAV, netip.Addr{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new_calls_full_table", func(b *testing.B) {
		tb := newTable(b, MaxEntries(10_000))
		b.ReportAllocs()
		var body, id []byte
		i := 0
		for b.Loop() {
			i++
			a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			body = append(body[:0], "v=0\r\no=- 1 1 IN IP4 x\r\nc=IN IP4 "...)
			body = a.AppendTo(body)
			body = append(body, "\r\nm=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"...)
			id = appendInt(append(id[:0], "call-"...), i)
			if err := tb.Learn(int64(i), id, true, body, netip.Addr{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
