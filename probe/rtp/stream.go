package rtp

import (
	"math"

	"github.com/trunkscope/trunkscope/probe/mos"
)

// Jitter-buffer defaults. The fixed depth is the DESIGN.md default; the
// adaptive bounds are one 20 ms packet (below that a buffer cannot smooth
// anything) and half a second, where a buffer adds more delay than the
// late packets it saves are worth (G.114: one-way delay above 400 ms is
// unacceptable for planning).
const (
	DefaultFixedBufferMS = 60
	DefaultAdaptiveMinMS = 20
	DefaultAdaptiveMaxMS = 500
)

const (
	// window is how many sequence numbers behind the highest one the
	// stream remembers, one bit each: enough to tell a duplicate from a
	// reordered packet and to let late packets fill a gap before the
	// burst statistics take the position as lost.
	window = 64
	// adaptiveK sets the adaptive buffer's depth to K mean deviations of
	// the transit time (Ramjee et al., "Adaptive playout mechanisms for
	// packetized audio applications", INFOCOM 1994, algorithm 1: playout
	// = mean + 4 * variation).
	adaptiveK = 4
	// fixedResync is how many packets in a row a fixed buffer lets arrive
	// too late before it re-centres on the current delay, as a real fixed
	// buffer does when the network delay steps up for good (otherwise one
	// route change would count every later packet as late).
	fixedResync = 8
)

// Options tune a Stream beyond its SSRC and clock. The zero value is ready
// to use: static payload types only, no telephone events, default buffers,
// G.711 figures for the MOS, no delay impairment, RFC 3550 jitter.
type Options struct {
	// DynamicPT is the stream's codec payload type when it is dynamic
	// (96-127, from SDP a=rtpmap; e.g. 111 for opus/48000). Packets of
	// that type run on the clock given to Init. 0: the codec is static.
	DynamicPT uint8
	// EventPT is the RFC 4733 telephone-event payload type from SDP
	// (a=rtpmap:101 telephone-event/8000). 0: none negotiated.
	EventPT uint8
	// DetectEvents, with no EventPT, takes the first packet of a dynamic
	// payload type other than DynamicPT that carries exactly 4 payload
	// bytes (one RFC 4733 §2.3 event block) for a telephone event and
	// adopts its type as EventPT. Without SDP this is how the probe tells
	// DTMF from an unknown codec.
	DetectEvents bool
	// FixedBufferMS is the depth of the simulated fixed jitter buffer
	// (default DefaultFixedBufferMS).
	FixedBufferMS int
	// AdaptiveMinMS and AdaptiveMaxMS bound the simulated adaptive
	// buffer's depth (defaults DefaultAdaptiveMinMS, DefaultAdaptiveMaxMS).
	AdaptiveMinMS, AdaptiveMaxMS int
	// Codec holds the E-model figures for the MOS (mos.Lookup). The zero
	// value means G.711 (mos.G711).
	Codec mos.Codec
	// DelayImpairment is the E-model's Id (G.107 §7.4): 0 for a passive
	// monitor, which cannot see one-way delay; the active probe can pass
	// mos.Idd of its measured delay.
	DelayImpairment float64
	// WiresharkJitter makes the jitter follow Wireshark 4.0 in one place
	// where it departs from RFC 3550: a packet with no usable clock (an
	// RFC 4733 event, an unknown dynamic payload type) still moves the
	// arrival time the next packet's transit is measured from, while its
	// timestamp does not count. After each DTMF digit the next voice
	// packet then shows a transit jump of the digit's length, and the
	// jitter a spike that RFC 3550 would not see. Set it to compare
	// figures with tshark; leave it off for the listener's view.
	WiresharkJitter bool
}

// Stream flags.
const (
	flagStarted uint8 = 1 << iota
	flagDetectEvents
	flagWireshark
	flagFixedAnchored
	flagAdaptiveStarted
	flagChainStarted // the burst chain has seen its first position
	flagChainLost    // the last position the chain saw was lost
)

