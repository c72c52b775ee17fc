package collector

// Outcome classifies how a call attempt ended. The counting rules live here
// and nowhere else (README, "Counting rules"):
//
//   - answered: a 2xx to the attempt's INVITE.
//   - busy: final 486 Busy Here or 600 Busy Everywhere.
//   - no_answer: a received 408 Request Timeout or 480 Temporarily
//     Unavailable: the far end was reached and did not pick up.
//   - cancelled: the caller sent CANCEL before answer (final 487).
//   - rejected: any other final 3xx-6xx response.
//   - timeout: no final response at all within the INVITE timeout (RFC 3261
//     Timer B, 32 s). It is not a received 408: nobody answered the INVITE.
//
// A 401/407 challenge followed by a re-sent INVITE is the same attempt; a
// challenge that is never retried ends the attempt as rejected.
type Outcome string

const (
	Answered  Outcome = "answered"
	Busy      Outcome = "busy"
	NoAnswer  Outcome = "no_answer"
	Cancelled Outcome = "cancelled"
	Rejected  Outcome = "rejected"
	Timeout   Outcome = "timeout"
)

// classify is the one place an attempt's outcome is decided.
func classify(answered bool, final uint16, cancelled bool) Outcome {
	switch {
	case answered:
		return Answered
	case final == 0:
		return Timeout
	case final == 486 || final == 600:
		return Busy
	case final == 487 || (cancelled && final >= 400):
		return Cancelled
	case final == 408 || final == 480:
		return NoAnswer
	}
	return Rejected
}
