package hep

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"net/netip"
)

// maxTimeUS is the largest time the two 32-bit time fields can carry:
// the last second they hold (in February 2106) plus the largest
// microseconds field. Decoders add the fields without checking that the
// microseconds stay below a million, and so does Decode, so every time it
// returns can be encoded again.
const maxTimeUS = (1<<32-1)*1e6 + (1<<32 - 1)

// splitTime splits a time in [0, maxTimeUS] into the seconds and
// microseconds fields, the microseconds below a million unless the seconds
// are at their limit.
func splitTime(us int64) (sec, usec uint32) {
	s := min(us/1e6, 1<<32-1)
	return uint32(s), uint32(us - s*1e6)
}

// Append appends p encoded as HEP v3 to dst and returns the extended
// buffer. p.Version is ignored. It writes the chunks that real senders
// write (Kamailio siptrace's order): family and IP protocol, the addresses
// and ports that are set, the time, protocol type and capture ID, then the
// correlation ID, auth key and node name when not empty, and the payload
// (chunk 0x0f, or gzip-compressed in chunk 0x10 when p.Compressed).
//
// With a dst of sufficient capacity and an uncompressed payload it does not
// allocate. It fails, leaving dst as it was, when the packet would exceed
// MaxPacket, when p.TimeUS does not fit the 32-bit seconds chunk, or when
// Src and Dst are of different families.
func Append(dst []byte, p *Packet) ([]byte, error) {
	if p.TimeUS < 0 || p.TimeUS > maxTimeUS {
		return dst, fmt.Errorf("hep: time %dus outside what the 32-bit time fields hold", p.TimeUS)
	}
	sa, da := p.Src.Addr(), p.Dst.Addr()
	if sa.IsValid() && da.IsValid() && sa.Is4() != da.Is4() {
		return dst, fmt.Errorf("hep: source %v and destination %v are of different families", sa, da)
	}
	start := len(dst)
	dst = append(dst, 'H', 'E', 'P', '3', 0, 0)
	if sa.IsValid() || da.IsValid() {
		fam := byte(afInet6)
		if (sa.IsValid() && sa.Is4()) || (!sa.IsValid() && da.Is4()) {
			fam = afInet
		}
		dst = appendU8(dst, chunkFamily, fam)
	}
	dst = appendU8(dst, chunkIPProto, p.IPProto)
	dst = appendAddr(dst, chunkSrcIPv4, chunkSrcIPv6, sa)
	dst = appendAddr(dst, chunkDstIPv4, chunkDstIPv6, da)
	if sa.IsValid() || p.Src.Port() != 0 {
		dst = appendU16(dst, chunkSrcPort, p.Src.Port())
	}
	if da.IsValid() || p.Dst.Port() != 0 {
		dst = appendU16(dst, chunkDstPort, p.Dst.Port())
	}
	if p.TimeUS != 0 {
		sec, usec := splitTime(p.TimeUS)
		dst = appendU32(dst, chunkTimeSec, sec)
		dst = appendU32(dst, chunkTimeUSec, usec)
	}
	dst = appendU8(dst, chunkProtoType, p.ProtoType)
	dst = appendU32(dst, chunkCaptureID, p.CaptureID)
	if len(p.CorrelationID) > 0 {
		dst = appendChunk(dst, chunkCorrID, p.CorrelationID)
	}
	if len(p.AuthKey) > 0 {
		dst = appendChunk(dst, chunkAuthKey, p.AuthKey)
	}
	if len(p.Node) > 0 {
		dst = appendChunk(dst, chunkNode, p.Node)
	}
	switch {
	case p.Compressed:
		dst = appendChunk(dst, chunkCompressed, compress(p.Payload))
	case len(p.Payload) > 0:
		dst = appendChunk(dst, chunkPayload, p.Payload)
	}
	n := len(dst) - start
	if n > MaxPacket {
		return dst[:start], ErrTooLarge
	}
	binary.BigEndian.PutUint16(dst[start+4:], uint16(n))
	return dst, nil
}