// Stream accumulates the statistics of one RTP stream (one SSRC from one
// source to one destination). The caller finds the Stream for a packet and
// calls Add; Snapshot and Interval turn the state into Reports. A Stream is
// not safe for concurrent use; its zero value must be Init'ed.
//
// # Sequence numbers (RFC 3550 A.1, A.3)
//
// Each sequence number is extended to 32 bits by taking the 16-bit value
// nearest the highest one seen (as Wireshark's RTP dissector does), the
// first packet's number is the base, and
//
//	expected = extended highest - base + 1
//	lost     = expected - packets
//
// where packets counts everything received, duplicates included: lost goes
// negative with duplicates, as RFC 3550 §6.4.1 allows for the cumulative
// number lost. A 64-bit window of the sequence numbers below the highest
// tells a duplicate (seen before) from a reordered packet (lower than the
// highest, not seen before). Unlike RFC 3550 A.1 there is no probation and
// no re-synchronisation on a large jump: like tshark, every packet counts.
// Wireshark 4.0 takes "expected" from the last packet's sequence number,
// not the highest; the two differ only when the last packet arrives out
// of order.
//
// # Jitter (RFC 3550 A.8)
//
// For each packet i with a usable clock and the previous such packet j,
//
//	D = (Ri - Rj) - (Si - Sj)   (arrival R, RTP timestamp S, timestamp units)
//	J = J + (|D| - J) / 16
//
// reported in milliseconds as J / clock * 1000. As in Wireshark a packet
// whose timestamp is before the first packet's is not used (it is late
// from a previous talkspurt or garbage), comfort noise (PT 13, 19) updates
// J but is not sampled for the mean and maximum, nor is the packet after
// it, nor a packet with the marker bit (its transit jump after silence
// suppression is not network jitter), and packets without a usable clock
// are left out entirely: RFC 4733 events (their timestamp is the event's
// start, repeated, RFC 4733 §2.3.1), unknown dynamic payload types, and
// static types whose RFC 3551 clock differs from the stream's. Maximum
// jitter and maximum delta (largest arrival gap) are taken over the
// remaining "regular" packets. The mean jitter of Snapshot is Wireshark's
// running mean (see Snapshot); an interval's is the plain mean of J over
// its regular packets.
//
// # Loss bursts
//
// Once a sequence number falls out of the window it is final: received or
// lost. The final positions, in sequence order, drive a two-state chain
// (found, lost) that counts its transitions, from which the E-model's
// BurstR follows (mos.MarkovBurstR, G.107 §7.5), and the lengths of the
// bursts of consecutive losses (the histogram). Reports also count the
// positions still in the window, provisionally, so that a short stream and
// the end of a stream are not missed. State is O(1): the window, the chain
// state and the counters.
//
// # Jitter buffers
//
// Each packet with a usable clock, in time and not a duplicate, goes
// through two simulated playout buffers that work on its transit time
// T = arrival - (timestamp - first timestamp) / clock:
//
//   - fixed: the first packet, and the first of each talkspurt (marker
//     bit), anchor the playout at their transit plus the depth; a packet
//     whose transit exceeds the anchor by more than the depth is late.
//     After fixedResync late packets in a row the buffer re-anchors.
//   - adaptive: the buffer tracks the mean transit m and its mean
//     deviation v with a gain of 1/16 each (the factor RFC 3550 uses for
//     J) and plays out at m + clamp(4 v, min, max); a packet whose transit
//     exceeds that is late. v starts at a quarter of the fixed depth, so
//     the buffer starts as deep as the fixed one. It adapts at every
//     packet, as a buffer with time-scale modification does, not only
//     between talkspurts.
//
// A late packet was received (it counts in packets) but is lost for the
// listener: it counts in LateFixed or LateAdaptive, and the listener's MOS
// takes it as lost (DESIGN.md: "late packets count as lost for the MOS of
// the listener").
type Stream struct {
	ssrc    uint32
	clock   uint32
	dynPT   uint8
	eventPT uint8
	flags   uint8
	prevPT  uint8 // payload type of the previous packet, for Wireshark's "follows CN"
	// ivNJitter and fixLateRun (the interval's jitter samples, the late
	// run of the fixed buffer) sit among the small fields: placed with the
	// other interval and buffer fields they left 8 bytes of padding, which
	// an IPv6 stream's record could not spare (DESIGN.md: <= 512 bytes).
	ivNJitter uint32
	fixedUS   float64
	adMinUS   float64
	adMaxUS   float64
	codec     mos.Codec
	id        float64

	// Sequence state (RFC 3550 A.1), extended numbers start at 1<<16 so
	// that a packet from before the first one does not underflow.
	baseExt    uint32
	maxExt     uint32
	nextFinal  uint32 // lowest extended number not yet handed to the chain
	chainRun   uint32 // length of the current run of lost positions
	fixLateRun uint32
	seen       uint64 // bit i: extended number maxExt-i was received

	// Timing. Timestamps are extended to 64 bits (tsExt) against the last
	// one seen.
	firstUS   int64
	lastUS    int64
	firstTS   int64
	lastTS    int64
	prevArrUS int64   // arrival of the last in-time packet (Wireshark's statinfo->time)
	refArrUS  int64   // arrival of the last in-time clocked packet
	refTS     int64   // its extended timestamp
	jitter    float64 // J, timestamp units

	maxJitter  float64 // timestamp units, regular packets
	meanJitter float64 // Wireshark's running mean, in clock units (ms at report time: one division less per packet)
	maxDeltaUS int64

	// The interval's own extremes and sums (reset by Interval).
	ivFirstUS    int64
	ivMaxJitter  float64
	ivSumJitter  float64
	ivMaxDeltaUS int64

	// Jitter buffers, transit times in µs.
	fixAnchor float64
	adMean    float64
	adDev     float64

	c    counters // since Init
	base counters // at the last Interval
}

