package packet_test

import (
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/probe/internal/packettest"
	"github.com/trunkscope/trunkscope/probe/packet"
)

func BenchmarkDecodeEthernetIPv4UDP(b *testing.B) {
	frame := packettest.Ether(packettest.UDP(src4, dst4, make([]byte, 172)))
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	var p packet.Packet // reused: 0 allocs/op
	for b.Loop() {
		if err := packet.Decode(layers.LinkTypeEthernet, frame, &p); err != nil {
			b.Fatal(err)
		}
	}
}
