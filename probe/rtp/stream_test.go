package rtp

import (
	"cmp"
	"math"
	"slices"
	"testing"
	"unsafe"

	"github.com/trunkscope/trunkscope/probe/mos"
)

// sender generates a 20 ms, 8 kHz stream (160 timestamp units a packet)
// and feeds a Stream, so tests state only what deviates from a clean one.
type sender struct {
	s     *Stream
	seq   uint16
	ts    uint32
	pt    uint8
	t0US  int64
	index int // packet index: nominal arrival t0 + 20 ms * index
}

func newSender(s *Stream, seq uint16, ts uint32, pt uint8) *sender {
	return &sender{s: s, seq: seq, ts: ts, pt: pt, t0US: 1_700_000_000_000_000}
}

// send delivers the next packet delayUS after its nominal arrival.
func (g *sender) send(delayUS int64) {
	g.deliver(g.seq, g.ts, g.pt, false, 160, g.t0US+int64(g.index)*20_000+delayUS)
	g.skip(1)
}

// skip advances sequence number, timestamp and clock by n packets without
// sending them (lost, or silence).
func (g *sender) skip(n int) {
	g.seq += uint16(n)
	g.ts += uint32(160 * n)
	g.index += n
}

// sendInArrivalOrder sends len(delays) packets, packet i delays[i] after
// its nominal arrival, in the order they arrive (as a capture has them).
func (g *sender) sendInArrivalOrder(delays []int64) {
	type pkt struct {
		seq   uint16
		ts    uint32
		atUS  int64
		index int
	}
	pkts := make([]pkt, len(delays))
	for i, d := range delays {
		pkts[i] = pkt{g.seq, g.ts, g.t0US + int64(g.index)*20_000 + d, i}
		g.skip(1)
	}
	slices.SortStableFunc(pkts, func(a, b pkt) int { return cmp.Compare(a.atUS, b.atUS) })
	for _, p := range pkts {
		g.deliver(p.seq, p.ts, g.pt, false, 160, p.atUS)
	}
}

func (g *sender) deliver(seq uint16, ts uint32, pt uint8, marker bool, payload int, atUS int64) {
	h := Header{PayloadType: pt, Marker: marker, Seq: seq, Timestamp: ts, SSRC: g.s.SSRC(), PayloadOffset: 12, PayloadLen: payload}
	g.s.Add(atUS, &h, payload)
}

func TestStreamSize(t *testing.T) {
	size := unsafe.Sizeof(Stream{})
	t.Logf("sizeof(Stream) = %d bytes", size)
	if size > 512 {
		t.Errorf("Stream is %d bytes, the budget is 512 (DESIGN.md, Targets)", size)
	}
}

func TestStreamAllocs(t *testing.T) {
	var s Stream
	s.Init(1, 8000, Options{EventPT: 101})
	g := newSender(&s, 0, 0, 8)
	if n := testing.AllocsPerRun(1000, func() {
		g.send(int64(g.index%7) * 300)
		if g.index%50 == 0 {
			g.skip(2) // losses and bursts on the way
		}
	}); n != 0 {
		t.Errorf("Add: %v allocations per packet", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		_ = s.Snapshot()
		_ = s.Interval()
	}); n != 0 {
		t.Errorf("Snapshot+Interval: %v allocations", n)
	}
}

func TestSequenceWrap(t *testing.T) {
	var s Stream
	s.Init(7, 8000, Options{})
	g := newSender(&s, 65530, 0xffffff00, 0)
	for range 12 { // 65530 .. 65535, 0 .. 5, timestamps wrap too
		g.send(0)
	}
	r := s.Snapshot()
	if r.Packets != 12 || r.Expected != 12 || r.Lost != 0 || r.Reordered != 0 || r.Duplicates != 0 || r.MaxJitterMS != 0 {
		t.Errorf("clean wrap: %+v", r)
	}

	// Lose 65535 and 0: one burst of 2 across the wrap.
	s.Init(7, 8000, Options{})
	g = newSender(&s, 65530, 0, 0)
	for range 5 {
		g.send(0)
	}
	g.skip(2)
	for range 5 {
		g.send(0)
	}
	r = s.Snapshot()
	if r.Packets != 10 || r.Expected != 12 || r.Lost != 2 || r.LossBursts != 1 || r.BurstHist != [5]int64{0, 1, 0, 0, 0} {
		t.Errorf("loss across the wrap: %+v", r)
	}
	if r.MaxDeltaMS != 60 {
		t.Errorf("max delta %v ms, want 60 (the gap of the burst)", r.MaxDeltaMS)
	}

	// Many wraps: 200000 packets, a loss every 1000.
	s.Init(7, 8000, Options{})
	g = newSender(&s, 40000, 0, 0)
	for i := range 200_000 {
		if i%1000 == 500 {
			g.skip(1)
			continue
		}
		g.send(0)
	}
	r = s.Snapshot()
	if r.Expected != 200_000 || r.Lost != 200 || r.LossBursts != 200 || r.BurstHist[0] != 200 {
		t.Errorf("three wraps: expected %d lost %d bursts %d hist %v", r.Expected, r.Lost, r.LossBursts, r.BurstHist)
	}
}

