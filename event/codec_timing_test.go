package event

import "testing"

func BenchmarkAppendSIP(b *testing.B) {
	s := sampleSIP()
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(s.Raw)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendSIP(buf[:0], s)
	}
	if len(buf) == 0 {
		b.Fatal("empty")
	}
}

func BenchmarkDecodeSIP(b *testing.B) {
	enc := AppendSIP(nil, sampleSIP())
	var s SIP
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeSIP(enc, &s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSetID(b *testing.B) {
	s := sampleSIP()
	h := NewIDHasher()
	b.SetBytes(int64(len(s.Raw)))
	b.ReportAllocs()
	for b.Loop() {
		h.SetID(s)
	}
}
