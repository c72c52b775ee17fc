package hep

import (
	"sync/atomic"
	"testing"

	"github.com/trunkscope/trunkscope/event"
)

// sink keeps results alive so the compiler cannot drop the work.
var sink atomic.Int64

// BenchmarkDecodeV3SIP is the per-packet path of a HEP input: decode a HEP3
// frame carrying an INVITE with SDP, convert it with ToSIP, encode the
// event into a reused buffer. ns/op is the cost per packet.
func BenchmarkDecodeV3SIP(b *testing.B) {
	in := mustAppend(b, sipPacket(invite))
	benchPath(b, in, false)
}

// BenchmarkDecodeV3SIPWithID adds the event ID (SHA-256 over the raw
// message), which the probe sets for every event it keeps.
func BenchmarkDecodeV3SIPWithID(b *testing.B) {
	in := mustAppend(b, sipPacket(invite))
	benchPath(b, in, true)
}

func benchPath(b *testing.B, in []byte, withID bool) {
	var (
		d     Decoder
		p     Packet
		ev    event.SIP
		probe = []byte("hep-1")
		ids   = event.NewIDHasher()
		out   = make([]byte, 0, 4096)
	)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(in, &p); err != nil {
			b.Fatal(err)
		}
		if err := ToSIP(&p, probe, &ev); err != nil {
			b.Fatal(err)
		}
		if withID {
			ids.SetID(&ev)
		}
		out = event.AppendSIP(out[:0], &ev)
	}
	sink.Add(int64(len(out)))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkDecodeV3 is the HEP decoder alone.
func BenchmarkDecodeV3(b *testing.B) {
	benchDecode(b, mustAppend(b, sipPacket(invite)))
}

// BenchmarkDecodeV2 is the HEP v2 decoder alone (fixed header).
func BenchmarkDecodeV2(b *testing.B) {
	benchDecode(b, mustAppendV2(b, sipPacket(invite)))
}

// BenchmarkDecodeV3Gzip inflates the INVITE from chunk 0x10: the cost a
// sender's compression moves to the receiver.
func BenchmarkDecodeV3Gzip(b *testing.B) {
	p := sipPacket(invite)
	p.Compressed = true
	benchDecode(b, mustAppend(b, p))
}

func benchDecode(b *testing.B, in []byte) {
	var d Decoder
	var p Packet
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(in, &p); err != nil {
			b.Fatal(err)
		}
	}
	sink.Add(int64(len(p.Payload)))
}

// BenchmarkAppend is the encoder a HEP sender would use.
func BenchmarkAppend(b *testing.B) {
	p := sipPacket(invite)
	out := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		out, _ = Append(out[:0], p)
	}
	b.SetBytes(int64(len(out)))
	sink.Add(int64(len(out)))
}
