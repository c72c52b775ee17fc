package event

import (
	"fmt"
	"net/netip"
)

// KindRTCP is one RTCP packet as observed: like a SIP event it carries the
// raw bytes plus the few fields needed to route it, and the collector
// parses them (probe/rtcp), so a better parser can re-read history.
const KindRTCP Kind = 3

// RTCP formats.
const (
	RTCPBinary = 1 // an RTCP compound packet (RFC 3550 §6), from a capture
	RTCPJSON   = 2 // HEP protocol type 5: the JSON rendering heplify, Kamailio and rtpengine send
)

// RTCP is one RTCP packet tied to its call. Slices alias the decoded
// buffer.
type RTCP struct {
	Header
	// CallID is the call the media table (or the HEP correlation ID) ties
	// the packet to; empty when unknown. It is the Kafka key when set.
	CallID   []byte
	Src, Dst netip.AddrPort
	Format   uint8
	Raw      []byte
}

const (
	rtcpTagID = iota + 1
	rtcpTagProbeID
	rtcpTagTimeUS
	rtcpTagCallID
	rtcpTagSrc
	rtcpTagDst
	rtcpTagFormat
	rtcpTagRaw
)

// AppendRTCP appends the encoding of r to dst.
func AppendRTCP(dst []byte, r *RTCP) []byte {
	dst = append(dst, magic, Version, byte(KindRTCP))
	dst = appendBytes(dst, rtcpTagID, r.ID[:])
	dst = appendBytes(dst, rtcpTagProbeID, r.ProbeID)
	dst = appendU64(dst, rtcpTagTimeUS, uint64(r.TimeUS))
	dst = appendBytes(dst, rtcpTagCallID, r.CallID)
	dst = appendAddrPort(dst, rtcpTagSrc, r.Src)
	dst = appendAddrPort(dst, rtcpTagDst, r.Dst)
	dst = appendU64(dst, rtcpTagFormat, uint64(r.Format))
	return appendBytes(dst, rtcpTagRaw, r.Raw)
}

// DecodeRTCP decodes b into r; slices alias b, unknown fields are skipped.
func DecodeRTCP(b []byte, r *RTCP) error {
	k, err := PeekKind(b)
	if err != nil {
		return err
	}
	if k != KindRTCP {
		return fmt.Errorf("%w: %v, want rtcp", ErrKind, k)
	}
	*r = RTCP{}
	r.Version = b[1]
	return fields(b[3:], "rtcp", func(tag byte, v []byte) error {
		switch tag {
		case rtcpTagID:
			if len(v) != len(r.ID) {
				return fmt.Errorf("event: id of %d bytes: %w", len(v), ErrTruncated)
			}
			copy(r.ID[:], v)
		case rtcpTagProbeID:
			r.ProbeID = v
		case rtcpTagCallID:
			r.CallID = v
		case rtcpTagRaw:
			r.Raw = v
		case rtcpTagSrc:
			if err := r.Src.UnmarshalBinary(v); err != nil {
				return fmt.Errorf("event: rtcp source: %w", err)
			}
		case rtcpTagDst:
			if err := r.Dst.UnmarshalBinary(v); err != nil {
				return fmt.Errorf("event: rtcp destination: %w", err)
			}
		case rtcpTagTimeUS, rtcpTagFormat:
			x, err := u64(tag, v)
			if err != nil {
				return err
			}
			if tag == rtcpTagTimeUS {
				r.TimeUS = int64(x)
			} else {
				r.Format = uint8(x)
			}
		}
		return nil
	})
}

// SetRTCPID derives an RTCP event's ID from its content, like SetID for
// SIP: the same packet captured twice at one instant is one event.
func (x *IDHasher) SetRTCPID(r *RTCP) {
	s := SIP{Header: r.Header, Src: r.Src, Dst: r.Dst, Transport: Transport(r.Format), Raw: r.Raw}
	x.SetID(&s)
	r.ID = s.ID
}
