package event

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// KindRTPReport is an RTP stream report: the probe aggregates each stream
// and reports every interval (default 10 s) and once at the stream's end,
// instead of shipping packets (DESIGN.md, "Events").
const KindRTPReport Kind = 2

// RTPReport describes one RTP stream (SSRC and 5-tuple) over an interval
// or, when Final is set, over its whole life. Figures follow RFC 3550
// (packets, expected, lost, jitter) and ITU-T G.107 (MOS); durations are
// microseconds and MOS values are scaled by 1000 so the envelope carries
// no floats. Byte slices alias the decoded buffer.
type RTPReport struct {
	Header
	// CallID ties the stream to a call through the SDP; empty for streams
	// found heuristically (no signalling seen). It is the Kafka key when
	// set, so a call's reports share its SIP events' partition.
	CallID      []byte
	Src, Dst    netip.AddrPort
	SSRC        uint32
	PayloadType uint8
	Codec       []byte // encoding name from the SDP (rtpmap) or RFC 3551
	ClockHz     uint32
	Final       bool
	Seq         uint32 // report number within the stream, from 0
	// Direction is the stream's direction in its call, from the SDP offer
	// and answer: DirFromCaller, DirToCaller, or 0 when unknown.
	Direction uint8
	FirstUS   int64 // first packet of the interval (or stream)
	LastUS    int64 // last packet of the interval (or stream)

	Packets, Expected       uint64
	Lost                    int64 // expected - received; negative with duplicates
	Duplicates, Reordered   uint64
	JitterMeanUS            uint32 // mean of the running RFC 3550 jitter
	JitterMaxUS             uint32
	MaxDeltaUS              uint32 // largest arrival gap
	LossBursts              uint32
	BurstRx1000             uint32 // G.107 BurstR x 1000
	LateFixed, LateAdaptive uint64 // lost to the listener behind a 60 ms fixed / adaptive jitter buffer
	MOSx1000                uint32 // E-model MOS from network loss
	MOSFixedx1000           uint32 // listener's MOS behind the fixed jitter buffer
	MOSAdaptivex1000        uint32 // listener's MOS behind the adaptive one
}

// Directions of an RTP stream within its call.
const (
	DirFromCaller = 1 // to the answerer's media address: the caller speaks
	DirToCaller   = 2 // to the offerer's media address: the callee speaks
)

// Field tags of an RTP report.
const (
	rtpTagID = iota + 1
	rtpTagProbeID
	rtpTagTimeUS
	rtpTagCallID
	rtpTagSrc
	rtpTagDst
	rtpTagSSRC
	rtpTagPT
	rtpTagCodec
	rtpTagClock
	rtpTagFinal
	rtpTagSeq
	rtpTagFirst
	rtpTagLast
	rtpTagPackets
	rtpTagExpected
	rtpTagLost // zigzag: it can be negative
	rtpTagDup
	rtpTagReorder
	rtpTagJitterMean
	rtpTagJitterMax
	rtpTagMaxDelta
	rtpTagBursts
	rtpTagBurstR
	rtpTagLateFixed
	rtpTagLateAdaptive
	rtpTagMOS
	rtpTagMOSFixed
	rtpTagMOSAdaptive
	rtpTagDirection
)

// AppendRTPReport appends the encoding of r to dst.
func AppendRTPReport(dst []byte, r *RTPReport) []byte {
	dst = append(dst, magic, Version, byte(KindRTPReport))
	dst = appendBytes(dst, rtpTagID, r.ID[:])
	dst = appendBytes(dst, rtpTagProbeID, r.ProbeID)
	dst = appendU64(dst, rtpTagTimeUS, uint64(r.TimeUS))
	dst = appendBytes(dst, rtpTagCallID, r.CallID)
	dst = appendAddrPort(dst, rtpTagSrc, r.Src)
	dst = appendAddrPort(dst, rtpTagDst, r.Dst)
	final := uint64(0)
	if r.Final {
		final = 1
	}
	for _, f := range [...]struct {
		tag byte
		v   uint64
	}{
		{rtpTagSSRC, uint64(r.SSRC)}, {rtpTagPT, uint64(r.PayloadType)}, {rtpTagClock, uint64(r.ClockHz)},
		{rtpTagFinal, final}, {rtpTagSeq, uint64(r.Seq)}, {rtpTagFirst, uint64(r.FirstUS)}, {rtpTagLast, uint64(r.LastUS)},
		{rtpTagPackets, r.Packets}, {rtpTagExpected, r.Expected}, {rtpTagLost, zigzag(r.Lost)},
		{rtpTagDup, r.Duplicates}, {rtpTagReorder, r.Reordered}, {rtpTagJitterMean, uint64(r.JitterMeanUS)},
		{rtpTagJitterMax, uint64(r.JitterMaxUS)}, {rtpTagMaxDelta, uint64(r.MaxDeltaUS)}, {rtpTagBursts, uint64(r.LossBursts)},
		{rtpTagBurstR, uint64(r.BurstRx1000)}, {rtpTagLateFixed, r.LateFixed}, {rtpTagLateAdaptive, r.LateAdaptive},
		{rtpTagMOS, uint64(r.MOSx1000)}, {rtpTagMOSFixed, uint64(r.MOSFixedx1000)}, {rtpTagMOSAdaptive, uint64(r.MOSAdaptivex1000)},
		{rtpTagDirection, uint64(r.Direction)},
	} {
		dst = appendU64(dst, f.tag, f.v)
	}
	return appendBytes(dst, rtpTagCodec, r.Codec)
}