func TestReorder(t *testing.T) {
	var s Stream
	s.Init(1, 8000, Options{})
	g := newSender(&s, 100, 0, 8)
	// 100 101 103 102 104 ... : 102 comes 30 ms late, after 103.
	g.send(0)
	g.send(0)
	g.skip(1)
	g.send(0)
	g.deliver(102, 2*160, 8, false, 160, g.t0US+2*20_000+30_000)
	for range 100 {
		g.send(0)
	}
	r := s.Snapshot()
	if r.Packets != 104 || r.Expected != 104 || r.Lost != 0 || r.Reordered != 1 || r.Duplicates != 0 {
		t.Errorf("reordered: %+v", r)
	}
	// The late packet filled its gap inside the window: no loss burst.
	if r.LossBursts != 0 || r.BurstHist != [5]int64{} || r.BurstR != 1 {
		t.Errorf("a filled gap left a burst: %d %v %v", r.LossBursts, r.BurstHist, r.BurstR)
	}
	// Its timestamp is after the first packet's: it is in the stream's
	// time line and raises the jitter (D = 30 ms then -30 ms).
	if r.MaxJitterMS < 1.8 {
		t.Errorf("jitter %v ms does not show the 30 ms late packet", r.MaxJitterMS)
	}

	// A packet more than the window behind: counted reordered, received
	// for RFC 3550 A.3, but its position had been finalized as lost.
	s.Init(1, 8000, Options{})
	g = newSender(&s, 0, 0, 8)
	g.send(0)
	g.skip(1)
	for range 100 {
		g.send(0)
	}
	g.deliver(1, 160, 8, false, 160, g.t0US+int64(g.index)*20_000)
	r = s.Snapshot()
	if r.Packets != 102 || r.Expected != 102 || r.Lost != 0 || r.Reordered != 1 || r.LossBursts != 1 {
		t.Errorf("very late packet: %+v", r)
	}
}

func TestDuplicates(t *testing.T) {
	var s Stream
	s.Init(1, 8000, Options{})
	g := newSender(&s, 10, 0, 0)
	g.send(0)
	g.deliver(10, 0, 0, false, 160, g.t0US+1000) // duplicate of the first packet
	g.send(0)
	g.send(0)
	g.deliver(12, 320, 0, false, 160, g.t0US+41_000)
	g.deliver(12, 320, 0, false, 160, g.t0US+42_000)
	r := s.Snapshot()
	if r.Packets != 6 || r.Expected != 3 || r.Lost != -3 || r.Duplicates != 3 || r.Reordered != 0 {
		t.Errorf("duplicates: %+v", r)
	}
	if r.LossPercent != 0 || r.MOS != mos.MOS(mos.G711(), 0, 1, 0) {
		t.Errorf("negative loss must rate as no loss: %v%%, MOS %v", r.LossPercent, r.MOS)
	}
}

