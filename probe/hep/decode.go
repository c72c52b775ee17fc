package hep

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"io"
	"net/netip"
)

// MaxPayload caps an inflated payload (chunk 0x10). An uncompressed payload
// cannot exceed a 65,535-byte packet, so nothing legitimate needs more; the
// cap keeps a small "gzip bomb" from costing more than this much memory and
// the CPU to fill it.
const MaxPayload = 64 << 10

// MaxPacket is the largest HEP3 packet: its total length is 16 bits.
const MaxPacket = 65535

// Chunk types of vendor 0 (the generic chunks of the HEP3 specification).
const (
	chunkFamily     = 0x01 // u8: 2 AF_INET, 10 AF_INET6
	chunkIPProto    = 0x02 // u8
	chunkSrcIPv4    = 0x03 // 4 bytes
	chunkDstIPv4    = 0x04 // 4 bytes
	chunkSrcIPv6    = 0x05 // 16 bytes
	chunkDstIPv6    = 0x06 // 16 bytes
	chunkSrcPort    = 0x07 // u16
	chunkDstPort    = 0x08 // u16
	chunkTimeSec    = 0x09 // u32, seconds since the epoch
	chunkTimeUSec   = 0x0a // u32, microseconds added to it
	chunkProtoType  = 0x0b // u8
	chunkCaptureID  = 0x0c // u32
	chunkAuthKey    = 0x0e // string
	chunkPayload    = 0x0f // bytes
	chunkCompressed = 0x10 // gzip (or zlib) compressed bytes
	chunkCorrID     = 0x11 // string
	chunkNode       = 0x13 // string, the capture agent's name
)

// Address families of the v1/v2 header, as the sender's C library numbers
// them. All known senders run on Linux; the BSD numbers for AF_INET6 are
// accepted too because nothing else could mean them.
const (
	afInet        = 2
	afInet6       = 10 // Linux
	afInet6BSD    = 28 // FreeBSD
	afInet6Darwin = 30 // macOS
)

// v2TimeLen is sizeof(struct hep_timehdr): u32 seconds, u32 microseconds,
// u16 capture id, and 2 bytes of padding that the C compiler adds to align
// the struct to 4 bytes. Kamailio's receiver skips all 12 (hepv2_received);
// heplify-server skips only 10 and so keeps two NUL bytes before the SIP
// message.
const v2TimeLen = 12

// Decoder decodes HEP packets. It owns the buffer that compressed payloads
// are inflated into, so it is not safe for concurrent use: use one per
// reading goroutine. The zero value is ready for use.
type Decoder struct {
	src bytes.Reader
	gz  *gzip.Reader
	zl  io.ReadCloser
	buf []byte // MaxPayload+1, allocated on the first compressed payload
}

// Decode decodes the HEP packet b (one datagram, or one frame from a
// stream) into p, overwriting every field. It tells the versions apart by
// the first bytes: "HEP3" is v3, a first byte of 1 or 2 is v1 or v2.
//
// Uncompressed packets decode without allocating: p's slices alias b. A
// compressed payload is inflated into d's buffer, which the next Decode
// overwrites. Decode returns one of the package's sentinel errors; p is then
// only partly filled.
func (d *Decoder) Decode(b []byte, p *Packet) error {
	*p = Packet{}
	if len(b) >= 4 && b[0] == 'H' && b[1] == 'E' && b[2] == 'P' && b[3] == '3' {
		return d.decodeV3(b, p)
	}
	if len(b) > 0 && (b[0] == 1 || b[0] == 2) {
		return decodeV2(b, p)
	}
	return ErrNotHEP
}

// FrameLen returns the length of the HEP3 frame that starts b, for reading
// frames back to back from a stream: 0 and nil while b holds fewer than the
// 6 header bytes, ErrNotHEP when b does not start with "HEP3" (or, shorter,
// a prefix of it), ErrBadLength when the length field is below the header's
// own 6 bytes. HEP v1 and v2 have no total length, so they cannot be framed
// on a stream.
func FrameLen(b []byte) (int, error) {
	const magic = "HEP3"
	for i := 0; i < len(b) && i < len(magic); i++ {
		if b[i] != magic[i] {
			return 0, ErrNotHEP
		}
	}
	if len(b) < 6 {
		return 0, nil
	}
	n := int(binary.BigEndian.Uint16(b[4:6]))
	if n < 6 {
		return 0, ErrBadLength
	}
	return n, nil
}

