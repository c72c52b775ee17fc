package sdp

import (
	"errors"

	"github.com/trunkscope/trunkscope/probe/internal/reject"
)

// Reason classifies why Parse rejected a body, so that a caller can count
// rejections per reason in an array instead of matching strings.
type Reason uint8

// Rejection reasons. NumReasons sizes per-reason counter arrays.
const (
	ReasonNone          Reason = iota
	ReasonNotSDP               // empty, or the first line is not "v=0" (RFC 8866 §5.1)
	ReasonBadLine              // a line that is not <letter>=<value> (RFC 8866 §5)
	ReasonBadConnection        // c= (or a=rtcp's address) without nettype, addrtype and a usable address
	ReasonBadMedia             // m= without media, port or proto, or an RTP format that is not 0-127
	ReasonBadRTPMap            // a=rtpmap without a payload type, name or clock rate
	ReasonBadRTCP              // a=rtcp with a bad port or address (RFC 3605)
	NumReasons
)

// String returns a snake_case name suitable for metric labels.
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonNotSDP:
		return "not_sdp"
	case ReasonBadLine:
		return "bad_line"
	case ReasonBadConnection:
		return "bad_connection"
	case ReasonBadMedia:
		return "bad_media"
	case ReasonBadRTPMap:
		return "bad_rtpmap"
	case ReasonBadRTCP:
		return "bad_rtcp"
	}
	return "unknown"
}

// Error is a rejection with its reason. Parse returns only the sentinels
// below, which are *Error values, so that a rejection allocates nothing; use
// errors.Is with a sentinel, or ReasonOf.
type Error struct {
	Reason Reason
	msg    string
}

func (e *Error) Error() string { return e.msg }

// Why returns the rejection's reason.
func (e *Error) Why() Reason { return e.Reason }

// Is makes every rejection except ErrNotSDP match ErrMalformed: "this was SDP
// but broken" is what a caller usually counts apart from "not SDP at all"
// (a multipart body, an ISUP blob, a wrong Content-Type).
func (e *Error) Is(target error) bool {
	return target == ErrMalformed && e.Reason != ReasonNotSDP && e.Reason != ReasonNone
}

// Sentinel errors. All but ErrNotSDP also match ErrMalformed.
var (
	ErrMalformed = errors.New("sdp: malformed session description")

	ErrNotSDP        error = &Error{ReasonNotSDP, "sdp: not a session description (no v=0 first line)"}
	ErrBadLine       error = &Error{ReasonBadLine, "sdp: line is not <type>=<value>"}
	ErrBadConnection error = &Error{ReasonBadConnection, "sdp: bad connection line"}
	ErrBadMedia      error = &Error{ReasonBadMedia, "sdp: bad media line"}
	ErrBadRTPMap     error = &Error{ReasonBadRTPMap, "sdp: bad rtpmap attribute"}
	ErrBadRTCP       error = &Error{ReasonBadRTCP, "sdp: bad rtcp attribute"}
)

// ReasonOf returns the reason of an error from Parse (also when
// wrapped), ReasonNone for nil and for errors from elsewhere.
func ReasonOf(err error) Reason { return reject.ReasonOf[Reason, *Error](err, ReasonNone) }
