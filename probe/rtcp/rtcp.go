// Package rtcp parses RTCP compound packets (RFC 3550 §6): sender and
// receiver reports with their report blocks, the SDES CNAME, BYE, and the
// RFC 3611 XR VoIP Metrics report block, into a struct the caller owns,
// without allocating. It also reads the JSON rendering of RTCP that HEP
// senders (heplify, rtpengine, captagent) ship as HEP protocol type 5.
package rtcp

import "encoding/binary"

// Packet types (RFC 3550 §12.1, RFC 4585 §6.1, RFC 3611 §2).
const (
	TypeSR    = 200
	TypeRR    = 201
	TypeSDES  = 202
	TypeBYE   = 203
	TypeAPP   = 204
	TypeRTPFB = 205
	TypePSFB  = 206
	TypeXR    = 207
)

// Capacities of Compound's arrays. RC and SC are 5-bit fields, so one
// packet carries at most 31 report blocks or BYE sources; a compound with
// more than MaxReports blocks in all (several RRs from a translator) keeps
// the first ones and counts the rest in Dropped.
const (
	MaxSenders = 4
	MaxReports = 32
	MaxBye     = 31
	MaxVoIP    = 4
	MaxCNAME   = 255 // an SDES item's length is one octet (RFC 3550 §6.5)
)

// Error is a parse failure. The values are constants: returning one
// allocates nothing, and callers compare with == or errors.Is.
type Error uint8

// Parse failures.
const (
	// ErrTruncated: shorter than an RTCP header, or than a packet's
	// length field says.
	ErrTruncated Error = iota + 1
	// ErrVersion: a packet's version is not 2.
	ErrVersion
	// ErrLength: a length field does not fit its content (an SR shorter
	// than its sender info and RC report blocks, an SDES chunk or XR
	// block running past its packet, a VoIP Metrics block not 8 words).
	ErrLength
	// ErrPadding: the P bit on a packet that is not the last of the
	// compound, or a padding count of 0 or larger than the packet (RFC
	// 3550 §6.4.1, A.2).
	ErrPadding
	// ErrJSON: HEP RTCP JSON that does not parse or holds no RTCP
	// field.
	ErrJSON
)

func (e Error) Error() string {
	switch e {
	case ErrTruncated:
		return "rtcp: truncated packet"
	case ErrVersion:
		return "rtcp: version is not 2"
	case ErrLength:
		return "rtcp: length field does not fit the content"
	case ErrPadding:
		return "rtcp: invalid padding"
	case ErrJSON:
		return "rtcp: invalid HEP RTCP JSON"
	}
	return "rtcp: unknown error"
}

// SenderInfo is an SR's sender information (RFC 3550 §6.4.1).
type SenderInfo struct {
	SSRC uint32
	// NTP is the wallclock time in NTP format: seconds since 1900 in the
	// high 32 bits, fraction in the low 32.
	NTP     uint64
	RTPTime uint32
	Packets uint32
	Octets  uint32
}

// ReportBlock is one reception report (RFC 3550 §6.4.1).
type ReportBlock struct {
	// Reporter is the SSRC of the SR or RR that carried the block: the
	// receiver that reports.
	Reporter uint32
	// SSRC is the source the block reports on.
	SSRC uint32
	// FractionLost is the fraction of packets lost since the previous
	// report, in 1/256.
	FractionLost uint8
	// CumulativeLost is the 24-bit signed number of packets lost since
	// the start of reception: negative with duplicates.
	CumulativeLost int32
	// ExtHighestSeq is the extended highest sequence number received:
	// cycles in the high 16 bits.
	ExtHighestSeq uint32
	// Jitter is the interarrival jitter in timestamp units.
	Jitter uint32
	// LSR is the middle 32 bits of the last SR's NTP time, DLSR the delay
	// since then in 1/65536 s; round trip = arrival - LSR - DLSR (RFC
	// 3550 §6.4.1).
	LSR, DLSR uint32
}

