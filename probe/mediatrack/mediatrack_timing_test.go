package mediatrack

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/synth"
)

// BenchmarkRTPPacket is the Tracker's per-packet path (DESIGN.md targets:
// 0 allocations per RTP packet): established G.711 streams, each sending
// every 20 ms of capture time, round robin, handed in directly (no packet
// decoding). Interval reports (one per stream per 10 s, so one per 500
// packets) and the sweeps are included. With 100,000 streams the slab is
// 48 MB, far beyond the caches: the figure a full trunk's mirror gets.
func BenchmarkRTPPacket(b *testing.B) {
	for _, n := range []int{1, 1000, 100_000} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) {
			var sink countSink
			tr := newTracker(b, &sink, MaxStreams(n))
			pkts := make([][]byte, n)
			srcs := make([]netip.AddrPort, n)
			for i := range n {
				pkts[i] = rtpPacket(8, uint16(i), uint32(i), uint32(i))
				srcs[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(10000+i%50000))
				tr.UDP(t0, srcs[i], hDst, pkts[i])
			}
			b.SetBytes(int64(len(pkts[0])))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s := i % n
				p := pkts[s]
				binary.BigEndian.PutUint16(p[2:], binary.BigEndian.Uint16(p[2:])+1)
				binary.BigEndian.PutUint32(p[4:], binary.BigEndian.Uint32(p[4:])+160)
				i++
				tr.UDP(t0+int64(i)*20_000/int64(n), srcs[s], hDst, p)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
			if st := tr.Stats(); st.StreamsStarted != uint64(n) || st.RTPPackets != uint64(n+b.N) {
				b.Fatalf("stats %+v", st)
			}
		})
	}
}

// BenchmarkProbeWithMedia replays a generated capture of 200 G.711 calls
// (package synth: SIP over UDP, 20 ms RTP both ways; some 97 % of the
// packets are RTP) from a file (page cache) through a Probe, with and
// without a Tracker as its MediaHandler: the passive probe's target of
// DESIGN.md, >= 3,000,000 packets/s on one core (stretch 5,000,000) and 0
// allocations per RTP packet. Each replay has a Probe and a Tracker of its
// own (the same packets again would be tap duplicates); their set-up
// counts in the allocations per replay, the per-packet figure is
// allocs/packet. It also reports the Tracker's bytes per stream
// (TestMemoryPerStream) for the record.
func BenchmarkProbeWithMedia(b *testing.B) {
	path := filepath.Join(b.TempDir(), "calls.pcap")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	truth, err := synth.Generate(f, synth.Options{Calls: 200, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if share := float64(truth.RTPPackets) / float64(truth.Packets); share < 0.95 {
		b.Fatalf("capture is %.1f%% RTP, want >= 95%%", 100*share)
	}
	for _, withMedia := range []bool{false, true} {
		name := "probe"
		if withMedia {
			name = "probe+mediatrack"
		}
		b.Run(name, func(b *testing.B) {
			var sink countSink
			var packets, mallocs uint64
			var st Stats
			b.ReportAllocs()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for b.Loop() {
				var opts []probe.Opt
				var tr *Tracker
				if withMedia {
					tr = newTracker(b, &sink)
					opts = append(opts, probe.Media(tr))
				}
				p, err := probe.New(opts...)
				if err != nil {
					b.Fatal(err)
				}
				if err := probe.ReadFile(context.Background(), path, p, discard, nil); err != nil {
					b.Fatal(err)
				}
				if tr != nil {
					if err := tr.Flush(); err != nil {
						b.Fatal(err)
					}
					st = tr.Stats()
				}
				packets += p.Stats().Packets
			}
			runtime.ReadMemStats(&m1)
			mallocs = m1.Mallocs - m0.Mallocs
			b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
			b.ReportMetric(float64(mallocs)/float64(packets), "allocs/packet")
			if withMedia {
				if st.RTPPackets != uint64(truth.RTPPackets) || st.Heuristic != 0 {
					b.Fatalf("tracker saw %d RTP packets (%d heuristic streams), capture has %d", st.RTPPackets, st.Heuristic, truth.RTPPackets)
				}
				b.ReportMetric(float64(st.StreamsStarted), "streams")
			}
		})
	}
}

// BenchmarkBytesPerStream reports the heap per tracked stream at 100,000
// streams (TestMemoryPerStream asserts the budget).
func BenchmarkBytesPerStream(b *testing.B) {
	for _, pop := range []string{heuristicV4, mappedV4, heuristicV6} {
		b.Run(pop, func(b *testing.B) {
			var per float64
			for b.Loop() {
				per = bytesPerStream(b, 100_000, pop)
			}
			b.ReportMetric(per, "B/stream")
		})
	}
}