// TestInitReuse: the caller re-initialises a Stream when the SSRC on a
// 5-tuple changes (RFC 3550 §8.2: a new SSRC is a new source); nothing of
// the old stream survives.
func TestInitReuse(t *testing.T) {
	var s Stream
	s.Init(0xaaaa, 8000, Options{WiresharkJitter: true, FixedBufferMS: 20})
	g := newSender(&s, 500, 1234, 8)
	for i := range 300 {
		if i%10 == 0 {
			g.skip(3)
		}
		g.send(int64(i%5) * 4000)
	}
	g.deliver(600, 0, 8, true, 160, g.t0US) // duplicate-ish junk
	_ = s.Interval()

	s.Init(0xbbbb, 8000, Options{})
	var fresh Stream
	fresh.Init(0xbbbb, 8000, Options{})
	if s != fresh {
		t.Fatal("Init left state of the previous stream")
	}
	g = newSender(&s, 9, 99, 0)
	for range 50 {
		g.send(0)
	}
	r := s.Snapshot()
	if r.SSRC != 0xbbbb || r.Packets != 50 || r.Expected != 50 || r.Lost != 0 || r.MaxJitterMS != 0 || r.LateFixed != 0 || r.Markers != 0 {
		t.Errorf("after Init: %+v", r)
	}
}

// TestJitter checks J against RFC 3550 A.8 computed here independently,
// in milliseconds: D(i-1,i) = (Ri - Ri-1) - (Si - Si-1), J += (|D| - J)/16.
func TestJitter(t *testing.T) {
	delays := []int64{0, 2000, 0, 5000, 1000, 0, 0, 7000, 3000, 0, 500, 0, 0, 0, 9000, 0}
	var s Stream
	s.Init(1, 8000, Options{})
	g := newSender(&s, 0, 0, 8)
	var j, maxJ, sumJ float64
	for i, d := range delays {
		g.send(d)
		if i > 0 {
			arrivalDiff := float64(20_000+d-delays[i-1]) / 1000 // ms
			D := arrivalDiff - 20                               // timestamp diff: 160 units = 20 ms
			j += (math.Abs(D) - j) / 16
			maxJ = max(maxJ, j)
			sumJ += j
		}
	}
	mean := sumJ / float64(len(delays)-1)
	r := s.Snapshot()
	const tol = 1e-9
	if math.Abs(r.JitterMS-j) > tol || math.Abs(r.MaxJitterMS-maxJ) > tol || math.Abs(r.MeanJitterMS-mean) > tol {
		t.Errorf("jitter %v/%v/%v ms, want %v/%v/%v", r.JitterMS, r.MeanJitterMS, r.MaxJitterMS, j, mean, maxJ)
	}
	if r.MaxDeltaMS != 29 { // 20 ms + 9 ms delay on top of a 0 ms one
		t.Errorf("max delta %v, want 29", r.MaxDeltaMS)
	}
	iv := s.Interval()
	if math.Abs(iv.MeanJitterMS-mean) > tol || math.Abs(iv.MaxJitterMS-maxJ) > tol {
		t.Errorf("interval jitter %v/%v, want %v/%v", iv.MeanJitterMS, iv.MaxJitterMS, mean, maxJ)
	}

	// Opus: 48 kHz clock, 960 units per 20 ms; the jitter in ms is the
	// same for the same delays.
	s.Init(1, 48000, Options{DynamicPT: 111})
	g = newSender(&s, 0, 0, 111)
	for _, d := range delays {
		g.deliver(g.seq, g.ts*6, 111, false, 80, g.t0US+int64(g.index)*20_000+d)
		g.skip(1)
	}
	if r := s.Snapshot(); math.Abs(r.JitterMS-j) > tol || r.Unclocked != 0 {
		t.Errorf("48 kHz jitter %v ms, want %v (%+v)", r.JitterMS, j, r)
	}
	// The same stream without DynamicPT: no usable clock, no jitter.
	s.Init(1, 48000, Options{})
	g = newSender(&s, 0, 0, 111)
	for _, d := range delays {
		g.deliver(g.seq, g.ts*6, 111, false, 80, g.t0US+int64(g.index)*20_000+d)
		g.skip(1)
	}
	if r := s.Snapshot(); r.JitterMS != 0 || r.Unclocked != int64(len(delays)) {
		t.Errorf("unknown dynamic PT: jitter %v, unclocked %d", r.JitterMS, r.Unclocked)
	}
}

