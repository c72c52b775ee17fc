package sipscan

import (
	"errors"

	"github.com/trunkscope/trunkscope/probe/internal/reject"
)

// Reason classifies why Scan or Frame rejected bytes, so that a probe can
// count rejections per reason in an array instead of matching strings.
type Reason uint8

// Rejection reasons. NumReasons sizes per-reason counter arrays.
const (
	ReasonNone             Reason = iota
	ReasonNotSIP                  // the first line is not a SIP start line at all
	ReasonBadStartLine            // SIP-like start line with a bad version, Request-URI or spacing
	ReasonBadStatus               // status code missing or outside 100-699
	ReasonBadHeader               // header line without a name or a colon
	ReasonBadCallID               // Call-ID missing, empty or repeated
	ReasonBadCSeq                 // CSeq missing, repeated, unparsable or not matching the request method
	ReasonBadContentLength        // Content-Length unparsable, too large or given twice with different values
	ReasonTruncated               // header section unfinished, or body shorter than Content-Length
	ReasonHeaderTooLong           // header section over MaxHeaderLen
	NumReasons
)

// String returns a snake_case name suitable for metric labels.
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonNotSIP:
		return "not_sip"
	case ReasonBadStartLine:
		return "bad_start_line"
	case ReasonBadStatus:
		return "bad_status"
	case ReasonBadHeader:
		return "bad_header"
	case ReasonBadCallID:
		return "bad_call_id"
	case ReasonBadCSeq:
		return "bad_cseq"
	case ReasonBadContentLength:
		return "bad_content_length"
	case ReasonTruncated:
		return "truncated"
	case ReasonHeaderTooLong:
		return "header_too_long"
	}
	return "unknown"
}

// Error is a rejection with its reason. Scan and Frame return only the
// sentinels below, which are *Error values, so that returning them does not
// allocate on the per-packet path; use errors.Is with a sentinel, or ReasonOf.
type Error struct {
	Reason Reason
	msg    string
}

func (e *Error) Error() string { return e.msg }

// Why returns the rejection's reason.
func (e *Error) Why() Reason { return e.Reason }

// Is makes every rejection except ErrNotSIP match ErrMalformed: "this was SIP
// but broken" is what a caller usually counts, separately from "not SIP".
func (e *Error) Is(target error) bool {
	return target == ErrMalformed && e.Reason != ReasonNotSIP && e.Reason != ReasonNone
}

// Sentinel errors. All but ErrNotSIP also match ErrMalformed.
var (
	ErrMalformed = errors.New("sipscan: malformed SIP message")

	ErrNotSIP           error = &Error{ReasonNotSIP, "sipscan: not a SIP message"}
	ErrBadStartLine     error = &Error{ReasonBadStartLine, "sipscan: bad start line"}
	ErrBadStatus        error = &Error{ReasonBadStatus, "sipscan: status code outside 100-699"}
	ErrBadHeader        error = &Error{ReasonBadHeader, "sipscan: bad header line"}
	ErrBadCallID        error = &Error{ReasonBadCallID, "sipscan: missing, empty or repeated Call-ID"}
	ErrBadCSeq          error = &Error{ReasonBadCSeq, "sipscan: missing or invalid CSeq"}
	ErrBadContentLength error = &Error{ReasonBadContentLength, "sipscan: invalid Content-Length"}
	ErrTruncated        error = &Error{ReasonTruncated, "sipscan: truncated message"}
	ErrHeaderTooLong    error = &Error{ReasonHeaderTooLong, "sipscan: header section over 64 KiB"}
)

// ReasonOf returns the reason of an error from Scan or Frame (also when
// wrapped), ReasonNone for nil and for errors from elsewhere.
func ReasonOf(err error) Reason { return reject.ReasonOf[Reason, *Error](err, ReasonNone) }
