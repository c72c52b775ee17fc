package event

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Field tags of a SIP event. Tags are never reused: a removed field keeps its
// number reserved so that old events still decode.
const (
	tagID            = 1
	tagProbeID       = 2
	tagTimeUS        = 3
	tagSrc           = 4
	tagDst           = 5
	tagTransport     = 6
	tagCallID        = 7
	tagMethod        = 8
	tagStatus        = 9
	tagCSeqNum       = 10
	tagCorrelationID = 11
	tagRaw           = 12
	tagCaptureID     = 13
	tagNode          = 14
	tagFlags         = 15
)

// AppendSIP appends the encoding of s to dst and returns the extended buffer.
// With a dst of sufficient capacity it does not allocate.
func AppendSIP(dst []byte, s *SIP) []byte {
	dst = append(dst, magic, Version, byte(KindSIP))
	dst = appendBytes(dst, tagID, s.ID[:])
	dst = appendBytes(dst, tagProbeID, s.ProbeID)
	dst = appendU64(dst, tagTimeUS, uint64(s.TimeUS))
	dst = appendAddrPort(dst, tagSrc, s.Src)
	dst = appendAddrPort(dst, tagDst, s.Dst)
	dst = appendU64(dst, tagTransport, uint64(s.Transport))
	dst = appendBytes(dst, tagCallID, s.CallID)
	dst = appendBytes(dst, tagMethod, s.Method)
	dst = appendU64(dst, tagStatus, uint64(s.Status))
	dst = appendU64(dst, tagCSeqNum, uint64(s.CSeqNum))
	if len(s.CorrelationID) > 0 {
		dst = appendBytes(dst, tagCorrelationID, s.CorrelationID)
	}
	if s.CaptureID != 0 {
		dst = appendU64(dst, tagCaptureID, uint64(s.CaptureID))
	}
	if len(s.Node) > 0 {
		dst = appendBytes(dst, tagNode, s.Node)
	}
	if s.Flags != 0 {
		dst = appendU64(dst, tagFlags, uint64(s.Flags))
	}
	dst = appendBytes(dst, tagRaw, s.Raw)
	return dst
}

// PeekKind returns the kind of an encoded event without decoding it.
func PeekKind(b []byte) (Kind, error) {
	if len(b) < 3 {
		return 0, ErrTruncated
	}
	if b[0] != magic {
		return 0, ErrMagic
	}
	if b[1] == 0 || b[1] > Version {
		return 0, fmt.Errorf("%w: %d (this build reads up to %d)", ErrVersion, b[1], Version)
	}
	return Kind(b[2]), nil
}

// DecodeSIP decodes b into s. Slices in s alias b. Unknown fields are skipped
// so that events from newer probes still decode.
func DecodeSIP(b []byte, s *SIP) error {
	k, err := PeekKind(b)
	if err != nil {
		return err
	}
	if k != KindSIP {
		return fmt.Errorf("%w: %v, want sip", ErrKind, k)
	}
	s.Reset()
	s.Version = b[1]
	return fields(b[3:], "sip", func(tag byte, v []byte) error {
		var err error
		var x uint64
		switch tag {
		case tagTimeUS, tagTransport, tagStatus, tagCSeqNum, tagCaptureID, tagFlags:
			if x, err = u64(tag, v); err != nil {
				return err
			}
		}
		switch tag {
		case tagID:
			if len(v) != len(s.ID) {
				return fmt.Errorf("event: id of %d bytes: %w", len(v), ErrTruncated)
			}
			copy(s.ID[:], v)
		case tagProbeID:
			s.ProbeID = v
		case tagTimeUS:
			s.TimeUS = int64(x)
		case tagSrc:
			if err := s.Src.UnmarshalBinary(v); err != nil {
				return fmt.Errorf("event: source address: %w", err)
			}
		case tagDst:
			if err := s.Dst.UnmarshalBinary(v); err != nil {
				return fmt.Errorf("event: destination address: %w", err)
			}
		case tagTransport:
			s.Transport = Transport(x)
		case tagCallID:
			s.CallID = v
		case tagMethod:
			s.Method = v
		case tagStatus:
			s.Status = uint16(x)
		case tagCSeqNum:
			s.CSeqNum = uint32(x)
		case tagCorrelationID:
			s.CorrelationID = v
		case tagRaw:
			s.Raw = v
		case tagCaptureID:
			s.CaptureID = uint32(x)
		case tagNode:
			s.Node = v
		case tagFlags:
			s.Flags = Flags(x)
		}
		return nil
	})
}

func appendBytes(dst []byte, tag byte, v []byte) []byte {
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}

// appendU64 writes integers as uvarints inside the field: most are small
// (status codes, CSeq numbers) and the length prefix makes them skippable.
func appendU64(dst []byte, tag byte, v uint64) []byte {
	var tmp [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(tmp[:], v)
	return appendBytes(dst, tag, tmp[:n])
}

func u64(tag byte, v []byte) (uint64, error) {
	x, n := binary.Uvarint(v)
	if n <= 0 || n != len(v) {
		return 0, fmt.Errorf("event: field %d: bad integer", tag)
	}
	return x, nil
}

// appendAddrPort uses netip's binary form (4 or 16 address bytes, zone, port)
// without allocating: AddrPort.AppendBinary appends in place.
func appendAddrPort(dst []byte, tag byte, ap netip.AddrPort) []byte {
	dst = append(dst, tag, 0)
	start := len(dst)
	dst, _ = ap.AppendBinary(dst)
	if n := len(dst) - start; n < 0x80 {
		dst[start-1] = byte(n) // one uvarint byte: 4 or 16 address bytes, port, short zone
		return dst
	}
	// An IPv6 zone name this long is pathological; re-encode with a full
	// uvarint length rather than corrupt the field.
	v := append([]byte(nil), dst[start:]...)
	return appendBytes(dst[:start-2], tag, v)
}

// fields calls fn for each tagged field of an event body (after the
// 3-byte envelope header), stopping at the first error. A field whose
// length runs past the end is ErrTruncated.
func fields(b []byte, what string, fn func(tag byte, v []byte) error) error {
	for len(b) > 0 {
		tag := b[0]
		n, w := binary.Uvarint(b[1:])
		if w <= 0 || n > uint64(len(b)-1-w) {
			return fmt.Errorf("event: %s field %d: %w", what, tag, ErrTruncated)
		}
		v := b[1+w : 1+w+int(n)]
		b = b[1+w+int(n):]
		if err := fn(tag, v); err != nil {
			return err
		}
	}
	return nil
}
