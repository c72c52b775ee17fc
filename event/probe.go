package event

import (
	"encoding/binary"
	"fmt"
)

// Active-probe results (DESIGN.md, "Probe (active input)"). They are keyed
// by trunk on the probe topic: one trunk's pings stay in order on one
// partition, which the collector needs for nothing but a reader of the
// topic (an alerter) may.
const (
	// KindOptionsPing is one SIP OPTIONS round trip to one trunk target.
	KindOptionsPing Kind = 4
	// KindTestCall is one test call through a trunk.
	KindTestCall Kind = 5
)

// PingResult classifies an OPTIONS ping. The names are the values of
// options_pings.result.
type PingResult uint8

const (
	PingOK           PingResult = 1 // a final response arrived (any code: a 404 still proves the peer is up)
	PingTimeout      PingResult = 2 // nothing by the deadline
	PingRefused      PingResult = 3 // TCP/TLS connection refused, or ICMP port unreachable
	PingUnresolvable PingResult = 4 // the host name does not resolve
	PingTLS          PingResult = 5 // TLS handshake or certificate verification failed
	PingError        PingResult = 6 // any other local or transport failure
	PingBadResponse  PingResult = 7 // bytes came back that are not a SIP response to the ping
)

var pingResults = [...]string{"", "ok", "timeout", "refused", "unresolvable", "tls", "error", "bad_response"}

func (r PingResult) String() string {
	if int(r) < len(pingResults) && r != 0 {
		return pingResults[r]
	}
	return fmt.Sprintf("result(%d)", uint8(r))
}

// TrunkState is a trunk target's availability after hysteresis.
type TrunkState uint8

const (
	StateUp       TrunkState = 1
	StateDegraded TrunkState = 2 // failing, not yet for long enough to be down; or recovering
	StateDown     TrunkState = 3
)

var trunkStates = [...]string{"", "up", "degraded", "down"}