// VoIPMetrics is the RFC 3611 §4.7 VoIP Metrics report block (block type
// 7). Fields are as on the wire; the methods decode the packed ones. 127
// means "unavailable" for the levels, RERL, R factors and MOS; 0 for the
// delays.
type VoIPMetrics struct {
	// Reporter is the SSRC of the XR packet's sender.
	Reporter uint32
	// SSRC is the source the block reports on.
	SSRC uint32
	// LossRate and DiscardRate are fractions in 1/256 of the packets
	// lost in the network and discarded by the jitter buffer.
	LossRate, DiscardRate uint8
	// BurstDensity and GapDensity are the loss-and-discard fractions (in
	// 1/256) inside bursts and gaps, with bursts defined by Gmin.
	BurstDensity, GapDensity uint8
	// BurstDuration and GapDuration are mean durations in ms.
	BurstDuration, GapDuration uint16
	// RoundTripDelay and EndSystemDelay are in ms.
	RoundTripDelay, EndSystemDelay uint16
	// SignalLevel and NoiseLevel are in dBm (signed).
	SignalLevel, NoiseLevel int8
	// RERL is the residual echo return loss in dB.
	RERL uint8
	// Gmin is the gap threshold: a gap is Gmin or more received packets
	// between losses (16 recommended).
	Gmin uint8
	// RFactor and ExtRFactor are R (0-100) for the narrowband and an
	// external (e.g. wideband) scale.
	RFactor, ExtRFactor uint8
	// MOSLQ and MOSCQ are listening and conversational MOS times 10.
	MOSLQ, MOSCQ uint8
	// RXConfig packs PLC (2 bits), jitter-buffer adaptivity (2) and rate
	// (4).
	RXConfig uint8
	// JBNominal, JBMax and JBAbsMax are the jitter buffer's delays in ms.
	JBNominal, JBMax, JBAbsMax uint16
}

// PLC is the packet-loss concealment field of RXConfig: 0 unspecified, 1
// disabled, 2 enhanced, 3 standard.
func (v *VoIPMetrics) PLC() uint8 { return v.RXConfig >> 6 }

// JBAdaptive is RXConfig's jitter-buffer field: 0 unknown, 1 reserved, 2
// non-adaptive, 3 adaptive.
func (v *VoIPMetrics) JBAdaptive() uint8 { return v.RXConfig >> 4 & 3 }

// JBRate is RXConfig's jitter-buffer adjustment rate (0-15).
func (v *VoIPMetrics) JBRate() uint8 { return v.RXConfig & 0x0f }

// MOS returns MOSLQ and MOSCQ as scores (e.g. 4.1), and whether each is
// available (127 and values outside 10-50 are not).
func (v *VoIPMetrics) MOS() (lq, cq float64, lqOK, cqOK bool) {
	ok := func(m uint8) bool { return m >= 10 && m <= 50 }
	return float64(v.MOSLQ) / 10, float64(v.MOSCQ) / 10, ok(v.MOSLQ), ok(v.MOSCQ)
}

// Compound is a parsed RTCP compound packet. Parse fills it and resets
// what it does not fill; the arrays hold the first N* entries. CNAME is
// copied out of the packet, so a Compound does not alias the input.
type Compound struct {
	// Packets counts the RTCP packets in the compound.
	Packets int

	Senders  [MaxSenders]SenderInfo
	NSenders int

	Reports  [MaxReports]ReportBlock
	NReports int

	// CNAME is the first CNAME item of the SDES packet (RFC 3550
	// §6.5.1), for source CNAMESSRC; HasCNAME tells whether there was
	// one.
	HasCNAME  bool
	CNAMESSRC uint32
	CNAMELen  uint8
	CNAMEBuf  [MaxCNAME]byte

	// Bye lists the sources a BYE packet says are leaving; HasBye is set
	// even for a BYE with no source.
	HasBye bool
	Bye    [MaxBye]uint32
	NBye   int

	VoIP  [MaxVoIP]VoIPMetrics
	NVoIP int

	// Other counts packets of other types (APP, feedback, unknown),
	// skipped; OtherXR counts XR blocks other than VoIP Metrics;
	// Dropped counts blocks and sources beyond the arrays' capacity.
	Other, OtherXR, Dropped int
}

// CNAME returns the CNAME bytes, aliasing c.
func (c *Compound) CNAME() []byte { return c.CNAMEBuf[:c.CNAMELen] }

// reset clears the counts; the arrays' stale entries beyond them are
// harmless and not worth clearing per packet.
func (c *Compound) reset() {
	c.Packets, c.NSenders, c.NReports, c.NBye, c.NVoIP = 0, 0, 0, 0, 0
	c.HasCNAME, c.CNAMESSRC, c.CNAMELen, c.HasBye = false, 0, 0, false
	c.Other, c.OtherXR, c.Dropped = 0, 0, 0
}