// TestDTMF: six RFC 4733 event packets replace voice packets 50-55 (their
// timestamp is the event's start, RFC 4733 §2.3.1); voice resumes with the
// marker bit. Arrival is perfectly regular. RFC 3550 sees no jitter; in
// Wireshark's mode the arrival reference moves with the events, so the
// first voice packet shows D = |20 - 7*20| = 120 ms: J = 120/16 = 7.5 ms
// on the (unsampled) marker packet, 7.5*15/16 = 7.03125 ms on the next,
// the maximum.
func TestDTMF(t *testing.T) {
	run := func(opt Options, eventPT uint8) Report {
		var s Stream
		s.Init(1, 8000, opt)
		g := newSender(&s, 0, 0, 8)
		for range 50 {
			g.send(0)
		}
		start := g.ts
		for i := range 6 {
			g.deliver(g.seq, start, eventPT, i == 0, 4, g.t0US+int64(g.index)*20_000)
			g.skip(1)
		}
		g.deliver(g.seq, g.ts, 8, true, 160, g.t0US+int64(g.index)*20_000)
		g.skip(1)
		for range 50 {
			g.send(0)
		}
		return s.Snapshot()
	}
	r := run(Options{EventPT: 101}, 101)
	if r.MaxJitterMS != 0 || r.JitterMS != 0 || r.Events != 6 || r.Unclocked != 6 || r.Lost != 0 || r.Markers != 2 {
		t.Errorf("RFC 3550: %+v", r)
	}
	r = run(Options{EventPT: 101, WiresharkJitter: true}, 101)
	if math.Abs(r.MaxJitterMS-7.03125) > 1e-9 || r.Events != 6 {
		t.Errorf("Wireshark mode: max jitter %v, want 7.03125 (%+v)", r.MaxJitterMS, r)
	}
	// Without SDP: DetectEvents takes the 4-byte packets of an unknown
	// dynamic type for events; without it they are merely unclocked.
	if r = run(Options{DetectEvents: true}, 96); r.Events != 6 || r.MaxJitterMS != 0 {
		t.Errorf("detected events: %+v", r)
	}
	if r = run(Options{}, 96); r.Events != 0 || r.Unclocked != 6 || r.MaxJitterMS != 0 {
		t.Errorf("unknown dynamic type: %+v", r)
	}
}

// TestComfortNoise: silence suppression with a comfort-noise packet (RFC
// 3389, PT 13), no packets for 1 s, then voice with the marker bit. The
// jitter stays 0 (the CN packet is on the stream's clock), the loss is 0
// (sequence numbers continue), and the silence is not a "max delta" (the
// packet after CN is not regular, as in Wireshark).
func TestComfortNoise(t *testing.T) {
	var s Stream
	s.Init(1, 8000, Options{})
	g := newSender(&s, 0, 0, 8)
	for range 50 {
		g.send(0)
	}
	g.deliver(g.seq, g.ts, 13, false, 1, g.t0US+int64(g.index)*20_000)
	g.seq++
	g.ts += 160 * 50 // 1 s of silence
	g.index += 50
	g.deliver(g.seq, g.ts, 8, true, 160, g.t0US+int64(g.index)*20_000)
	g.skip(1)
	for range 50 {
		g.send(0)
	}
	r := s.Snapshot()
	if r.ComfortNoise != 1 || r.Lost != 0 || r.Expected != 102 || r.MaxJitterMS != 0 || r.MaxDeltaMS != 20 || r.LateFixed != 0 || r.LateAdaptive != 0 {
		t.Errorf("comfort noise: %+v", r)
	}
}

// TestLateBuffers: one packet 100 ms late is late for both buffers, one 40
// ms late only for the adaptive one once it has settled at its 20 ms
// minimum (a clean stream); neither is lost to the network. The listener's
// MOS takes them as lost.
func TestLateBuffers(t *testing.T) {
	var s Stream
	s.Init(1, 8000, Options{})
	g := newSender(&s, 0, 0, 8)
	delays := make([]int64, 1000)
	delays[300], delays[600] = 100_000, 40_000
	g.sendInArrivalOrder(delays)
	r := s.Snapshot()
	if r.Lost != 0 || r.LateFixed != 1 || r.LateAdaptive != 2 {
		t.Fatalf("late: lost %d, fixed %d, adaptive %d", r.Lost, r.LateFixed, r.LateAdaptive)
	}
	// Each late packet arrived after the next packets: also reordered.
	if r.Reordered != 2 {
		t.Errorf("reordered %d, want 2", r.Reordered)
	}
	near(t, "MOS", r.MOS, mos.MOS(mos.G711(), 0, 1, 0), 1e-12)
	near(t, "MOSFixed", r.MOSFixed, mos.MOS(mos.G711(), 0.1, 1, 0), 1e-12)
	near(t, "MOSAdaptive", r.MOSAdaptive, mos.MOS(mos.G711(), 0.2, 1, 0), 1e-12)

	// A 30 ms delay step for good: the fixed buffer (20 ms here) loses
	// fixedResync packets and re-anchors; the adaptive one follows.
	s.Init(1, 8000, Options{FixedBufferMS: 20})
	g = newSender(&s, 0, 0, 8)
	delays = make([]int64, 500)
	for i := 250; i < 500; i++ {
		delays[i] = 30_000
	}
	g.sendInArrivalOrder(delays)
	r = s.Snapshot()
	if r.LateFixed != fixedResync || r.LateAdaptive == 0 || r.LateAdaptive > 20 {
		t.Errorf("delay step: fixed late %d (want %d), adaptive %d", r.LateFixed, fixedResync, r.LateAdaptive)
	}
}

