package rtp

import "github.com/trunkscope/trunkscope/probe/mos"

// Report is the state of a stream over a span: the whole stream so far
// (Snapshot) or one interval (Interval). Counts are int64 because an
// interval's are differences and may be negative (lost, with duplicates;
// a burst that a late packet shortened after the previous report).
type Report struct {
	SSRC    uint32
	ClockHz uint32
	// FirstUS and LastUS are the arrival times of the span's first and
	// last packet (0 when the span has none).
	FirstUS, LastUS int64

	// Packets counts every packet received, duplicates included (RFC
	// 3550 A.3 "received"). Expected and Lost follow RFC 3550 A.3; Lost
	// is Expected - Packets and is negative when duplicates outnumber
	// the losses.
	Packets, Expected, Lost int64
	// Duplicates were seen before; Reordered arrived below the highest
	// sequence number without being duplicates.
	Duplicates, Reordered int64
	Markers               int64
	// ComfortNoise counts PT 13/19 packets; Events RFC 4733 telephone
	// events; Unclocked every packet left out of jitter because its
	// payload type has no usable clock (events included).
	ComfortNoise, Events, Unclocked int64
	Octets                          int64

	// JitterMS is the interarrival jitter J at the end of the span (RFC
	// 3550 A.8), MeanJitterMS and MaxJitterMS its mean and maximum over
	// the span's regular packets (see Stream), MaxDeltaMS the largest
	// gap between two regular packets' arrivals.
	JitterMS, MeanJitterMS, MaxJitterMS, MaxDeltaMS float64

	// LossBursts counts runs of consecutive lost packets that began in
	// the span, BurstHist them by length: 1, 2, 3-5, 6-10, more than 10.
	// MeanBurstLen is the span's lost positions / LossBursts. Gaps counts
	// the runs of received packets that began in the span (the stream's
	// first run belongs to its first interval), MeanGapLen is the span's
	// received positions / Gaps (all of them when no run began: the span
	// lies inside one).
	LossBursts   int64
	BurstHist    [5]int64
	MeanBurstLen float64
	Gaps         int64
	MeanGapLen   float64
	// FoundFound .. LostLost count the loss chain's transitions between
	// consecutive sequence numbers (found = received), from which BurstR
	// follows; they add up over intervals, so a collector can merge
	// intervals and recompute it.
	FoundFound, FoundLost, LostFound, LostLost int64
	// BurstR is G.107's burst ratio 1/(p+q) of the span's losses
	// (mos.MarkovBurstR): 1 for random loss, above 1 for bursty loss.
	BurstR float64

	// LateFixed and LateAdaptive count packets that arrived too late for
	// the simulated fixed and adaptive jitter buffers.
	LateFixed, LateAdaptive int64

	// LossPercent is Lost / Expected in percent (negative Lost counts 0):
	// the network's loss, the E-model's Ppl. MOS is the E-model score
	// for it; MOSFixed and MOSAdaptive the listener's behind each
	// simulated buffer, with the late packets counted as lost.
	LossPercent                float64
	MOS, MOSFixed, MOSAdaptive float64
	// CodecSubstitute is set when the MOS uses stand-in codec figures
	// (mos.Codec.Substitute).
	CodecSubstitute bool
}

// Snapshot reports the whole stream since Init, without changing it: the
// final report of a stream, or a running total. Positions still in the
// sequence window count as they stand (a missing one as lost), so a later
// Snapshot may move a burst when a late packet fills a gap.
//
// Its MeanJitterMS is tshark's "Mean Jitter": Wireshark's running mean,
// which divides by every packet before the current one, sampled or not
// (see Stream.Add), so that the figure compares with tshark's.
func (s *Stream) Snapshot() Report {
	t := s.totals()
	r := s.report(t, true)
	r.FirstUS, r.LastUS = s.firstUS, s.lastUS
	r.MeanJitterMS = s.toMS(s.meanJitter)
	r.MaxJitterMS = s.toMS(s.maxJitter)
	r.MaxDeltaMS = float64(s.maxDeltaUS) / 1000
	if s.c.packets == 0 {
		r.FirstUS, r.LastUS = 0, 0
	}
	return r
}

// Interval reports the span since the previous Interval (or Init) and
// starts a new one: the caller emits it every interval (DESIGN.md: every
// 10 s) and Snapshot at the stream's end. Counts are the differences of
// the running totals at the two calls (RFC 3550 A.3), so intervals add up
// to the Snapshot; the jitter mean, maxima and max delta are the
// interval's own.
func (s *Stream) Interval() Report {
	t := s.totals()
	d := t.sub(&s.base)
	r := s.report(d, s.base.expected == 0)
	if d.packets != 0 {
		r.FirstUS, r.LastUS = s.ivFirstUS, s.lastUS
	}
	if s.ivNJitter > 0 {
		r.MeanJitterMS = s.toMS(s.ivSumJitter / float64(s.ivNJitter))
	}
	r.MaxJitterMS = s.toMS(s.ivMaxJitter)
	r.MaxDeltaMS = float64(s.ivMaxDeltaUS) / 1000
	s.base = t
	s.ivFirstUS, s.ivMaxJitter, s.ivSumJitter, s.ivNJitter, s.ivMaxDeltaUS = 0, 0, 0, 0, 0
	return r
}

