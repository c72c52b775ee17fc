package media

import (
	"net/netip"
	"runtime"
	"testing"
	"unsafe"
)

// TestMemoryPerEntry measures the heap a table holds per entry, with
// 50,000 two-party calls of one stream each (100,000 entries) and 36-byte
// Call-IDs, against the budget: under 300 bytes plus the Call-ID.
func TestMemoryPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates some 30 MB")
	}
	const calls = 50_000
	const idLen = 36 // a UUID, the common Call-ID shape
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	tb := newTable(t) // defaults: the slab's growth slack counts too
	var body, id []byte
	for i := 0; i < calls; i++ {
		id = appendInt(append(id[:0], "00000000-0000-0000-0000-"...), 100_000_000_000+i)
		for party := 0; party < 2; party++ {
			a := netip.AddrFrom4([4]byte{10, byte(party<<4 | i>>16), byte(i >> 8), byte(i)})
			body = append(body[:0], "v=0\r\no=p"...)
			body = appendInt(body, party)
			body = append(body, " 1 1 IN IP4 x\r\nc=IN IP4 "...)
			body = a.AppendTo(body)
			body = append(body, "\r\nm=audio 20000 RTP/AVP 8 0 18 101\r\na=rtpmap:101 telephone-event/8000\r\n"...)
			if err := tb.Learn(int64(i), id, party == 0, body, netip.Addr{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(id) != idLen {
		t.Fatalf("Call-ID is %d bytes", len(id))
	}
	after := heap()
	st := tb.Stats()
	if st.Entries != 2*calls {
		t.Fatalf("%d entries", st.Entries)
	}
	per := float64(after-before) / float64(st.Entries)
	t.Logf("Entry %d bytes; heap %.0f bytes per entry (Call-ID %d bytes, shared by 2 entries); slab %d for %d, keys %d",
		unsafe.Sizeof(Entry{}), per, idLen, cap(tb.entries), st.Entries, tb.keys.len())
	if per > 300+idLen {
		t.Errorf("%.0f bytes per entry, budget %d", per, 300+idLen)
	}
	runtime.KeepAlive(tb)
}