// Parse parses the compound RTCP packet b (a UDP payload) into c, checking
// what RFC 3550 A.2 and §6.4-6.6 let one check: every packet has version
// 2 and a length that fits, only the last packet may be padded (with a
// count from 1 to its length), and each packet's content fits its length.
// Unlike A.2 it does not insist on SR or RR first: RFC 5506 allows
// reduced-size RTCP with any packet alone. On error c holds what was
// parsed before it. Parse does not allocate.
func Parse(b []byte, c *Compound) error {
	c.reset()
	if len(b) < 4 {
		return ErrTruncated
	}
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return ErrTruncated
		}
		h := b[off:]
		if h[0]>>6 != 2 {
			return ErrVersion
		}
		n := 4 * (int(binary.BigEndian.Uint16(h[2:4])) + 1)
		if n > len(h) {
			return ErrTruncated
		}
		p := h[4:n]
		count := int(h[0] & 0x1f)
		if h[0]&0x20 != 0 {
			// RFC 3550 §6.4.1: the padding count is the last octet and
			// includes itself; only the last packet of a compound may be
			// padded (A.2).
			if off+n != len(b) || len(p) == 0 {
				return ErrPadding
			}
			pad := int(p[len(p)-1])
			if pad == 0 || pad > len(p) {
				return ErrPadding
			}
			p = p[:len(p)-pad]
		}
		var err error
		switch h[1] {
		case TypeSR:
			err = c.sr(p, count)
		case TypeRR:
			err = c.rr(p, count)
		case TypeSDES:
			err = c.sdes(p, count)
		case TypeBYE:
			err = c.bye(p, count)
		case TypeXR:
			err = c.xr(p)
		default:
			c.Other++
		}
		if err != nil {
			return err
		}
		c.Packets++
		off += n
	}
	return nil
}

// The packet parsers get the packet's body after the 4-byte header
// (padding removed) and the header's 5-bit count.

func (c *Compound) sr(p []byte, rc int) error {
	if len(p) < 24+24*rc {
		return ErrLength
	}
	ssrc := binary.BigEndian.Uint32(p)
	if c.NSenders < MaxSenders {
		c.Senders[c.NSenders] = SenderInfo{
			SSRC:    ssrc,
			NTP:     binary.BigEndian.Uint64(p[4:12]),
			RTPTime: binary.BigEndian.Uint32(p[12:16]),
			Packets: binary.BigEndian.Uint32(p[16:20]),
			Octets:  binary.BigEndian.Uint32(p[20:24]),
		}
		c.NSenders++
	} else {
		c.Dropped++
	}
	// Anything after the report blocks is a profile-specific extension
	// (RFC 3550 §6.4.1), skipped.
	c.blocks(ssrc, p[24:], rc)
	return nil
}

func (c *Compound) rr(p []byte, rc int) error {
	if len(p) < 4+24*rc {
		return ErrLength
	}
	c.blocks(binary.BigEndian.Uint32(p), p[4:], rc)
	return nil
}

func (c *Compound) blocks(reporter uint32, p []byte, rc int) {
	for i := 0; i < rc; i++ {
		if c.NReports == MaxReports {
			c.Dropped += rc - i
			return
		}
		q := p[24*i : 24*i+24]
		w := binary.BigEndian.Uint32(q[4:8])
		c.Reports[c.NReports] = ReportBlock{
			Reporter:     reporter,
			SSRC:         binary.BigEndian.Uint32(q[0:4]),
			FractionLost: uint8(w >> 24),
			// 24-bit two's complement: shift it to the top of an int32
			// and back to sign-extend.
			CumulativeLost: int32(w<<8) >> 8,
			ExtHighestSeq:  binary.BigEndian.Uint32(q[8:12]),
			Jitter:         binary.BigEndian.Uint32(q[12:16]),
			LSR:            binary.BigEndian.Uint32(q[16:20]),
			DLSR:           binary.BigEndian.Uint32(q[20:24]),
		}
		c.NReports++
	}
}