// counters are the additive figures of a stream; a Report's are the
// difference of two snapshots of them (RFC 3550 A.3: "expected_interval =
// expected - expected_prior").
type counters struct {
	expected     uint32
	packets      uint32
	dups         uint32
	reorders     uint32
	markers      uint32
	cn           uint32
	events       uint32
	unclocked    uint32
	lateFixed    uint32
	lateAdaptive uint32
	// Transitions of the loss chain: found->found, found->lost,
	// lost->found, lost->lost.
	ff, fl, lf, ll uint32
	hist           [5]uint32
	octets         uint64
}

// Init (re)starts s for a stream with the given SSRC and RTP clock rate in
// Hz (8000 for G.711, G.729 and G.722, 48000 for Opus; RFC 3551 §4.5.2 for
// G.722's 8000). A zero clock disables jitter and the jitter buffers.
// Reusing a Stream through Init (a new SSRC on the same 5-tuple) keeps
// nothing of the previous stream.
func (s *Stream) Init(ssrc, clockHz uint32, opt Options) {
	*s = Stream{ssrc: ssrc, clock: clockHz, dynPT: opt.DynamicPT, eventPT: opt.EventPT, codec: opt.Codec, id: opt.DelayImpairment}
	if opt.DetectEvents {
		s.flags |= flagDetectEvents
	}
	if opt.WiresharkJitter {
		s.flags |= flagWireshark
	}
	if s.codec.Bpl == 0 && s.codec.Ie == 0 && s.codec.Name == "" {
		s.codec = mos.G711()
	}
	s.fixedUS = 1000 * float64(orDefault(opt.FixedBufferMS, DefaultFixedBufferMS))
	s.adMinUS = 1000 * float64(orDefault(opt.AdaptiveMinMS, DefaultAdaptiveMinMS))
	s.adMaxUS = 1000 * float64(orDefault(opt.AdaptiveMaxMS, DefaultAdaptiveMaxMS))
	if s.adMaxUS < s.adMinUS {
		s.adMaxUS = s.adMinUS
	}
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// SSRC returns the stream's synchronisation source.
func (s *Stream) SSRC() uint32 { return s.ssrc }

// Packets returns how many packets Add has seen since Init.
func (s *Stream) Packets() uint32 { return s.c.packets }

// Add accounts one packet that arrived at tsUS (microseconds, any epoch
// as long as it is the same for every packet of the stream) with header h
// and payloadLen payload bytes (h.PayloadLen, normally). It does not
// allocate.
func (s *Stream) Add(tsUS int64, h *Header, payloadLen int) {
	c := &s.c
	c.packets++
	c.octets += uint64(max(payloadLen, 0))
	if h.Marker {
		c.markers++
	}
	pt := h.PayloadType
	cn := isCN(pt)
	if cn {
		c.cn++
	}
	clocked, event := s.classify(pt, payloadLen)
	if event {
		c.events++
	}
	if !clocked {
		c.unclocked++
	}
	if s.flags&flagStarted == 0 {
		s.start(tsUS, h, clocked)
		return
	}
	s.lastUS = tsUS
	if s.ivFirstUS == 0 {
		s.ivFirstUS = tsUS
	}
	dup := s.sequence(s.extendSeq(h.Seq))

	ts := s.lastTS + int64(int32(h.Timestamp-uint32(s.lastTS)))
	s.lastTS = ts
	prevCN := isCN(s.prevPT)
	s.prevPT = pt
	if ts < s.firstTS {
		// Wireshark's "wrong timestamp": before the stream's first
		// packet, so not on its time line. Nothing timing-related.
		return
	}
	regular := !h.Marker && !cn && !prevCN
	delta := tsUS - s.prevArrUS
	if clocked {
		ref := s.refArrUS
		if s.flags&flagWireshark != 0 {
			ref = s.prevArrUS
		}
		d := float64(tsUS-ref)*float64(s.clock)*1e-6 - float64(ts-s.refTS) // a multiply: this runs per packet
		s.jitter += (math.Abs(d) - s.jitter) / 16
		s.refArrUS, s.refTS = tsUS, ts
		if !dup {
			s.buffers(float64(tsUS)-float64(ts-s.firstTS)*1e6/float64(s.clock), h.Marker)
		}
	}
	s.prevArrUS = tsUS
	if !regular {
		return
	}
	s.maxDeltaUS = max(s.maxDeltaUS, delta)
	s.ivMaxDeltaUS = max(s.ivMaxDeltaUS, delta)
	if !clocked {
		return
	}
	s.maxJitter = max(s.maxJitter, s.jitter)
	s.ivMaxJitter = max(s.ivMaxJitter, s.jitter)
	s.ivSumJitter += s.jitter
	s.ivNJitter++
	// Wireshark's running mean: n is the number of packets before this
	// one, whether or not they were sampled (tap-rtp-analysis.c divides
	// by total_nr), so the mean is only a true average over streams whose
	// packets are all regular.
	n := float64(c.packets - 1)
	s.meanJitter = (s.meanJitter*(n-1) + s.jitter) / n
}

// start takes the first packet: base sequence number, first timestamp,
// and the reference of the first transit. Nothing else is measured on it
// (Wireshark: STAT_FLAG_FIRST).
func (s *Stream) start(tsUS int64, h *Header, clocked bool) {
	s.flags |= flagStarted
	s.baseExt = 1<<16 | uint32(h.Seq)
	s.maxExt, s.nextFinal, s.seen = s.baseExt, s.baseExt, 1
	s.firstUS, s.lastUS, s.ivFirstUS = tsUS, tsUS, tsUS
	s.firstTS = 1<<32 | int64(h.Timestamp)
	s.lastTS, s.refTS = s.firstTS, s.firstTS
	s.prevArrUS, s.refArrUS = tsUS, tsUS
	s.prevPT = h.PayloadType
	if clocked {
		s.buffers(float64(tsUS), h.Marker)
	}
}

// classify tells whether a packet of payload type pt runs on the stream's
// clock, and whether it is a telephone event.
func (s *Stream) classify(pt uint8, payloadLen int) (clocked, event bool) {
	if s.clock == 0 {
		return false, s.eventPT != 0 && pt == s.eventPT
	}
	if s.eventPT != 0 && pt == s.eventPT {
		return false, true
	}
	if pt >= 96 {
		if pt == s.dynPT {
			return true, false
		}
		if s.flags&flagDetectEvents != 0 && s.eventPT == 0 && payloadLen == 4 {
			s.eventPT = pt
			return false, true
		}
		return false, false
	}
	return staticClock(pt) == s.clock, false
}

// staticClock is the RTP clock rate of a static payload type (RFC 3551
// Tables 4 and 5; 19 is the comfort-noise type of RFC 1890's era, which
// Wireshark still clocks at 8000), 0 for unassigned and dynamic types.
func staticClock(pt uint8) uint32 {
	switch pt {
	case 0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 15, 18, 19:
		return 8000
	case 6:
		return 16000
	case 10, 11:
		return 44100
	case 16:
		return 11025
	case 17:
		return 22050
	case 14, 25, 26, 28, 31, 32, 33, 34:
		return 90000
	}
	return 0
}

// isCN reports comfort noise: PT 13 (RFC 3389) and the older 19.
func isCN(pt uint8) bool { return pt == 13 || pt == 19 }

// extendSeq extends a 16-bit sequence number to the 32-bit value nearest
// the highest one seen.
func (s *Stream) extendSeq(seq uint16) uint32 {
	return s.maxExt + uint32(int32(int16(seq-uint16(s.maxExt))))
}

// sequence records extended number e in the window and reports whether it
// is a duplicate.
func (s *Stream) sequence(e uint32) (dup bool) {
	if int32(e-s.maxExt) > 0 {
		d := e - s.maxExt
		s.finalize(e - (window - 1))
		if d >= window {
			s.seen = 1
		} else {
			s.seen = s.seen<<d | 1
		}
		s.maxExt = e
		return false
	}
	dist := s.maxExt - e
	if dist >= window || int32(e-s.baseExt) < 0 {
		// Too old for the window, or from before the first packet:
		// reordered (RFC 3550 counts it received; it cannot be told
		// from a duplicate).
		s.c.reorders++
		return false
	}
	bit := uint64(1) << dist
	if s.seen&bit != 0 {
		s.c.dups++
		return true
	}
	s.seen |= bit
	s.c.reorders++
	return false
}

// finalize hands every position below limit to the loss chain: those
// still in the window with their bit, those past the highest number (the
// gap a forward jump leaves) as lost.
func (s *Stream) finalize(limit uint32) {
	for int32(limit-s.nextFinal) > 0 && int32(s.maxExt-s.nextFinal) >= 0 {
		s.c.feed(s.seen>>(s.maxExt-s.nextFinal)&1 != 0, &s.flags, &s.chainRun)
		s.nextFinal++
	}
	if n := int32(limit - s.nextFinal); n > 0 {
		s.c.feedLost(uint32(n), &s.flags, &s.chainRun)
		s.nextFinal = limit
	}
}

// feed moves the loss chain by one position.
func (c *counters) feed(received bool, flags *uint8, run *uint32) {
	started, lost := *flags&flagChainStarted != 0, *flags&flagChainLost != 0
	*flags |= flagChainStarted
	if received {
		switch {
		case lost:
			c.lf++
			c.hist[burstBucket(*run)]++
			*run = 0
		case started:
			c.ff++
		}
		*flags &^= flagChainLost
		return
	}
	if lost {
		c.ll++
	} else {
		c.fl++
	}
	*run++
	*flags |= flagChainLost
}

// feedLost moves the loss chain by n lost positions at once.
func (c *counters) feedLost(n uint32, flags *uint8, run *uint32) {
	if *flags&flagChainLost != 0 {
		c.ll += n
	} else {
		c.fl++
		c.ll += n - 1
	}
	*run += n
	*flags |= flagChainStarted | flagChainLost
}

// burstBucket is the histogram bucket of a burst of n lost packets:
// 1, 2, 3-5, 6-10, more than 10 (Report.BurstHist).
func burstBucket(n uint32) int {
	switch {
	case n <= 1:
		return 0
	case n == 2:
		return 1
	case n <= 5:
		return 2
	case n <= 10:
		return 3
	}
	return 4
}

// buffers runs one packet through the simulated jitter buffers; transit
// is its arrival minus its media time, in µs.
func (s *Stream) buffers(transit float64, marker bool) {
	switch {
	case s.flags&flagFixedAnchored == 0 || marker:
		s.fixAnchor, s.fixLateRun = transit, 0
		s.flags |= flagFixedAnchored
	case transit-s.fixAnchor > s.fixedUS:
		s.c.lateFixed++
		if s.fixLateRun++; s.fixLateRun >= fixedResync {
			s.fixAnchor, s.fixLateRun = transit, 0
		}
	default:
		s.fixLateRun = 0
	}

	if s.flags&flagAdaptiveStarted == 0 {
		// Start at the fixed buffer's depth, as a real adaptive buffer
		// starts from a configured initial delay, and adapt from there:
		// starting at the minimum would call the first jitter late.
		s.adMean, s.adDev = transit, s.fixedUS/adaptiveK
		s.flags |= flagAdaptiveStarted
		return
	}
	depth := min(max(adaptiveK*s.adDev, s.adMinUS), s.adMaxUS)
	dev := transit - s.adMean
	if dev > depth {
		s.c.lateAdaptive++
	}
	s.adMean += dev / 16
	s.adDev += (math.Abs(dev) - s.adDev) / 16
}

func (s *Stream) jitterMS() float64 { return s.toMS(s.jitter) }