func (s TrunkState) String() string {
	if int(s) < len(trunkStates) && s != 0 {
		return trunkStates[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// CallResult classifies a test call; the names are test_calls.result.
type CallResult uint8

const (
	CallAnswered    CallResult = 1 // answered, media both ways
	CallTimeout     CallResult = 2 // no final response by the deadline (nothing, or only 100 Trying)
	CallRejected    CallResult = 3 // a 3xx-6xx final response (Code)
	CallCancelled   CallResult = 4 // rang without answer for the ring timeout: CANCEL sent
	CallOneWayAudio CallResult = 5 // answered, but no RTP came back
	CallError       CallResult = 6 // unresolvable, refused, TLS, bad response, local failure (Detail)
)

var callResults = [...]string{"", "answered", "timeout", "rejected", "cancelled", "one_way_audio", "error"}

func (r CallResult) String() string {
	if int(r) < len(callResults) && r != 0 {
		return callResults[r]
	}
	return fmt.Sprintf("result(%d)", uint8(r))
}

// OptionsPing is one OPTIONS ping's outcome. Slices alias the decoded
// buffer.
type OptionsPing struct {
	Header
	Trunk     []byte
	Target    []byte // the target URI as configured, e.g. sip:198.51.100.10:5060
	Transport Transport
	Code      uint16 // final response code, 0 when none arrived
	RTTUS     uint32 // request written to response read off the socket
	Result    PingResult
	State     TrunkState // the target's state after this ping
	// Detail says what went wrong in words (never credentials).
	Detail []byte
}

const (
	pingTagID = iota + 1
	pingTagProbeID
	pingTagTimeUS
	pingTagTrunk
	pingTagTarget
	pingTagTransport
	pingTagCode
	pingTagRTT
	pingTagResult
	pingTagState
	pingTagDetail
)

// AppendOptionsPing appends the encoding of p to dst.
func AppendOptionsPing(dst []byte, p *OptionsPing) []byte {
	dst = append(dst, magic, Version, byte(KindOptionsPing))
	dst = appendBytes(dst, pingTagID, p.ID[:])
	dst = appendBytes(dst, pingTagProbeID, p.ProbeID)
	dst = appendU64(dst, pingTagTimeUS, uint64(p.TimeUS))
	dst = appendBytes(dst, pingTagTrunk, p.Trunk)
	dst = appendBytes(dst, pingTagTarget, p.Target)
	dst = appendU64(dst, pingTagTransport, uint64(p.Transport))
	dst = appendU64(dst, pingTagCode, uint64(p.Code))
	dst = appendU64(dst, pingTagRTT, uint64(p.RTTUS))
	dst = appendU64(dst, pingTagResult, uint64(p.Result))
	dst = appendU64(dst, pingTagState, uint64(p.State))
	if len(p.Detail) > 0 {
		dst = appendBytes(dst, pingTagDetail, p.Detail)
	}
	return dst
}

// DecodeOptionsPing decodes b into p; slices alias b, unknown fields are
// skipped.
func DecodeOptionsPing(b []byte, p *OptionsPing) error {
	k, err := PeekKind(b)
	if err != nil {
		return err
	}
	if k != KindOptionsPing {
		return fmt.Errorf("%w: %v, want options ping", ErrKind, k)
	}
	*p = OptionsPing{}
	p.Version = b[1]
	return fields(b[3:], "options ping", func(tag byte, v []byte) error {
		switch tag {
		case pingTagID:
			if len(v) != len(p.ID) {
				return fmt.Errorf("event: id of %d bytes: %w", len(v), ErrTruncated)
			}
			copy(p.ID[:], v)
		case pingTagProbeID:
			p.ProbeID = v
		case pingTagTrunk:
			p.Trunk = v
		case pingTagTarget:
			p.Target = v
		case pingTagDetail:
			p.Detail = v
		case pingTagTimeUS, pingTagTransport, pingTagCode, pingTagRTT, pingTagResult, pingTagState:
			x, err := u64(tag, v)
			if err != nil {
				return err
			}
			switch tag {
			case pingTagTimeUS:
				p.TimeUS = int64(x)
			case pingTagTransport:
				p.Transport = Transport(x)
			case pingTagCode:
				p.Code = uint16(x)
			case pingTagRTT:
				p.RTTUS = uint32(x)
			case pingTagResult:
				p.Result = PingResult(x)
			case pingTagState:
				p.State = TrunkState(x)
			}
		}
		return nil
	})
}

// TestCall is one test call's outcome and the quality of the audio the
// probe received. Slices alias the decoded buffer.
type TestCall struct {
	Header
	Trunk  []byte
	CallID []byte
	Target []byte // the Request-URI called
	Result CallResult
	Code   uint16 // final response code (0 when none)
	// PDDMS runs from the INVITE to the first 18x (RFC 6076 SRD), SetupMS
	// to the 2xx, both from socket arrival times; DurationMS is the
	// answered time to the BYE. Zero when the event did not happen.
	PDDMS, SetupMS, DurationMS uint32
	// TxPackets were sent; RxPackets, RxLost and JitterUS describe the
	// received stream (RFC 3550), MOSx1000 its E-model MOS (G.107) x 1000.
	TxPackets, RxPackets uint32
	RxLost               int32 // negative with duplicates, as RFC 3550 counts
	JitterUS             uint32
	MOSx1000             uint16
	Detail               []byte
}

const (
	callTagID = iota + 1
	callTagProbeID
	callTagTimeUS
	callTagTrunk
	callTagCallID
	callTagTarget
	callTagResult
	callTagCode
	callTagPDD
	callTagSetup
	callTagDuration
	callTagTx
	callTagRx
	callTagLost // zigzag
	callTagJitter
	callTagMOS
	callTagDetail
)

// AppendTestCall appends the encoding of c to dst.
func AppendTestCall(dst []byte, c *TestCall) []byte {
	dst = append(dst, magic, Version, byte(KindTestCall))
	dst = appendBytes(dst, callTagID, c.ID[:])
	dst = appendBytes(dst, callTagProbeID, c.ProbeID)
	dst = appendU64(dst, callTagTimeUS, uint64(c.TimeUS))
	dst = appendBytes(dst, callTagTrunk, c.Trunk)
	dst = appendBytes(dst, callTagCallID, c.CallID)
	dst = appendBytes(dst, callTagTarget, c.Target)
	for _, f := range [...]struct {
		tag byte
		v   uint64
	}{
		{callTagResult, uint64(c.Result)}, {callTagCode, uint64(c.Code)}, {callTagPDD, uint64(c.PDDMS)},
		{callTagSetup, uint64(c.SetupMS)}, {callTagDuration, uint64(c.DurationMS)}, {callTagTx, uint64(c.TxPackets)},
		{callTagRx, uint64(c.RxPackets)}, {callTagLost, zigzag(int64(c.RxLost))}, {callTagJitter, uint64(c.JitterUS)},
		{callTagMOS, uint64(c.MOSx1000)},
	} {
		dst = appendU64(dst, f.tag, f.v)
	}
	if len(c.Detail) > 0 {
		dst = appendBytes(dst, callTagDetail, c.Detail)
	}
	return dst
}

// DecodeTestCall decodes b into c; slices alias b, unknown fields are
// skipped.
func DecodeTestCall(b []byte, c *TestCall) error {
	k, err := PeekKind(b)
	if err != nil {
		return err
	}
	if k != KindTestCall {
		return fmt.Errorf("%w: %v, want test call", ErrKind, k)
	}
	*c = TestCall{}
	c.Version = b[1]
	return fields(b[3:], "test call", func(tag byte, v []byte) error {
		switch tag {
		case callTagID:
			if len(v) != len(c.ID) {
				return fmt.Errorf("event: id of %d bytes: %w", len(v), ErrTruncated)
			}
			copy(c.ID[:], v)
			return nil
		case callTagProbeID:
			c.ProbeID = v
			return nil
		case callTagTrunk:
			c.Trunk = v
			return nil
		case callTagCallID:
			c.CallID = v
			return nil
		case callTagTarget:
			c.Target = v
			return nil
		case callTagDetail:
			c.Detail = v
			return nil
		}
		if tag > callTagDetail {
			return nil // a newer producer's field
		}
		x, err := u64(tag, v)
		if err != nil {
			return err
		}
		switch tag {
		case callTagTimeUS:
			c.TimeUS = int64(x)
		case callTagResult:
			c.Result = CallResult(x)
		case callTagCode:
			c.Code = uint16(x)
		case callTagPDD:
			c.PDDMS = uint32(x)
		case callTagSetup:
			c.SetupMS = uint32(x)
		case callTagDuration:
			c.DurationMS = uint32(x)
		case callTagTx:
			c.TxPackets = uint32(x)
		case callTagRx:
			c.RxPackets = uint32(x)
		case callTagLost:
			c.RxLost = int32(unzigzag(x))
		case callTagJitter:
			c.JitterUS = uint32(x)
		case callTagMOS:
			c.MOSx1000 = uint16(x)
		}
		return nil
	})
}

// SetOptionsPingID derives a ping's ID from probe, trunk, target and send
// time: a ping published twice (a producer retry) is one row.
func (x *IDHasher) SetOptionsPingID(p *OptionsPing) {
	x.h.Reset()
	x.h.Write(p.ProbeID)
	x.h.Write([]byte{0})
	x.h.Write(p.Trunk)
	x.h.Write([]byte{0})
	x.h.Write(p.Target)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(p.TimeUS))
	x.h.Write(b[:])
	copy(p.ID[:], x.h.Sum(x.sum[:0]))
}

// SetTestCallID derives a test call's ID from probe and Call-ID (unique
// per call).
func (x *IDHasher) SetTestCallID(c *TestCall) {
	x.h.Reset()
	x.h.Write(c.ProbeID)
	x.h.Write([]byte{0})
	x.h.Write(c.CallID)
	copy(c.ID[:], x.h.Sum(x.sum[:0]))
}
