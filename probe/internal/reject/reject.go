// Package reject holds what the probe's parsers (sipscan, sdp, hep) share
// about their errors: each rejection is a sentinel *Error of the parser's
// package carrying a Reason, so a per-packet rejection allocates nothing and
// its reason can be counted; ReasonOf gets the reason back, also through
// wrapping.
package reject

import "errors"

// Error is implemented by a parser's *Error: Why returns its reason.
type Error[R any] interface {
	error
	Why() R
}

// ReasonOf returns the reason of err when it is (or wraps) an E, none for
// nil and for errors from elsewhere.
func ReasonOf[R any, E Error[R]](err error, none R) R {
	if err == nil {
		return none
	}
	// The direct assertion keeps the common, unwrapped case free of
	// errors.As, whose target escapes.
	if e, ok := err.(E); ok {
		return e.Why()
	}
	var e E
	if errors.As(err, &e) {
		return e.Why()
	}
	return none
}
