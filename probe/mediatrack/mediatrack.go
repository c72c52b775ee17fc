// Package mediatrack follows the media of the calls a probe sees and
// reports each RTP stream's quality (DESIGN.md, Probe): a Tracker is the
// probe's MediaHandler (probe.Media). It learns each call's media
// addresses and codecs from the SDP in its SIP bodies (package media),
// finds the stream of every RTP packet by source, destination and SSRC,
// measures it (package rtp: loss, jitter, bursts, jitter buffers, MOS), and
// hands an event.RTPReport to a ReportSink every Interval of capture time
// and once when the stream ends: Idle after its last packet, EndLinger
// after its call's BYE, evicted at MaxStreams, or at Flush.
//
// RTP that no SDP maps (the call's signalling is elsewhere, or encrypted)
// is still tracked when it looks like RTP on unprivileged ports, with an
// empty Call-ID, like Wireshark's rtp_udp heuristic (option Heuristic).
// RTCP is told apart first (RFC 5761 §4), parsed and counted.
//
// Everything runs on capture time: a replayed capture reports exactly as
// the live traffic did. Time-driven work (idle streams, the end of a
// call's streams after its BYE, the media table's expiry) runs in a sweep
// once per second of capture time, never per packet.
//
// The packet path allocates nothing once a stream is established (a
// report allocates its ID hash's scratch), and a stream costs under 512
// bytes (480 in the slab, its share of the index and the call record); see
// README.md for the figures. A Tracker is not safe for concurrent use: like
// the Probe that calls it, it belongs to one capture goroutine.
package mediatrack

import (
	"github.com/trunkscope/trunkscope/probe/internal/ascii"

	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/media"
	"github.com/trunkscope/trunkscope/probe/mos"
	"github.com/trunkscope/trunkscope/probe/rtcp"
	"github.com/trunkscope/trunkscope/probe/rtp"
	"github.com/trunkscope/trunkscope/probe/sdp"
)

// ReportSink receives the Tracker's stream reports.
//
// r and every byte slice in it (ProbeID, CallID, Codec) alias the
// Tracker's reused buffers: they are valid only until RTPReport returns. A
// sink encodes (event.AppendRTPReport) or copies what it keeps before
// returning, and must not retain r.
//
// An error is counted (Stats.SinkErrors); the stream it reports on is not
// retried. Flush returns the first one.
type ReportSink interface {
	RTPReport(r *event.RTPReport) error
}

// ReportFunc adapts a function to a ReportSink.
type ReportFunc func(r *event.RTPReport) error

// RTPReport calls f(r).
func (f ReportFunc) RTPReport(r *event.RTPReport) error { return f(r) }

// Tracker follows RTP streams; see the package documentation. Create it
// with New. It is not safe for concurrent use.
type Tracker struct {
	cfg     cfg
	sink    ReportSink
	table   *media.Table
	probeID []byte
	ids     *event.IDHasher

	intervalMS, idleMS, lingerMS uint32

	// Capture-time clock: baseUS is the first time seen (stream times
	// are milliseconds since it), nowUS the latest, sweptUS the last
	// sweep's.
	started                bool
	baseUS, nowUS, sweptUS int64

	// Streams: the slab (see stream), its free list and index.
	chunks [][]stream
	n, hi  int
	free   int32
	index  index
	seed   maphash.Seed
	keys   [6]uint64
	v6     []*[v6Chunk]addrPair
	v6N    uint32 // address pairs handed out (free ones are in v6Free)
	v6Free []uint32

	// Calls that streams belong to, and their index by Call-ID.
	calls     []callRec
	callFree  int32
	callSlots slots

	// Codec names, interned: streams hold a uint16.
	codecs   []string
	codecIDs map[string]uint16

	// Eviction candidates at MaxStreams, oldest first (see evict).
	cand     []candidate
	candNext int
	hist     [histBuckets]uint32

	// Scratch, reused so that neither RTCP nor reports allocate.
	comp     rtcp.Compound
	ev       event.RTPReport
	callBuf  []byte
	codecBuf []byte

	stats Stats
}

var _ probe.MediaHandler = (*Tracker)(nil)

// sweepEveryUS is how far capture time moves between sweeps: the
// resolution of Idle and EndLinger.
const sweepEveryUS = 1_000_000