// TestKnownBursts drops five bursts (1, 2, 4, 10, 12 packets: one per
// histogram bucket) from 1000 packets and checks the report and the MOS
// against the E-model computed by hand:
//
//	lost 29, Ppl 2.9 %; chain: 5 found->lost, 24 lost->lost, 5 lost->found,
//	970 - 5 = 965 found->found; p = 5/970, q = 5/29,
//	BurstR = 1/(p+q) = 5.631632
//	G.711: Ie,eff = 95*2.9/(2.9/5.631632 + 25.1) = 10.755438,
//	       R = 82.444562, MOS = 4.112956 (4.144444 if the loss were random)
//	G.729: Ie,eff = 11 + 84*2.9/(2.9/5.631632 + 19) = 23.482739,
//	       R = 69.717261, MOS = 3.583712 (3.647083 random)
func TestKnownBursts(t *testing.T) {
	for _, tc := range []struct {
		codec   mos.Codec
		wantMOS float64
	}{
		{mos.G711(), 4.112956},
		{mos.G729(), 3.583712},
	} {
		t.Run(tc.codec.Name, func(t *testing.T) {
			var s Stream
			s.Init(1, 8000, Options{Codec: tc.codec})
			g := newSender(&s, 30000, 0, 18)
			bursts := map[int]int{100: 4, 300: 1, 500: 2, 700: 10, 900: 12}
			for i := 0; i < 1000; {
				if n := bursts[i]; n > 0 {
					g.skip(n)
					i += n
					continue
				}
				g.send(0)
				i++
			}
			r := s.Snapshot()
			if r.Expected != 1000 || r.Lost != 29 || r.LossBursts != 5 || r.BurstHist != [5]int64{1, 1, 1, 1, 1} {
				t.Fatalf("bursts: expected %d lost %d bursts %d hist %v", r.Expected, r.Lost, r.LossBursts, r.BurstHist)
			}
			if r.FoundFound != 965 || r.FoundLost != 5 || r.LostFound != 5 || r.LostLost != 24 {
				t.Errorf("transitions %d %d %d %d", r.FoundFound, r.FoundLost, r.LostFound, r.LostLost)
			}
			near(t, "MeanBurstLen", r.MeanBurstLen, 29.0/5, 1e-12)
			near(t, "MeanGapLen", r.MeanGapLen, 971.0/6, 1e-12)
			p, q := 5.0/970, 5.0/29
			burstR := 1 / (p + q)
			near(t, "BurstR", r.BurstR, burstR, 1e-12)
			ieEff := tc.codec.Ie + (95-tc.codec.Ie)*2.9/(2.9/burstR+tc.codec.Bpl)
			rr := 93.2 - ieEff
			hand := 1 + 0.035*rr + 7e-6*rr*(rr-60)*(100-rr)
			near(t, "MOS (formula)", r.MOS, hand, 1e-9)
			near(t, "MOS (hand value)", r.MOS, tc.wantMOS, 5e-7)
			near(t, "LossPercent", r.LossPercent, 2.9, 1e-12)
		})
	}
}