// sdes walks the SDES chunks (RFC 3550 §6.5): each is an SSRC/CSRC, items
// of type, length and text, a null item, and null padding to the next
// 32-bit boundary.
func (c *Compound) sdes(p []byte, sc int) error {
	off := 0
	for range sc {
		if len(p)-off < 4 {
			return ErrLength
		}
		src := binary.BigEndian.Uint32(p[off:])
		off += 4
		for {
			if off >= len(p) {
				return ErrLength
			}
			typ := p[off]
			if typ == 0 { // end of the item list
				off++
				break
			}
			if len(p)-off < 2 || len(p)-off-2 < int(p[off+1]) {
				return ErrLength
			}
			n := int(p[off+1])
			if typ == 1 && !c.HasCNAME { // CNAME
				c.HasCNAME, c.CNAMESSRC, c.CNAMELen = true, src, uint8(n)
				copy(c.CNAMEBuf[:], p[off+2:off+2+n])
			}
			off += 2 + n
		}
		// The null item and its padding end at a multiple of 4 bytes from
		// the chunk list's start (the packet's body starts aligned).
		off = (off + 3) &^ 3
		if off > len(p) {
			return ErrLength
		}
	}
	return nil
}

func (c *Compound) bye(p []byte, sc int) error {
	if len(p) < 4*sc {
		return ErrLength
	}
	c.HasBye = true
	for i := range sc {
		if c.NBye == MaxBye {
			c.Dropped += sc - i
			break
		}
		c.Bye[c.NBye] = binary.BigEndian.Uint32(p[4*i:])
		c.NBye++
	}
	// An optional reason (length octet and text) follows; it is not kept,
	// but must fit.
	if r := p[4*sc:]; len(r) > 0 && int(r[0]) > len(r)-1 {
		return ErrLength
	}
	return nil
}

// xr walks the report blocks of an XR packet (RFC 3611 §2: SSRC of the
// sender, then blocks of type, type-specific octet and a length in 32-bit
// words after the block's first word).
func (c *Compound) xr(p []byte) error {
	if len(p) < 4 {
		return ErrLength
	}
	reporter := binary.BigEndian.Uint32(p)
	for off := 4; off < len(p); {
		if len(p)-off < 4 {
			return ErrLength
		}
		bt := p[off]
		n := 4 * (int(binary.BigEndian.Uint16(p[off+2:off+4])) + 1)
		if n > len(p)-off {
			return ErrLength
		}
		if bt == 7 {
			if n != 36 { // block length 8 (RFC 3611 §4.7)
				return ErrLength
			}
			if c.NVoIP < MaxVoIP {
				c.VoIP[c.NVoIP] = voipMetrics(reporter, p[off+4:off+36])
				c.NVoIP++
			} else {
				c.Dropped++
			}
		} else {
			c.OtherXR++
		}
		off += n
	}
	return nil
}

// voipMetrics decodes the 32 bytes after a VoIP Metrics block's header.
func voipMetrics(reporter uint32, q []byte) VoIPMetrics {
	u16 := func(i int) uint16 { return binary.BigEndian.Uint16(q[i : i+2]) }
	return VoIPMetrics{
		Reporter:       reporter,
		SSRC:           binary.BigEndian.Uint32(q[0:4]),
		LossRate:       q[4],
		DiscardRate:    q[5],
		BurstDensity:   q[6],
		GapDensity:     q[7],
		BurstDuration:  u16(8),
		GapDuration:    u16(10),
		RoundTripDelay: u16(12),
		EndSystemDelay: u16(14),
		SignalLevel:    int8(q[16]),
		NoiseLevel:     int8(q[17]),
		RERL:           q[18],
		Gmin:           q[19],
		RFactor:        q[20],
		ExtRFactor:     q[21],
		MOSLQ:          q[22],
		MOSCQ:          q[23],
		RXConfig:       q[24],
		// q[25] is reserved.
		JBNominal: u16(26),
		JBMax:     u16(28),
		JBAbsMax:  u16(30),
	}
}

// LooksLikeRTCP reports whether a UDP payload is plausibly an RTCP
// compound packet: its first packet has version 2 and a type from SR (200)
// to XR (207), and the packets' length fields, each of version 2, add up
// to exactly the payload (RFC 3550 A.2, the check that RFC 5761 §4 relies
// on to demultiplex RTCP from RTP on one port). It does not allocate.
func LooksLikeRTCP(b []byte) bool {
	if len(b) < 8 || b[0]>>6 != 2 || b[1] < TypeSR || b[1] > TypeXR {
		return false
	}
	off := 0
	for off < len(b) {
		if len(b)-off < 4 || b[off]>>6 != 2 {
			return false
		}
		off += 4 * (int(binary.BigEndian.Uint16(b[off+2:off+4])) + 1)
	}
	return off == len(b)
}
