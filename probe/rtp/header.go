// Package rtp keeps the per-stream statistics of a passive VoIP monitor:
// packets, expected and lost (RFC 3550 A.3), duplicates, reordering,
// interarrival jitter (RFC 3550 A.8), loss bursts, simulated jitter buffers
// and the E-model MOS of the listener, the way Wireshark's RTP stream
// analysis reports them (ui/tap-rtp-analysis.c, rtppacket_analyse, as
// shipped in Wireshark 4.0: see Stream for where and why this package
// follows it and where not).
//
// The per-packet path (ParseHeader, Stream.Add) allocates nothing and a
// Stream is at most 512 bytes, so a probe can track every stream of a
// trunk's mirror port (DESIGN.md, Targets).
package rtp

import (
	"encoding/binary"
	"errors"
)

// Errors ParseHeader returns. They are sentinels, returned unwrapped, so
// the per-packet path builds no error values; callers count them by
// identity.
var (
	ErrShort     = errors.New("rtp: shorter than the 12-byte fixed header")
	ErrVersion   = errors.New("rtp: version is not 2")
	ErrCSRC      = errors.New("rtp: CSRC list runs past the packet")
	ErrExtension = errors.New("rtp: header extension runs past the packet")
	ErrPadding   = errors.New("rtp: padding count is 0 or runs into the header")
)

// HeaderLen is the length of the fixed RTP header (RFC 3550 §5.1).
const HeaderLen = 12

// Header is the RTP header of one packet (RFC 3550 §5.1).
type Header struct {
	Padding   bool
	Extension bool
	Marker    bool
	// CSRCCount is the CC field: how many CSRC identifiers follow the
	// fixed header (they are skipped, not kept: a passive monitor keys
	// streams by SSRC).
	CSRCCount   uint8
	PayloadType uint8
	Seq         uint16
	Timestamp   uint32
	SSRC        uint32
	// ExtProfile and ExtLen are the header extension's profile-defined
	// 16 bits and its length in bytes (RFC 3550 §5.3.1), when Extension.
	ExtProfile uint16
	ExtLen     uint16
	// PayloadOffset is where the payload starts: after the CSRC list and
	// the header extension.
	PayloadOffset int
	// PayloadLen is the payload's length without padding.
	PayloadLen int
	// PaddingLen is the number of padding octets at the end (the last
	// octet's value, RFC 3550 §5.1), 0 without padding.
	PaddingLen int
}

// ParseHeader parses the RTP header at the start of b (a UDP payload) into
// h. It checks what RFC 3550 §5.1 and A.1 make checkable on one packet:
// version 2, and a CSRC list, header extension and padding that fit in b
// (padding with a count of 0 is invalid: the count includes itself). It
// does not allocate; h is overwritten, fields after an error are
// unspecified.
func ParseHeader(b []byte, h *Header) error {
	if len(b) < HeaderLen {
		return ErrShort
	}
	b0, b1 := b[0], b[1]
	if b0>>6 != 2 {
		return ErrVersion
	}
	*h = Header{
		Padding:     b0&0x20 != 0,
		Extension:   b0&0x10 != 0,
		CSRCCount:   b0 & 0x0f,
		Marker:      b1&0x80 != 0,
		PayloadType: b1 & 0x7f,
		Seq:         binary.BigEndian.Uint16(b[2:4]),
		Timestamp:   binary.BigEndian.Uint32(b[4:8]),
		SSRC:        binary.BigEndian.Uint32(b[8:12]),
	}
	n := HeaderLen + 4*int(h.CSRCCount)
	if n > len(b) {
		return ErrCSRC
	}
	if h.Extension {
		// profile u16, length u16 counting 32-bit words after this word
		// (RFC 3550 §5.3.1).
		if n+4 > len(b) {
			return ErrExtension
		}
		h.ExtProfile = binary.BigEndian.Uint16(b[n : n+2])
		words := int(binary.BigEndian.Uint16(b[n+2 : n+4]))
		n += 4
		if words*4 > len(b)-n || words*4 > 0xffff {
			return ErrExtension
		}
		// Counted in words, the extension can exceed 64 KiB only past a
		// UDP payload's size, which the check above has refused.
		h.ExtLen = uint16(words * 4)
		n += words * 4
	}
	h.PayloadOffset = n
	end := len(b)
	if h.Padding {
		pad := int(b[len(b)-1])
		if pad == 0 || pad > end-n {
			return ErrPadding
		}
		h.PaddingLen = pad
		end -= pad
	}
	h.PayloadLen = end - n
	return nil
}

// LooksLikeRTP reports whether a UDP payload with no SDP behind it is
// plausibly RTP, with the checks of Wireshark's rtp_udp heuristic
// (epan/dissectors/packet-rtp.c, dissect_rtp_heur): version 2; a payload
// type outside 72-76, where RTCP's SR..APP (200-204) fall once the marker
// bit is taken away (RFC 5761 §4); a CSRC list and header extension that
// fit; and, with the P bit, a padding count that is not 0 and fits.
// Wireshark accepts a 2-byte packet and fails later; this requires the
// 12-byte fixed header. Like Wireshark it accepts the unassigned payload
// types: a stream of type 35 is still worth counting, and SIP, STUN, DTLS
// and TURN channel data never pass the version check (RFC 7983 §7).
//
// RTCP XR (207) and the feedback types 205/206 land on payload types 77-79
// with the marker bit set, and pass: classify with LooksLikeRTCP first, as
// the probe does, when RTP and RTCP may share a port (RFC 5761).
func LooksLikeRTP(b []byte) bool {
	if len(b) < HeaderLen || b[0]>>6 != 2 {
		return false
	}
	if pt := b[1] & 0x7f; pt >= 72 && pt <= 76 {
		return false
	}
	n := HeaderLen + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if n+4 > len(b) {
			return false
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(b[n+2:n+4]))
	}
	if n > len(b) {
		return false
	}
	if b[0]&0x20 != 0 {
		if pad := int(b[len(b)-1]); pad == 0 || pad > len(b)-n {
			return false
		}
	}
	return true
}
