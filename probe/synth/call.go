package synth

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

type outcome uint8

const (
	outAnswered outcome = iota
	outBusy
	outRejected
	outNoAnswer408
	outNoAnswer480
	outTimeout
	outCancelled
	numOutcomes
)

// randomOutcome draws from the target mix; the percentages sum to 100.
func randomOutcome(r *rand.Rand) outcome {
	switch n := r.IntN(100); {
	case n < 55:
		return outAnswered
	case n < 65:
		return outBusy
	case n < 73:
		return outRejected
	case n < 78:
		return outNoAnswer408
	case n < 83:
		return outNoAnswer480
	case n < 88:
		return outTimeout
	default:
		return outCancelled
	}
}

func (k outcome) name() string {
	switch k {
	case outAnswered:
		return "answered"
	case outBusy:
		return "busy"
	case outRejected:
		return "rejected"
	case outNoAnswer408, outNoAnswer480:
		return "no_answer"
	case outTimeout:
		return "timeout"
	default:
		return "cancelled"
	}
}

func (k outcome) finalCode() int {
	switch k {
	case outAnswered:
		return 200
	case outBusy:
		return 486
	case outRejected:
		return 503
	case outNoAnswer408:
		return 408
	case outNoAnswer480:
		return 480
	case outTimeout:
		return 0
	default:
		return 487
	}
}

type msgKind uint8

const (
	msgInvite msgKind = iota
	msgTrying
	msgRinging
	msgProgress // 183 with SDP, early media style
	msgFinal    // final response to the INVITE, code in call.code
	msgAck
	msgCancel
	msgCancelOK
	msgBye
	msgByeOK
)

type sipEvent struct {
	at   int64
	kind msgKind
}

// call holds everything needed to render its packets lazily; it lives only
// while the call still has packets pending in the merge.
type call struct {
	seed     uint64
	code     int
	byCallee bool // BYE sent by the INVITE receiver

	// a sends the INVITE, b receives it.
	a, b           *host
	aPort, bPort   uint16
	aMedia, bMedia uint16
	aAgent, bAgent string
	sessA, sessB   uint64

	caller, callee               string
	callID, fromTag, toTag       string
	branch, ackBranch, byeBranch string

	events          []sipEvent
	answerUS, byeUS int64
}

// Timeline arithmetic is in unix microseconds, the pcap resolution.
const (
	msec = int64(time.Millisecond / time.Microsecond)
	sec  = int64(time.Second / time.Microsecond)

	// Media ports stay reserved this long after a call ends so a probe
	// never sees two calls on one port within its stream idle timeout.
	portQuarantineUS = 30 * sec
	timerT1US        = 500 * msec
	timerBUS         = 64 * timerT1US
)

// between returns a uniform microsecond offset in [lo, hi).
func between(r *rand.Rand, lo, hi int64) int64 { return lo + r.Int64N(hi-lo) }

