package rtcp

import "testing"

// BenchmarkParseRTCP parses the compound a phone sends every 5 s: SR with
// one report block, SDES CNAME, and an XR VoIP Metrics block.
func BenchmarkParseRTCP(b *testing.B) {
	p := cat(srPacket(), sdesPacket("alice@10.0.0.1"), xrPacket())
	var c Compound
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Parse(p, &c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseJSON is the HEP type-5 path (encoding/json: allocates).
func BenchmarkParseJSON(b *testing.B) {
	p := []byte(heplifySR)
	var c Compound
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseJSON(p, &c); err != nil {
			b.Fatal(err)
		}
	}
}