func (d *Decoder) decodeV3(b []byte, p *Packet) error {
	// Check the length before slicing: heplify-server reads b[4:6] first
	// and panics on an exact 4-byte "HEP3" (STYLE.md §5).
	if len(b) < 6 {
		return ErrTruncated
	}
	n := int(binary.BigEndian.Uint16(b[4:6]))
	switch {
	case n < 6:
		return ErrBadLength
	case n > len(b):
		return ErrTruncated
	case n < len(b):
		// A datagram carries exactly one packet; bytes after it mean the
		// length or the sender is wrong, so trust neither.
		return ErrBadLength
	}
	p.Version = 3
	var (
		srcAddr, dstAddr netip.Addr
		srcPort, dstPort uint16
		sec, usec        uint32
		comp             []byte // chunk 0x10, inflated once all chunks are read
	)
	for i := 6; i < n; {
		if n-i < 6 {
			return ErrTruncated
		}
		vendor := binary.BigEndian.Uint16(b[i:])
		typ := binary.BigEndian.Uint16(b[i+2:])
		l := int(binary.BigEndian.Uint16(b[i+4:]))
		if l < 6 {
			// A length below the chunk's own header would never advance
			// (0) or run backwards into it (1-5).
			return ErrBadChunk
		}
		if l > n-i {
			return ErrTruncated
		}
		v := b[i+6 : i+l]
		i += l
		// The generic chunks are vendor 0; other vendors number their own
		// types, so their chunk 0x0f is not a payload (Kamailio's
		// sipcapture skips them the same way).
		if vendor != 0 {
			continue
		}
		if want := chunkSize(typ); want >= 0 && len(v) != want {
			return ErrBadChunk
		}
		switch typ {
		case chunkIPProto:
			p.IPProto = v[0]
		case chunkSrcIPv4:
			srcAddr = netip.AddrFrom4([4]byte(v))
		case chunkDstIPv4:
			dstAddr = netip.AddrFrom4([4]byte(v))
		case chunkSrcIPv6:
			srcAddr = netip.AddrFrom16([16]byte(v))
		case chunkDstIPv6:
			dstAddr = netip.AddrFrom16([16]byte(v))
		case chunkSrcPort:
			srcPort = binary.BigEndian.Uint16(v)
		case chunkDstPort:
			dstPort = binary.BigEndian.Uint16(v)
		case chunkTimeSec:
			sec = binary.BigEndian.Uint32(v)
		case chunkTimeUSec:
			usec = binary.BigEndian.Uint32(v)
		case chunkProtoType:
			p.ProtoType = v[0]
		case chunkCaptureID:
			p.CaptureID = binary.BigEndian.Uint32(v)
		case chunkAuthKey:
			p.AuthKey = v
		case chunkPayload:
			p.Payload, p.Compressed, comp = v, false, nil
		case chunkCompressed:
			p.Payload, p.Compressed, comp = nil, true, v
		case chunkCorrID:
			p.CorrelationID = v
		case chunkNode:
			p.Node = v
		}
		// chunkFamily is implied by the address chunks; 0x0d keep-alive
		// timer, 0x12 VLAN, MACs, MOS and the rest are skipped.
	}
	if srcAddr.IsValid() || srcPort != 0 {
		p.Src = netip.AddrPortFrom(srcAddr, srcPort)
	}
	if dstAddr.IsValid() || dstPort != 0 {
		p.Dst = netip.AddrPortFrom(dstAddr, dstPort)
	}
	p.TimeUS = int64(sec)*1e6 + int64(usec)
	if p.Compressed {
		pl, err := d.inflate(comp)
		if err != nil {
			return err
		}
		p.Payload = pl
	}
	return nil
}