// planCall fixes the whole timeline of one call up front so its truth is
// known before any of its packets are written.
func (g *generator) planCall(startUS int64, out outcome, ti int, seed uint64) (*call, CallTruth, error) {
	// Stream 0 of the call seed; its RTP streams use 1 and 2.
	r := rand.New(rand.NewPCG(seed, 0))
	t := &g.o.Trunks[ti]
	c := &call{seed: seed, code: out.finalCode()}
	trunkHost, trunkUA := g.trunkHosts[ti], t.Name+"-gw/1.0"
	const platformUA = "trunkscope-synth-sbc/1.0"
	if t.Direction == dirOutbound {
		c.a, c.aPort, c.aAgent = g.platform, g.o.Platform.Port(), platformUA
		c.b, c.bPort, c.bAgent = trunkHost, t.Addr.Port(), trunkUA
		c.caller = number(r, pick(r, g.ourPrefixes), 0, 4)
		c.callee = number(r, pick(r, t.Prefixes), 11+r.IntN(2), 1)
	} else {
		c.a, c.aPort, c.aAgent = trunkHost, t.Addr.Port(), trunkUA
		c.b, c.bPort, c.bAgent = g.platform, g.o.Platform.Port(), platformUA
		c.caller = number(r, foreignCC(r), 11+r.IntN(2), 1)
		c.callee = number(r, pick(r, t.Prefixes), 0, 4)
	}
	c.callID = randHex(r, 32) + "@" + c.a.name
	c.fromTag, c.toTag = randHex(r, 10), randHex(r, 10)
	c.branch, c.ackBranch, c.byeBranch = "z9hG4bK"+randHex(r, 16), "z9hG4bK"+randHex(r, 16), "z9hG4bK"+randHex(r, 16)
	c.sessA, c.sessB = uint64(r.Uint32()), uint64(r.Uint32())

	ct := CallTruth{
		CallID: c.callID, Trunk: t.Name, Direction: t.Direction,
		Caller: c.caller, Callee: c.callee,
		Outcome: out.name(), FinalCode: c.code,
		StartUS: startUS, PDDMs: -1,
	}
	add := func(at int64, k msgKind) { c.events = append(c.events, sipEvent{at, k}) }
	pdd := func() int64 { return startUS + between(r, 300*msec, 5*sec) }
	ring := func(at int64, k msgKind) {
		ct.RingUS = at
		ct.PDDMs = (at - startUS) / msec
		add(at, k)
	}
	ringKind := func() msgKind {
		if r.IntN(4) == 0 {
			return msgProgress
		}
		return msgRinging
	}

	add(startUS, msgInvite)
	if out == outTimeout {
		// RFC 3261 Timer A: the retransmit interval starts at T1 and doubles
		// until Timer B (64*T1) gives up on the transaction.
		for at, gap := startUS, timerT1US; at+gap < startUS+timerBUS; gap *= 2 {
			at += gap
			add(at, msgInvite)
		}
		ct.EndUS = startUS + timerBUS
	} else {
		add(startUS+between(r, 5*msec, 40*msec), msgTrying)
		var final int64
		switch out {
		case outAnswered:
			ring(pdd(), ringKind())
			final = ct.RingUS + between(r, 1*sec, 15*sec)
		case outBusy:
			if r.IntN(3) == 0 {
				ring(pdd(), msgRinging)
				final = ct.RingUS + between(r, 500*msec, 5*sec)
			} else {
				final = pdd()
			}
		case outRejected:
			final = startUS + between(r, 50*msec, 2*sec)
		case outNoAnswer408, outNoAnswer480:
			ring(pdd(), msgRinging)
			final = ct.RingUS + between(r, 5*sec, 30*sec)
		case outCancelled:
			ring(pdd(), ringKind())
			cancel := ct.RingUS + between(r, 2*sec, 20*sec)
			add(cancel, msgCancel)
			ok := cancel + between(r, 5*msec, 40*msec)
			add(ok, msgCancelOK)
			final = ok + between(r, 1*msec, 10*msec)
		}
		add(final, msgFinal)
		add(final+between(r, 20*msec, 60*msec), msgAck)
		ct.EndUS = final
		if out == outAnswered {
			c.answerUS = final
			c.byeUS = final + g.talkTimeMs(r)*msec
			c.byCallee = r.IntN(2) == 0
			add(c.byeUS, msgBye)
			add(c.byeUS+between(r, 10*msec, 50*msec), msgByeOK)
			ct.AnswerUS, ct.EndUS = c.answerUS, c.byeUS
			ct.DurationMs = (c.byeUS - c.answerUS) / msec
			ct.HangupBy = "caller"
			if c.byCallee {
				ct.HangupBy = "callee"
			}
		}
	}

	var err error
	if c.aMedia, err = g.ports.take(r, c.a, startUS, ct.EndUS+portQuarantineUS); err != nil {
		return nil, ct, err
	}
	if c.bMedia, err = g.ports.take(r, c.b, startUS, ct.EndUS+portQuarantineUS); err != nil {
		return nil, ct, err
	}
	ct.SIPMessages = make(map[string]int, 8)
	for _, ev := range c.events {
		ct.SIPMessages[c.key(ev.kind)]++
	}
	return c, ct, nil
}

// key is the truth bucket of a message: its method or status code.
func (c *call) key(k msgKind) string {
	switch k {
	case msgInvite:
		return "INVITE"
	case msgTrying:
		return "100"
	case msgRinging:
		return "180"
	case msgProgress:
		return "183"
	case msgFinal:
		return strconv.Itoa(c.code)
	case msgAck:
		return "ACK"
	case msgCancel:
		return "CANCEL"
	case msgBye:
		return "BYE"
	default:
		return "200"
	}
}

// talkTimeMs is exponential around the configured mean, kept at millisecond
// precision so durations are not suspiciously round.
func (g *generator) talkTimeMs(r *rand.Rand) int64 {
	mean := float64(g.o.MeanDuration) / float64(time.Millisecond)
	d := int64(r.ExpFloat64() * mean)
	hi := max(int64(10*mean), 1000)
	return min(max(d, 1000), hi)
}

func pick(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }

// number appends random digits to prefix until it has total digits, but at
// least minExtra of them.
func number(r *rand.Rand, prefix string, total, minExtra int) string {
	n := max(total-len(prefix), minExtra)
	b := make([]byte, len(prefix), len(prefix)+n)
	copy(b, prefix)
	for range n {
		b = append(b, byte('0'+r.IntN(10)))
	}
	return string(b)
}

func foreignCC(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0:
		return "44"
	case 1:
		return "49"
	case 2:
		return "33"
	case 3:
		return "34"
	case 4:
		return "39"
	case 5:
		return "41"
	case 6:
		return "46"
	default:
		return "1"
	}
}

func randHex(r *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[r.IntN(16)]
	}
	return string(b)
}

// portPool hands out even RTP ports per host, avoiding ports still in use
// by an overlapping call.
type portPool map[*host]map[uint16]int64

func (p portPool) take(r *rand.Rand, h *host, nowUS, untilUS int64) (uint16, error) {
	const lo, slots = 10000, 25001 // even ports 10000..60000
	busy := p[h]
	if busy == nil {
		busy = make(map[uint16]int64)
		p[h] = busy
	}
	first := r.IntN(slots)
	// 7919 is coprime with 25001, so the walk visits every slot exactly once.
	for i := range slots {
		port := uint16(lo + 2*((first+i*7919)%slots))
		if until, used := busy[port]; !used || until <= nowUS {
			busy[port] = untilUS
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free media port on %s", h.name)
}
