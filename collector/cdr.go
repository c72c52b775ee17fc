package collector

import "strings"

// CDR is the record of one call leg, a projection of its SIP events.
// Times are Unix microseconds (0 = did not happen); ClickHouse 18.16 has no
// DateTime64, so the store keeps them as UInt64 beside a DateTime.
type CDR struct {
	CallID    string
	Leg       uint8
	Trunk     string // "" when no configured trunk matches
	Direction string // inbound | outbound | unknown
	ProbeID   string
	Caller    string // as sent (the URI's user part)
	Callee    string
	// CallerE164 and CalleeE164 are the numbers normalised with the trunk's
	// numbering rules; "" when not a plausible E.164 number.
	CallerE164, CalleeE164 string
	Country                string // country code of CalleeE164
	SrcIP                  string // the INVITE's sender
	DstIP                  string
	StartUS                int64 // first INVITE of the attempt
	RingUS                 int64 // first 18x
	AnswerUS               int64 // 2xx to the INVITE
	EndUS                  int64 // BYE, final response, or timer expiry
	PDDMs                  int64 // first INVITE to first 18x; -1 when undefined
	DurationMs             int64 // answer to end
	RingMs                 int64 // first 18x to answer (or to the end when unanswered); -1 without 18x
	Outcome                Outcome
	FinalCode              uint16
	HangupBy               string // caller | callee | ""
	Reason                 Reason // RFC 3326 Reason of the message that ended the leg
	Codecs                 string // negotiated codecs, when the SDP was seen
	// Correlation ties legs of one call with different Call-IDs (an SBC's
	// customer and carrier legs): HEP correlation id or configured header.
	Correlation string
	Flags       []string
	// Version orders rewrites of the same CDR: the capture time of the last
	// event folded in, so a CDR updated by a late event supersedes the old
	// row and a replay rewrites an identical one.
	Version uint64
}

// FlagString renders the flags for storage.
func (c *CDR) FlagString() string { return strings.Join(c.Flags, ",") }

// Row returns the CDR in schema.CDRColumns order.
func (c *CDR) Row() []any {
	return []any{c.CallID, c.Leg, c.Trunk, c.Direction, c.ProbeID, c.Caller, c.Callee,
		c.SrcIP, c.DstIP, usTime(c.StartUS), uint64(c.StartUS), uint64(c.RingUS), uint64(c.AnswerUS),
		uint64(c.EndUS), c.PDDMs, uint64(c.DurationMs), string(c.Outcome), c.FinalCode, c.HangupBy,
		c.FlagString(), c.Version, c.CallerE164, c.CalleeE164, c.Reason.Protocol, c.Reason.Cause,
		c.Reason.Text, c.Codecs, c.Correlation, c.RingMs, c.Country}
}