func zigzag(v int64) uint64   { return uint64((v << 1) ^ (v >> 63)) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// DecodeRTPReport decodes b into r; slices alias b, unknown fields are
// skipped.
func DecodeRTPReport(b []byte, r *RTPReport) error {
	k, err := PeekKind(b)
	if err != nil {
		return err
	}
	if k != KindRTPReport {
		return fmt.Errorf("%w: %v, want rtp report", ErrKind, k)
	}
	*r = RTPReport{}
	r.Version = b[1]
	return fields(b[3:], "rtp report", func(tag byte, v []byte) error {
		switch tag {
		case rtpTagID:
			if len(v) != len(r.ID) {
				return fmt.Errorf("event: id of %d bytes: %w", len(v), ErrTruncated)
			}
			copy(r.ID[:], v)
			return nil
		case rtpTagProbeID:
			r.ProbeID = v
			return nil
		case rtpTagCallID:
			r.CallID = v
			return nil
		case rtpTagCodec:
			r.Codec = v
			return nil
		case rtpTagSrc:
			if err := r.Src.UnmarshalBinary(v); err != nil {
				return fmt.Errorf("event: rtp source: %w", err)
			}
			return nil
		case rtpTagDst:
			if err := r.Dst.UnmarshalBinary(v); err != nil {
				return fmt.Errorf("event: rtp destination: %w", err)
			}
			return nil
		}
		if tag > rtpTagDirection {
			return nil // a newer producer's field
		}
		x, err := u64(tag, v)
		if err != nil {
			return err
		}
		r.setNumber(tag, x)
		return nil
	})
}

// setNumber stores a numeric field.
func (r *RTPReport) setNumber(tag byte, x uint64) {
	switch tag {
	case rtpTagTimeUS:
		r.TimeUS = int64(x)
	case rtpTagSSRC:
		r.SSRC = uint32(x)
	case rtpTagPT:
		r.PayloadType = uint8(x)
	case rtpTagClock:
		r.ClockHz = uint32(x)
	case rtpTagFinal:
		r.Final = x != 0
	case rtpTagSeq:
		r.Seq = uint32(x)
	case rtpTagFirst:
		r.FirstUS = int64(x)
	case rtpTagLast:
		r.LastUS = int64(x)
	case rtpTagPackets:
		r.Packets = x
	case rtpTagExpected:
		r.Expected = x
	case rtpTagLost:
		r.Lost = unzigzag(x)
	case rtpTagDup:
		r.Duplicates = x
	case rtpTagReorder:
		r.Reordered = x
	case rtpTagJitterMean:
		r.JitterMeanUS = uint32(x)
	case rtpTagJitterMax:
		r.JitterMaxUS = uint32(x)
	case rtpTagMaxDelta:
		r.MaxDeltaUS = uint32(x)
	case rtpTagBursts:
		r.LossBursts = uint32(x)
	case rtpTagBurstR:
		r.BurstRx1000 = uint32(x)
	case rtpTagLateFixed:
		r.LateFixed = x
	case rtpTagLateAdaptive:
		r.LateAdaptive = x
	case rtpTagMOS:
		r.MOSx1000 = uint32(x)
	case rtpTagMOSFixed:
		r.MOSFixedx1000 = uint32(x)
	case rtpTagMOSAdaptive:
		r.MOSAdaptivex1000 = uint32(x)
	case rtpTagDirection:
		r.Direction = uint8(x)
	}
}

// SetRTPID derives a report's ID from its content (probe, stream, report
// number, finality), so a replayed capture's reports collapse onto the
// first copy in the store.
func (x *IDHasher) SetRTPID(r *RTPReport) {
	x.h.Reset()
	x.h.Write(r.ProbeID)
	var b [2*(16+2) + 4 + 4 + 1 + 8]byte
	a := r.Src.Addr().As16()
	copy(b[0:16], a[:])
	binary.BigEndian.PutUint16(b[16:18], r.Src.Port())
	a = r.Dst.Addr().As16()
	copy(b[18:34], a[:])
	binary.BigEndian.PutUint16(b[34:36], r.Dst.Port())
	binary.BigEndian.PutUint32(b[36:40], r.SSRC)
	binary.BigEndian.PutUint32(b[40:44], r.Seq)
	if r.Final {
		b[44] = 1
	}
	binary.BigEndian.PutUint64(b[45:53], uint64(r.FirstUS))
	x.h.Write(b[:])
	copy(r.ID[:], x.h.Sum(x.sum[:0]))
}
