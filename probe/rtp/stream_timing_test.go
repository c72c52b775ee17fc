package rtp

import "testing"

// BenchmarkStreamAdd is the per-packet cost of the statistics: a 20 ms
// G.711 stream with a little jitter, a loss every 100 packets and a DTMF
// event now and then. DESIGN.md's probe target (3M packets/s on one core
// for decode + statistics) leaves this well under 300 ns; it must not
// allocate.
func BenchmarkStreamAdd(b *testing.B) {
	var s Stream
	s.Init(1, 8000, Options{EventPT: 101})
	h := Header{PayloadType: 8, SSRC: 1, PayloadOffset: 12, PayloadLen: 160}
	at := int64(1_700_000_000_000_000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		h.Seq++
		h.Timestamp += 160
		at += 20_000
		if i%100 == 0 {
			h.Seq++ // one lost
			h.Timestamp += 160
		}
		h.PayloadType = 8
		if i%500 < 3 {
			h.PayloadType = 101
		}
		s.Add(at+int64(i%7)*250, &h, 160)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	if r := s.Snapshot(); r.Packets != int64(b.N) {
		b.Fatalf("packets %d, want %d", r.Packets, b.N)
	}
}

// BenchmarkParseHeader parses a PCMA packet with two CSRCs and a header
// extension.
func BenchmarkParseHeader(b *testing.B) {
	p := pkt(8, false, 1000, 160000, 0xdeadbeef, 2, 1, 160, 0)
	var h Header
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseHeader(p, &h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshot is the cost of an interval report (once per stream
// every 10 s).
func BenchmarkSnapshot(b *testing.B) {
	var s Stream
	s.Init(1, 8000, Options{})
	g := newSender(&s, 0, 0, 8)
	for i := range 1000 {
		if i%37 == 0 {
			g.skip(2)
		}
		g.send(int64(i%5) * 1000)
	}
	b.ReportAllocs()
	var sink float64
	for b.Loop() {
		sink += s.Snapshot().MOS
	}
	if sink <= 0 {
		b.Fatal(sink)
	}
}
