package sipscan

import "testing"

func BenchmarkScanINVITE(b *testing.B) {
	b.SetBytes(int64(len(invite)))
	b.ReportAllocs()
	var m Msg // reused: steady state must show 0 allocs/op
	for b.Loop() {
		if err := Scan(invite, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFrameINVITE(b *testing.B) {
	b.SetBytes(int64(len(invite)))
	b.ReportAllocs()
	for b.Loop() {
		if n, err := Frame(invite); n != len(invite) || err != nil {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkScanNotSIP is the cost the probe pays per RTP packet to learn it
// is not SIP.
func BenchmarkScanNotSIP(b *testing.B) {
	rtp := make([]byte, 172)
	rtp[0], rtp[1] = 0x80, 0x08
	b.SetBytes(int64(len(rtp)))
	b.ReportAllocs()
	var m Msg
	for b.Loop() {
		if Scan(rtp, &m) != ErrNotSIP {
			b.Fatal("RTP scanned as SIP")
		}
	}
}