// maxCodecs bounds the interned codec names, as media bounds its pool: a
// flood of made-up names in SDP costs no more than this.
const maxCodecs = 1024

// New returns a Tracker that hands its reports to sink.
func New(sink ReportSink, opts ...Opt) (*Tracker, error) {
	if sink == nil {
		return nil, errors.New("mediatrack: nil ReportSink")
	}
	c := defaultCfg()
	for _, o := range opts {
		o.apply(&c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	table := c.table
	if table == nil {
		var err error
		if table, err = media.New(c.mediaOpts...); err != nil {
			return nil, fmt.Errorf("mediatrack: %w", err)
		}
	}
	t := &Tracker{
		cfg:        c,
		sink:       sink,
		table:      table,
		probeID:    []byte(c.probeID),
		ids:        event.NewIDHasher(),
		intervalMS: uint32(c.interval.Milliseconds()),
		idleMS:     uint32(c.idle.Milliseconds()),
		lingerMS:   uint32(c.endLinger.Milliseconds()),
		free:       -1,
		seed:       maphash.MakeSeed(),
		callFree:   -1,
		codecs:     []string{""},
		codecIDs:   make(map[string]uint16),
	}
	for i := range t.keys {
		t.keys[i] = maphash.Comparable(t.seed, i)
	}
	return t, nil
}

// Table returns the media table the Tracker learns SDP into.
func (t *Tracker) Table() *media.Table { return t.table }

// SIP learns the SDP a SIP message carries and ends the media of a call on
// its BYE. It implements probe.MediaHandler; ev and body are not retained.
func (t *Tracker) SIP(ev *event.SIP, body []byte) {
	t.tick(ev.TimeUS)
	req := ev.IsRequest()
	// Content-Type is not in the event; an SDP body starts with its
	// version line (RFC 8866 §5: "v=" comes first, and is 0).
	if len(body) >= 3 && body[0] == 'v' && body[1] == '=' && body[2] == '0' {
		// RFC 3264 §2 and RFC 3261 §13.2.1: a request's SDP is an offer,
		// except in an ACK, which answers the offer of a 2xx to an
		// INVITE without one (late offer). Responses are taken for
		// answers, that 2xx too: the Tracker keeps no dialog state to
		// tell, and the difference only matters for rtcp-mux, which an
		// answer can refuse (media.Table.Learn, RFC 5761 §5.1.1).
		offer := req && string(ev.Method) != "ACK"
		if err := t.table.Learn(ev.TimeUS, ev.CallID, offer, body, ev.Src.Addr()); err != nil {
			t.stats.SDPErrors++
		} else {
			t.stats.SDPs++
		}
	}
	if req && string(ev.Method) == "BYE" {
		t.stats.Byes++
		t.table.End(ev.TimeUS, ev.CallID)
		if i := t.findCall(ev.CallID); i >= 0 {
			if c := &t.calls[i]; !c.ended() {
				c.state |= callEnded
				c.byeMS = t.msOf(ev.TimeUS)
			}
		}
	}
}

// UDP analyses one non-SIP UDP datagram: RTCP is counted and parsed, RTP
// goes to its stream, anything else is counted. It implements
// probe.MediaHandler; payload is not retained.
func (t *Tracker) UDP(tsUS int64, src, dst netip.AddrPort, payload []byte) {
	t.tick(tsUS)
	// RTCP first: rtp.LooksLikeRTP takes RTCP's XR and feedback types
	// for RTP payload types 77-79 with the marker bit (RFC 5761 §4).
	if rtcp.LooksLikeRTCP(payload) {
		t.rtcpPacket(tsUS, src, dst, payload)
		return
	}
	// The header and key are on the stack: no aliasing with the
	// Tracker's fields, and nothing escapes.
	var h rtp.Header
	if rtp.ParseHeader(payload, &h) != nil {
		t.stats.NotRTP++
		return
	}
	var k key
	makeKey(src, dst, h.SSRC, &k)
	hash := t.hash(&k)
	i := int32(-1)
	if t.n > 0 {
		i = t.find(&k, hash)
	}
	if i < 0 {
		if i = t.start(tsUS, src, dst, payload, &h, &k, hash); i < 0 {
			return
		}
	}
	r := t.rec(i)
	ms := t.msOf(tsUS)
	if int32(ms-r.nextMS) >= 0 {
		// The interval closes before this packet, which opens the next.
		t.interval(r, tsUS, ms)
	}
	r.st.Add(tsUS, &h, h.PayloadLen)
	if int32(ms-r.lastMS) > 0 {
		r.lastMS = ms
	}
	t.stats.RTPPackets++
}

// tick moves the clock to capture time tsUS (never backwards) and sweeps
// when a second has passed since the last sweep.
func (t *Tracker) tick(tsUS int64) {
	if !t.started {
		t.started = true
		t.baseUS, t.nowUS, t.sweptUS = tsUS, tsUS, tsUS
		return
	}
	if tsUS > t.nowUS {
		t.nowUS = tsUS
		if tsUS-t.sweptUS >= sweepEveryUS {
			t.sweep()
		}
	}
}

// msOf converts capture time to the streams' 32-bit milliseconds.
func (t *Tracker) msOf(tsUS int64) uint32 { return uint32((tsUS - t.baseUS) / 1000) }

// rtcpPacket counts and parses an RTCP compound. On a privileged port it
// must be an SDP's RTCP address: there, DNS and such pass the checks now
// and then.
func (t *Tracker) rtcpPacket(tsUS int64, src, dst netip.AddrPort, b []byte) {
	if src.Port() < 1024 || dst.Port() < 1024 {
		if _, _, _, ok := t.table.LookupPair(src, dst); !ok {
			t.stats.NotRTP++
			return
		}
	}
	t.stats.RTCPPackets++
	// LooksLikeRTCP checked that the packets' lengths add up.
	for off := 0; off+4 <= len(b); off += 4 * (int(binary.BigEndian.Uint16(b[off+2:off+4])) + 1) {
		if typ := b[off+1]; typ >= rtcp.TypeSR && typ <= rtcp.TypeXR {
			t.stats.RTCPByType[typ-rtcp.TypeSR]++
		}
	}
	if rtcp.Parse(b, &t.comp) != nil {
		t.stats.RTCPErrors++
		return
	}
	t.emitRTCP(tsUS, src, dst, b)
}

// start begins the stream of the RTP packet with header hd and key k,
// whose index hash is h, and returns its slot; -1 if the packet is not
// tracked.
func (t *Tracker) start(tsUS int64, src, dst netip.AddrPort, payload []byte, hd *rtp.Header, k *key, h uint64) int32 {
	e, isRTCP, bySrc, ok := t.table.LookupPair(src, dst)
	mapped := ok && !isRTCP
	switch {
	case mapped && !e.IsRTP():
		t.stats.NotRTPMedia++
		return -1
	case mapped:
	case !rtp.LooksLikeRTP(payload):
		t.stats.NotRTP++
		return -1
	case !t.cfg.heuristic || src.Port() < 1024 || dst.Port() < 1024:
		t.stats.Unmapped++
		return -1
	}
	if t.n >= t.cfg.maxStreams {
		t.evict() // before taking references that the evicted stream may hold
	}
	ms := t.msOf(tsUS)
	pt := hd.PayloadType
	opts := rtp.Options{WiresharkJitter: t.cfg.wireshark}
	var clock uint32
	var codec uint16
	var dir uint8
	call := int32(-1)
	if mapped {
		dir = t.direction(e, bySrc)
		// The receiver's description decodes the packet (RFC 3264 §5.1);
		// matched by source, ask the sender's peer, else rely on RFC
		// 3264 §6.1 (an answer reuses the offer's numbers).
		pe := e
		if bySrc {
			if p, ok := t.table.Peer(e); ok {
				pe = p
			}
		}
		call = t.refCall(e.CallID(), e.Ended(), ms)
		opts.EventPT = eventPT(pe)
		c, known := pe.Codec(pt)
		if !known && pe != e {
			// The peer did not list it; the sender's own offer may.
			c, known = e.Codec(pt)
			if opts.EventPT == 0 {
				opts.EventPT = eventPT(e)
			}
		}
		if isCN(pt) || known && ascii.EqualFold(c.Name, "CN") || opts.EventPT != 0 && pt == opts.EventPT {
			// A stream that opens with comfort noise or a digit is
			// still a voice stream: report the preferred codec.
			if p, pc, ok := preferred(pe); ok {
				pt, c, known = p, pc, true
			}
		}
		if known {
			clock = clockOf(c)
			codec = codecID(t, c.Name)
			opts.Codec, _ = mos.Lookup(c.Name)
			if pt >= 96 {
				opts.DynamicPT = pt
			}
		} else {
			opts.Codec, _ = mos.ForPayloadType(pt)
		}
		t.stats.Mapped++
	} else {
		if f, ok := sdp.StaticFormat(pt); ok {
			clock = f.Clock
			codec = codecID(t, f.Name)
		}
		opts.Codec, _ = mos.ForPayloadType(pt)
		t.stats.Heuristic++
	}
	// Without an SDP telephone-event, take a dynamic type's 4-byte
	// packets for RFC 4733 events rather than an unknown codec.
	opts.DetectEvents = opts.EventPT == 0

	i := t.alloc()
	r := t.rec(i)
	r.st.Init(hd.SSRC, clock, opts)
	r.flags = flagUsed
	if k.v6 {
		r.a = t.newPair(k.s6, k.d6)
		r.flags |= flagV6
	} else {
		r.a, r.b = k.a, k.b
	}
	if !mapped {
		r.flags |= flagHeuristic
	}
	r.flags |= dir
	r.sport, r.dport = src.Port(), dst.Port()
	r.call = call
	r.lastMS, r.nextMS = ms, ms+t.intervalMS
	r.codec, r.pt = codec, pt
	t.indexAdd(i, h)
	t.stats.StreamsStarted++
	return i
}

// direction tells whether a mapped stream carries the caller's voice or
// the callee's: packets to the offerer's address are the callee's, to the
// answerer's the caller's (RFC 3264: the INVITE's SDP is the offer, in the
// usual call). e is the receiver's entry, or the sender's when matched by
// source. Unknown (0) when the call's two descriptions are both offers or
// both answers, as a late-offer call's look to the Tracker (see SIP);
// a re-INVITE from the callee swaps the roles for streams that start
// after it.
func (t *Tracker) direction(e *media.Entry, bySrc bool) uint8 {
	if p, ok := t.table.Peer(e); ok && p.FromOffer() == e.FromOffer() {
		return 0
	}
	if e.FromOffer() == bySrc {
		return flagFromCaller
	}
	return flagToCaller
}

// eventPT returns the payload type a description gives telephone-event
// (RFC 4733 §7.1.1), 0 if none.
func eventPT(e *media.Entry) uint8 {
	for pt, c := range e.Codecs() {
		if ascii.EqualFold(c.Name, "telephone-event") {
			return pt
		}
	}
	return 0
}

// preferred returns the first voice codec of a description, in the
// party's order of preference (RFC 3264 §5.1).
func preferred(e *media.Entry) (uint8, media.Codec, bool) {
	for pt, c := range e.Codecs() {
		if !isCN(pt) && !ascii.EqualFold(c.Name, "CN") && !ascii.EqualFold(c.Name, "telephone-event") {
			return pt, c, true
		}
	}
	return 0, media.Codec{}, false
}

// clockOf is a codec's RTP clock rate. G.722's is 8000 whatever an rtpmap
// claims (RFC 3551 §4.5.2 kept RFC 1890's error) and Opus's 48000 (RFC
// 7587 §4.1): stacks get both wrong in SDP, never on the wire.
func clockOf(c media.Codec) uint32 {
	switch {
	case ascii.EqualFold(c.Name, "G722"):
		return 8000
	case ascii.EqualFold(c.Name, "opus"):
		return 48000
	}
	return c.Clock
}

// isCN reports comfort noise: PT 13 (RFC 3389) and the older 19.
func isCN(pt uint8) bool { return pt == 13 || pt == 19 }

// codecID interns a codec name; 0 when the pool is full.
func codecID[T string | []byte](t *Tracker, name T) uint16 {
	if len(name) == 0 {
		return 0
	}
	if id, ok := t.codecIDs[string(name)]; ok {
		return id
	}
	if len(t.codecs) >= maxCodecs {
		return 0
	}
	s := string(name)
	id := uint16(len(t.codecs))
	t.codecs = append(t.codecs, s)
	t.codecIDs[s] = id
	return id
}

// interval reports the interval that the packet at tsUS (ms) closes and
// moves the stream's boundary past it: by one Interval, or by several
// when the stream paused.
func (t *Tracker) interval(r *stream, tsUS int64, ms uint32) {
	rep := r.st.Interval()
	_ = t.emit(r, &rep, false, tsUS)
	t.stats.IntervalReports++
	r.seq++
	d := ms - r.nextMS
	r.nextMS += t.intervalMS * (d/t.intervalMS + 1)
}

// end makes stream i's final report and frees it.
func (t *Tracker) end(i int32, why EndReason) error {
	r := t.rec(i)
	rep := r.st.Snapshot()
	err := t.emit(r, &rep, true, t.nowUS)
	t.stats.FinalReports++
	t.stats.Ended[why]++
	t.index.remove(t.recHash(i), i)
	t.release(i)
	return err
}

// emit fills the reused report event from rep and hands it to the sink.
// TimeUS is when the report was made: the packet that closed the interval,
// or the clock when the stream ended.
func (t *Tracker) emit(r *stream, rep *rtp.Report, final bool, tsUS int64) error {
	src, dst := t.addrs(r)
	ev := &t.ev
	*ev = event.RTPReport{
		Header:           event.Header{Version: event.Version, ProbeID: t.probeID, TimeUS: tsUS},
		Src:              src,
		Dst:              dst,
		SSRC:             rep.SSRC,
		PayloadType:      r.pt,
		ClockHz:          rep.ClockHz,
		Final:            final,
		Seq:              r.seq,
		Direction:        directionOf(r.flags),
		FirstUS:          rep.FirstUS,
		LastUS:           rep.LastUS,
		Packets:          u64(rep.Packets),
		Expected:         u64(rep.Expected),
		Lost:             rep.Lost,
		Duplicates:       u64(rep.Duplicates),
		Reordered:        u64(rep.Reordered),
		JitterMeanUS:     scaled(rep.MeanJitterMS, 1000),
		JitterMaxUS:      scaled(rep.MaxJitterMS, 1000),
		MaxDeltaUS:       scaled(rep.MaxDeltaMS, 1000),
		LossBursts:       uint32(min(u64(rep.LossBursts), math.MaxUint32)),
		BurstRx1000:      scaled(rep.BurstR, 1000),
		LateFixed:        u64(rep.LateFixed),
		LateAdaptive:     u64(rep.LateAdaptive),
		MOSx1000:         scaled(rep.MOS, 1000),
		MOSFixedx1000:    scaled(rep.MOSFixed, 1000),
		MOSAdaptivex1000: scaled(rep.MOSAdaptive, 1000),
	}
	if r.call >= 0 {
		t.callBuf = append(t.callBuf[:0], t.calls[r.call].id...)
		ev.CallID = t.callBuf
	}
	if r.codec != 0 {
		t.codecBuf = append(t.codecBuf[:0], t.codecs[r.codec]...)
		ev.Codec = t.codecBuf
	}
	t.ids.SetRTPID(ev)
	if err := t.sink.RTPReport(ev); err != nil {
		t.stats.SinkErrors++
		return fmt.Errorf("mediatrack: sink: %w", err)
	}
	return nil
}

func directionOf(flags uint8) uint8 {
	switch {
	case flags&flagFromCaller != 0:
		return event.DirFromCaller
	case flags&flagToCaller != 0:
		return event.DirToCaller
	}
	return 0
}

// u64 reads a report count as unsigned: interval differences that went
// negative (a burst a late packet shortened) count 0.
func u64(v int64) uint64 { return uint64(max(v, 0)) }

// scaled returns v*by rounded, clamped to uint32 (NaN is 0).
func scaled(v, by float64) uint32 {
	x := math.Round(v * by)
	if !(x > 0) {
		return 0
	}
	return uint32(min(x, math.MaxUint32))
}

// Flush ends every stream with its final report (Snapshot: the whole
// stream), as at the end of the input: a replayed capture's last packet.
// The Tracker stays usable; its memory for streams is released. Flush
// returns the first sink error, if any; every stream is reported and
// ended regardless.
func (t *Tracker) Flush() error {
	var first error
	for i := int32(0); int(i) < t.hi; i++ {
		if t.rec(i).flags&flagUsed == 0 {
			continue
		}
		if err := t.end(i, EndFlush); err != nil && first == nil {
			first = err
		}
	}
	t.chunks, t.hi, t.free, t.index = nil, 0, -1, index{}
	t.v6, t.v6Free = nil, nil
	t.calls, t.callFree, t.callSlots = nil, -1, slots{}
	t.cand, t.candNext = nil, 0
	return first
}