// TestIntervals: interval reports are differences of the running totals,
// so they add up to the snapshot; jitter extremes are each interval's own.
func TestIntervals(t *testing.T) {
	var s Stream
	s.Init(1, 8000, Options{})
	g := newSender(&s, 65000, 0, 8)
	var sum Report
	add := func(r Report) {
		sum.Packets += r.Packets
		sum.Expected += r.Expected
		sum.Lost += r.Lost
		sum.LossBursts += r.LossBursts
		sum.Duplicates += r.Duplicates
		for i := range r.BurstHist {
			sum.BurstHist[i] += r.BurstHist[i]
		}
		sum.FoundFound += r.FoundFound
		sum.LostLost += r.LostLost
	}
	// Interval 1: 500 clean packets with 2 ms jitter.
	for i := range 500 {
		g.send(int64(i%2) * 2000)
	}
	r1 := s.Interval()
	add(r1)
	if r1.Packets != 500 || r1.Lost != 0 || r1.MaxJitterMS < 1 || r1.FirstUS != g.t0US || r1.Gaps != 1 || r1.MeanGapLen != 500 {
		t.Errorf("interval 1: %+v", r1)
	}
	// Interval 2: 500 packets with a burst of 3, no jitter, a duplicate;
	// a burst of 2 right at its end (still in the window).
	for i := range 500 {
		if i == 200 {
			g.skip(3)
		}
		g.send(0)
	}
	g.deliver(g.seq-1, g.ts-160, 8, false, 160, g.t0US+int64(g.index-1)*20_000+1000)
	g.skip(2)
	g.send(0)
	r2 := s.Interval()
	add(r2)
	// Two runs of received packets began in it (after each burst), with
	// 501 received positions (the duplicate is not one).
	if r2.Packets != 502 || r2.Expected != 506 || r2.Lost != 4 || r2.Duplicates != 1 || r2.LossBursts != 2 || r2.BurstHist != [5]int64{0, 1, 1, 0, 0} ||
		r2.Gaps != 2 || r2.MeanGapLen != 250.5 {
		t.Errorf("interval 2: %+v", r2)
	}
	// Interval 3: 100 more clean packets; the burst of 2 stays as it was
	// reported. J has decayed: interval 3's maximum is its own, not
	// interval 1's.
	for range 100 {
		g.send(0)
	}
	r3 := s.Interval()
	add(r3)
	if r3.Packets != 100 || r3.Lost != 0 || r3.LossBursts != 0 || r3.Gaps != 0 || r3.MeanGapLen != 100 {
		t.Errorf("interval 3: %+v", r3)
	}
	if r1.MaxJitterMS < 1.5 || r3.MaxJitterMS > 0.5 {
		t.Errorf("max jitter of interval 1 %v, of interval 3 %v", r1.MaxJitterMS, r3.MaxJitterMS)
	}
	total := s.Snapshot()
	if sum.Packets != total.Packets || sum.Expected != total.Expected || sum.Lost != total.Lost ||
		sum.LossBursts != total.LossBursts || sum.BurstHist != total.BurstHist || sum.Duplicates != total.Duplicates ||
		sum.FoundFound != total.FoundFound || sum.LostLost != total.LostLost {
		t.Errorf("intervals do not add up:\nsum  %+v\ntotal %+v", sum, total)
	}
	// An empty interval.
	if r := s.Interval(); r.Packets != 0 || r.Expected != 0 || r.FirstUS != 0 || r.MOS != mos.MOS(mos.G711(), 0, 1, 0) {
		t.Errorf("empty interval: %+v", r)
	}
}

// TestWrongTimestamp: a packet stamped before the first packet (a late
// leftover, or garbage) counts, but not in timing (Wireshark's "wrong
// timestamp").
func TestWrongTimestamp(t *testing.T) {
	var s Stream
	s.Init(1, 8000, Options{})
	g := newSender(&s, 0, 1_000_000, 8)
	for range 10 {
		g.send(0)
	}
	g.deliver(g.seq, 1, 8, false, 160, g.t0US+int64(g.index)*20_000+500_000)
	g.skip(1)
	for range 10 {
		g.send(0)
	}
	// Max delta spans the wrong packet's slot: 40 ms, as in Wireshark,
	// whose arrival reference skips such packets too.
	if r := s.Snapshot(); r.Packets != 21 || r.Lost != 0 || r.MaxJitterMS != 0 || r.MaxDeltaMS != 40 || r.LateFixed != 0 {
		t.Errorf("wrong timestamp: %+v", r)
	}
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.9f, want %.9f", what, got, want)
	}
}