// chunkSize is the value size of the fixed-size generic chunks (HEP3
// specification, "generic chunk types"), -1 for variable ones. A wrong size
// is an error rather than a partial read: it means the sender and this
// decoder disagree on the chunk, so its value cannot be trusted.
func chunkSize(typ uint16) int {
	switch typ {
	case chunkFamily, chunkIPProto, chunkProtoType:
		return 1
	case chunkSrcPort, chunkDstPort:
		return 2
	case chunkSrcIPv4, chunkDstIPv4, chunkTimeSec, chunkTimeUSec, chunkCaptureID:
		return 4
	case chunkSrcIPv6, chunkDstIPv6:
		return 16
	}
	return -1
}

// inflate decompresses a chunk 0x10 value into d.buf. The HEP3
// specification says "gzip/inflate": senders use gzip (RFC 1952) or a zlib
// stream (RFC 1950), told apart here by their first bytes.
func (d *Decoder) inflate(z []byte) ([]byte, error) {
	d.src.Reset(z)
	var r io.Reader
	switch {
	case len(z) >= 2 && z[0] == 0x1f && z[1] == 0x8b:
		if d.gz == nil {
			gz, err := gzip.NewReader(&d.src)
			if err != nil {
				return nil, ErrGzip
			}
			d.gz = gz
		} else if err := d.gz.Reset(&d.src); err != nil {
			return nil, ErrGzip
		}
		r = d.gz
	case len(z) >= 2 && z[0]&0x0f == 8 && (uint16(z[0])<<8|uint16(z[1]))%31 == 0:
		// RFC 1950 §2.2: CM = 8 (deflate) and the header, read as a big
		// endian u16, is a multiple of 31.
		if d.zl == nil {
			zl, err := zlib.NewReader(&d.src)
			if err != nil {
				return nil, ErrGzip
			}
			d.zl = zl
		} else if err := d.zl.(zlib.Resetter).Reset(&d.src, nil); err != nil {
			return nil, ErrGzip
		}
		r = d.zl
	default:
		return nil, ErrGzip
	}
	if d.buf == nil {
		d.buf = make([]byte, MaxPayload+1)
	}
	// Read at most MaxPayload+1 bytes: one more than allowed proves the
	// payload too large without inflating the rest of it.
	n := 0
	for {
		m, err := r.Read(d.buf[n:])
		n += m
		switch {
		case n == len(d.buf):
			return nil, ErrTooLarge
		case err == io.EOF:
			return d.buf[:n], nil
		case err != nil:
			// io.ErrUnexpectedEOF here is a cut stream, not the end of
			// the buffer.
			return nil, ErrGzip
		}
	}
}

func decodeV2(b []byte, p *Packet) error {
	if len(b) < 8 {
		return ErrTruncated
	}
	var alen int
	switch b[2] {
	case afInet:
		alen = 4
	case afInet6, afInet6BSD, afInet6Darwin:
		alen = 16
	default:
		return ErrBadFamily
	}
	// b[1], the header length, is not checked: Kamailio's receiver ignores
	// it too and derives the length from the family.
	hl := 8 + 2*alen
	if b[0] == 2 {
		hl += v2TimeLen
	}
	if len(b) < hl {
		return ErrTruncated
	}
	p.Version = b[0]
	p.IPProto = b[3]
	p.ProtoType = ProtoSIP
	sport := binary.BigEndian.Uint16(b[4:6])
	dport := binary.BigEndian.Uint16(b[6:8])
	a := b[8:]
	if alen == 4 {
		p.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[0:4])), sport)
		p.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[4:8])), dport)
	} else {
		p.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[0:16])), sport)
		p.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[16:32])), dport)
	}
	if b[0] == 2 {
		// struct hep_timehdr is copied from memory in the sender's byte
		// order; Kamailio converts it to little endian explicitly
		// (to_le in siptrace_hep.c), and the other senders run on little
		// endian machines.
		t := b[8+2*alen:]
		sec := binary.LittleEndian.Uint32(t[0:4])
		usec := binary.LittleEndian.Uint32(t[4:8])
		p.TimeUS = int64(sec)*1e6 + int64(usec)
		p.CaptureID = uint32(binary.LittleEndian.Uint16(t[8:10]))
	}
	p.Payload = b[hl:]
	return nil
}
