package event

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/netip"
)

// Version is the envelope version this package writes and the highest it reads.
const Version = 1

const magic = 'T'

// Kind says what an event describes; it selects the topic and the decoder.
type Kind uint8

const (
	KindSIP Kind = 1 // one SIP message as seen on the wire
	// KindRTPReport (2) is in rtp.go; kinds 3.. are reserved for RTCP
	// reports and active-probe results.
)

func (k Kind) String() string {
	switch k {
	case KindSIP:
		return "sip"
	case KindRTPReport:
		return "rtp-report"
	case KindRTCP:
		return "rtcp"
	case KindOptionsPing:
		return "options-ping"
	case KindTestCall:
		return "test-call"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Transport is the transport a SIP message arrived over.
type Transport uint8

const (
	TransportUnknown Transport = 0
	TransportUDP     Transport = 1
	TransportTCP     Transport = 2
	TransportTLS     Transport = 3
	TransportSCTP    Transport = 4
	TransportWS      Transport = 5
)

func (t Transport) String() string {
	switch t {
	case TransportUDP:
		return "udp"
	case TransportTCP:
		return "tcp"
	case TransportTLS:
		return "tls"
	case TransportSCTP:
		return "sctp"
	case TransportWS:
		return "ws"
	}
	return "unknown"
}

// ID identifies an event. It is derived from the event's content (see
// SIP.ComputeID), not random, so that replaying the same capture or
// redelivering the same message yields the same ID and the store can
// deduplicate by it.
type ID [16]byte

func (id ID) String() string { return fmt.Sprintf("%x", id[:]) }

// Sentinel errors callers branch on.
var (
	ErrTruncated = errors.New("event: truncated")
	ErrMagic     = errors.New("event: not a trunkscope event")
	ErrVersion   = errors.New("event: unsupported envelope version")
	ErrKind      = errors.New("event: unexpected kind")
)

// Header is the envelope every event carries.
type Header struct {
	Version uint8
	ID      ID
	// ProbeID names the probe instance that observed the event.
	ProbeID []byte
	// TimeUS is the capture timestamp in microseconds since the Unix epoch.
	TimeUS int64
}

// SIP is one SIP message. Byte slices alias the buffer they were decoded
// from or the packet they were captured in: they are valid only while that
// buffer is unmodified. Copy what must outlive it.
type SIP struct {
	Header
	Src, Dst  netip.AddrPort
	Transport Transport
	// CallID is the Call-ID header value; it is the Kafka key, so all of a
	// call's messages stay in order in one partition.
	CallID []byte
	// Method is the request method, or the CSeq method for a response.
	Method []byte
	// Status is the response status code, 0 for a request.
	Status  uint16
	CSeqNum uint32
	// CorrelationID is HEP chunk 0x11 or a configured header, when present.
	CorrelationID []byte
	// CaptureID and Node are the HEP capture agent ID (chunk 0x0c) and node
	// name (chunk 0x13) of the sender that mirrored the message, usable for
	// trunk resolution; zero and empty for captured packets.
	CaptureID uint32
	Node      []byte
	// Flags qualify the observation (FlagRetransmission, ...).
	Flags Flags
	// Raw is the complete SIP message (start line, headers and body).
	Raw []byte
}

// Flags is a set of observation qualifiers.
type Flags uint8

const (
	// FlagRetransmission marks a message the probe has already seen once
	// in the same transaction (same Call-ID, CSeq and method or status)
	// at an earlier time: it was sent again, it is not a tap duplicate.
	FlagRetransmission Flags = 1 << iota
	// FlagHEP marks a message received over HEP rather than captured.
	FlagHEP
)

// IsRequest reports whether the message is a request.
func (s *SIP) IsRequest() bool { return s.Status == 0 }

// Reset clears s for reuse without freeing its slices' backing arrays.
func (s *SIP) Reset() { *s = SIP{} }

// IDHasher derives event IDs. It keeps its SHA-256 state between calls so
// that the probe's per-packet path allocates nothing; it is not safe for
// concurrent use (one per probe goroutine).
type IDHasher struct {
	h   hash.Hash
	sum [sha256.Size]byte
	buf [8 + 2*(16+2) + 1]byte
}

// NewIDHasher returns a hasher ready for use.
func NewIDHasher() *IDHasher { return &IDHasher{h: sha256.New()} }

// SetID sets s.ID from the fields that make a capture of a message unique:
// probe, capture time, addresses and the raw bytes. Two taps that see the same
// packet at the same instant produce one event; a retransmission, which comes
// at another time, is a distinct event (it is on the wire and must be counted).
func (x *IDHasher) SetID(s *SIP) {
	b := x.buf[:]
	binary.BigEndian.PutUint64(b[0:8], uint64(s.TimeUS))
	a := s.Src.Addr().As16()
	copy(b[8:24], a[:])
	binary.BigEndian.PutUint16(b[24:26], s.Src.Port())
	a = s.Dst.Addr().As16()
	copy(b[26:42], a[:])
	binary.BigEndian.PutUint16(b[42:44], s.Dst.Port())
	b[44] = byte(s.Transport)
	x.h.Reset()
	x.h.Write(s.ProbeID)
	x.h.Write(b)
	x.h.Write(s.Raw)
	copy(s.ID[:], x.h.Sum(x.sum[:0]))
}