// AppendV2 appends p encoded as HEP v2 to dst and returns the extended
// buffer. HEP v2 has room for addresses, ports, IP protocol, time, a 16-bit
// capture ID and a SIP payload only: p.Version, AuthKey, CorrelationID and
// Node are dropped, a compressed payload is sent plain. The time fields are
// written little endian, as Kamailio writes them (see decodeV2).
//
// It fails, leaving dst as it was, when Src and Dst are not both valid and
// of one family, when CaptureID exceeds 16 bits, when p.ProtoType is
// neither 0 nor ProtoSIP, or when p.TimeUS does not fit.
func AppendV2(dst []byte, p *Packet) ([]byte, error) {
	sa, da := p.Src.Addr(), p.Dst.Addr()
	switch {
	case !sa.IsValid() || !da.IsValid() || sa.Is4() != da.Is4():
		return dst, fmt.Errorf("hep: v2 needs source and destination of one family, have %v and %v", p.Src, p.Dst)
	case p.CaptureID > 0xffff:
		return dst, fmt.Errorf("hep: capture ID %d does not fit v2's 16 bits", p.CaptureID)
	case p.ProtoType != 0 && p.ProtoType != ProtoSIP:
		return dst, fmt.Errorf("hep: v2 carries SIP only, not protocol type %d", p.ProtoType)
	case p.TimeUS < 0 || p.TimeUS > maxTimeUS:
		return dst, fmt.Errorf("hep: time %dus outside what the 32-bit time fields hold", p.TimeUS)
	}
	fam, alen := byte(afInet), 4
	if !sa.Is4() {
		fam, alen = afInet6, 16
	}
	dst = append(dst, 2, byte(8+2*alen), fam, p.IPProto)
	dst = binary.BigEndian.AppendUint16(dst, p.Src.Port())
	dst = binary.BigEndian.AppendUint16(dst, p.Dst.Port())
	if alen == 4 {
		s, d := sa.As4(), da.As4()
		dst = append(append(dst, s[:]...), d[:]...)
	} else {
		s, d := sa.As16(), da.As16()
		dst = append(append(dst, s[:]...), d[:]...)
	}
	sec, usec := splitTime(p.TimeUS)
	dst = binary.LittleEndian.AppendUint32(dst, sec)
	dst = binary.LittleEndian.AppendUint32(dst, usec)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(p.CaptureID))
	dst = append(dst, 0, 0) // struct padding
	return append(dst, p.Payload...), nil
}

func appendChunk(dst []byte, typ uint16, v []byte) []byte {
	dst = appendHeader(dst, typ, len(v))
	return append(dst, v...)
}

// appendHeader writes a vendor-0 chunk header. A value too long for the
// length field makes the packet exceed MaxPacket, which Append rejects.
func appendHeader(dst []byte, typ uint16, n int) []byte {
	dst = append(dst, 0, 0)
	dst = binary.BigEndian.AppendUint16(dst, typ)
	return binary.BigEndian.AppendUint16(dst, uint16(min(6+n, 0xffff)))
}

func appendU8(dst []byte, typ uint16, v byte) []byte {
	return append(appendHeader(dst, typ, 1), v)
}

func appendU16(dst []byte, typ uint16, v uint16) []byte {
	return binary.BigEndian.AppendUint16(appendHeader(dst, typ, 2), v)
}

func appendU32(dst []byte, typ uint16, v uint32) []byte {
	return binary.BigEndian.AppendUint32(appendHeader(dst, typ, 4), v)
}

// appendAddr writes an IPv4 address as a 4-byte chunk and anything else,
// IPv4-mapped IPv6 included, as a 16-byte one, so that decoding gives back
// the same netip.Addr.
func appendAddr(dst []byte, typ4, typ6 uint16, a netip.Addr) []byte {
	switch {
	case !a.IsValid():
		return dst
	case a.Is4():
		b := a.As4()
		return append(appendHeader(dst, typ4, 4), b[:]...)
	default:
		b := a.As16()
		return append(appendHeader(dst, typ6, 16), b[:]...)
	}
}

// compress gzips b. It allocates a writer per call: compression is for a
// sender that saves bandwidth, not for the receiving hot path.
func compress(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b) // writes to a bytes.Buffer cannot fail
	zw.Close()
	return buf.Bytes()
}
