package hep

import "github.com/trunkscope/trunkscope/probe/internal/reject"

// Reason classifies why a packet was rejected, so that a server can count
// rejections in an array indexed by reason instead of matching strings.
type Reason uint8

// Rejection reasons. NumReasons sizes per-reason counter arrays.
const (
	ReasonNone      Reason = iota
	ReasonNotHEP           // neither "HEP3" nor a v1/v2 version byte
	ReasonTruncated        // shorter than a header, the total length or a chunk says
	ReasonBadLength        // HEP3 total length below 6, or bytes after it in a datagram
	ReasonBadChunk         // chunk length below 6, or a fixed-size chunk of the wrong size
	ReasonBadFamily        // HEP v1/v2 address family neither AF_INET (2) nor AF_INET6 (10)
	ReasonTooLarge         // inflated payload over MaxPayload, or a packet over 65,535 bytes to encode
	ReasonGzip             // compressed payload that does not inflate
	ReasonAuth             // auth key (chunk 0x0e) missing or different from the configured one
	ReasonNotSIP           // protocol type (chunk 0x0b) is not SIP: ToSIP has nothing to convert
	NumReasons
)

// String returns a snake_case name fit for a metric label.
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonNotHEP:
		return "not_hep"
	case ReasonTruncated:
		return "truncated"
	case ReasonBadLength:
		return "bad_length"
	case ReasonBadChunk:
		return "bad_chunk"
	case ReasonBadFamily:
		return "bad_family"
	case ReasonTooLarge:
		return "too_large"
	case ReasonGzip:
		return "gzip"
	case ReasonAuth:
		return "auth"
	case ReasonNotSIP:
		return "not_sip"
	}
	return "unknown"
}

// Error is a rejection with its reason. The package returns only the
// sentinels below, which are *Error values, so that returning one on the
// per-packet path does not allocate (wrapping with fmt.Errorf would). Use
// errors.Is with a sentinel, or ReasonOf.
type Error struct {
	Reason Reason
	msg    string
}

func (e *Error) Error() string { return e.msg }

// Why returns the rejection's reason.
func (e *Error) Why() Reason { return e.Reason }

// Sentinel errors, one per Reason.
var (
	ErrNotHEP    error = &Error{ReasonNotHEP, "hep: not a HEP packet"}
	ErrTruncated error = &Error{ReasonTruncated, "hep: truncated packet"}
	ErrBadLength error = &Error{ReasonBadLength, "hep: bad total length"}
	ErrBadChunk  error = &Error{ReasonBadChunk, "hep: bad chunk length"}
	ErrBadFamily error = &Error{ReasonBadFamily, "hep: unsupported address family"}
	ErrTooLarge  error = &Error{ReasonTooLarge, "hep: payload or packet too large"}
	ErrGzip      error = &Error{ReasonGzip, "hep: corrupt compressed payload"}
	ErrAuth      error = &Error{ReasonAuth, "hep: auth key missing or wrong"}
	ErrNotSIP    error = &Error{ReasonNotSIP, "hep: protocol type is not SIP"}
)

// ReasonOf returns the reason of an error from this package (also when
// wrapped), ReasonNone for nil and for errors from elsewhere.
func ReasonOf(err error) Reason { return reject.ReasonOf[Reason, *Error](err, ReasonNone) }
