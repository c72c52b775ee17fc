package sdp

import "testing"

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   []byte
	}{
		{"trunk_offer", trunkOffer},
		{"rfc4317_offer", rfc4317Offer},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.in)))
			b.ReportAllocs()
			var s Session // reused: steady state must show 0 allocs/op
			for b.Loop() {
				if err := Parse(bc.in, &s); err != nil || s.NumMedia == 0 {
					b.Fatal(err)
				}
			}
		})
	}
}
