package mos

import "testing"

// BenchmarkMOS is what an interval report costs: a burst ratio from the
// transition counts and a score from it.
func BenchmarkMOS(b *testing.B) {
	b.ReportAllocs()
	c := G729()
	var sink float64
	n := uint64(0)
	for b.Loop() {
		n++
		burstR := MarkovBurstR(4800+n&63, 30, 28, 12)
		sink += MOS(c, 1.2, burstR, 0)
	}
	if sink <= 0 {
		b.Fatal(sink)
	}
}