// totals returns the running counters with the positions still in the
// window run through a copy of the loss chain and an open burst closed,
// leaving s as it is.
func (s *Stream) totals() counters {
	t := s.c
	if s.flags&flagStarted == 0 {
		return t
	}
	t.expected = s.maxExt - s.baseExt + 1
	flags, run := s.flags, s.chainRun
	for p := s.nextFinal; int32(s.maxExt-p) >= 0; p++ {
		t.feed(s.seen>>(s.maxExt-p)&1 != 0, &flags, &run)
	}
	if flags&flagChainLost != 0 {
		t.hist[burstBucket(run)]++
	}
	return t
}

// sub returns c - b, field by field (uint32 arithmetic, read back as
// signed by report).
func (c *counters) sub(b *counters) counters {
	d := counters{
		expected: c.expected - b.expected, packets: c.packets - b.packets,
		dups: c.dups - b.dups, reorders: c.reorders - b.reorders,
		markers: c.markers - b.markers, cn: c.cn - b.cn, events: c.events - b.events,
		unclocked: c.unclocked - b.unclocked,
		lateFixed: c.lateFixed - b.lateFixed, lateAdaptive: c.lateAdaptive - b.lateAdaptive,
		ff: c.ff - b.ff, fl: c.fl - b.fl, lf: c.lf - b.lf, ll: c.ll - b.ll,
		octets: c.octets - b.octets,
	}
	for i := range d.hist {
		d.hist[i] = c.hist[i] - b.hist[i]
	}
	return d
}

// report fills the fields that follow from counters alone; whole is set
// when the span starts with the stream (its first received run begins in
// it).
func (s *Stream) report(t counters, whole bool) Report {
	r := Report{
		SSRC: s.ssrc, ClockHz: s.clock,
		Packets: i64(t.packets), Expected: i64(t.expected),
		Duplicates: i64(t.dups), Reordered: i64(t.reorders), Markers: i64(t.markers),
		ComfortNoise: i64(t.cn), Events: i64(t.events), Unclocked: i64(t.unclocked),
		Octets:     int64(t.octets),
		JitterMS:   s.jitterMS(),
		FoundFound: i64(t.ff), FoundLost: i64(t.fl), LostFound: i64(t.lf), LostLost: i64(t.ll),
		LossBursts: i64(t.fl),
		LateFixed:  i64(t.lateFixed), LateAdaptive: i64(t.lateAdaptive),
		CodecSubstitute: s.codec.Substitute,
	}
	r.Lost = r.Expected - r.Packets
	for i, n := range t.hist {
		r.BurstHist[i] = i64(n)
	}
	if r.LossBursts > 0 {
		r.MeanBurstLen = float64(r.FoundLost+r.LostLost) / float64(r.LossBursts)
	}
	// Received positions of the chain: its first one (the stream's first
	// packet), then every transition into "found".
	received, runs := r.FoundFound+r.LostFound, r.LostFound
	if whole && s.flags&flagStarted != 0 {
		received, runs = received+1, runs+1
	}
	r.Gaps = runs
	if runs > 0 {
		r.MeanGapLen = float64(received) / float64(runs)
	} else {
		r.MeanGapLen = float64(received)
	}
	r.BurstR = mos.MarkovBurstR(u64(r.FoundFound), u64(r.FoundLost), u64(r.LostFound), u64(r.LostLost))
	lost := max(r.Lost, 0)
	r.LossPercent = percent(lost, r.Expected)
	r.MOS = mos.MOS(s.codec, r.LossPercent, r.BurstR, s.id)
	r.MOSFixed = mos.MOS(s.codec, percent(lost+max(r.LateFixed, 0), r.Expected), r.BurstR, s.id)
	r.MOSAdaptive = mos.MOS(s.codec, percent(lost+max(r.LateAdaptive, 0), r.Expected), r.BurstR, s.id)
	return r
}

func (s *Stream) toMS(tsUnits float64) float64 {
	if s.clock == 0 {
		return 0
	}
	return tsUnits * 1000 / float64(s.clock)
}

// i64 reads a counter or counter difference as signed: a difference that
// went "negative" in uint32 arithmetic comes back negative.
func i64(v uint32) int64 { return int64(int32(v)) }

func u64(v int64) uint64 { return uint64(max(v, 0)) }

func percent(n, of int64) float64 {
	if of <= 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}
