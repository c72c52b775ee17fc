// Package mos rates a voice stream with the ITU-T G.107 E-model, reduced to
// what a passive monitor can observe: the packet loss, how bursty it is, and
// (optionally) a delay measured by an active probe.
//
// The transmission rating factor is (G.107 §7.1, formula 7-1, with the
// default values of every other parameter, which make Ro - Is = 93.2 and
// A = 0):
//
//	R = 93.2 - Id - Ie,eff
//	Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl/BurstR + Bpl)        (G.107 §7.5)
//	MOS = 1 + 0.035 R + 7e-6 R (R - 60) (100 - R)             (G.107 Annex B)
//
// with Ppl the packet-loss percentage (0-100), Ie and Bpl the codec's
// equipment impairment and packet-loss robustness factors from G.113
// Appendix I, and BurstR the burst ratio. MOS is clamped to [1, 4.5]: the
// Annex B polynomial is 1 at R = 0 and 4.5 at R = 100, and G.107 fixes it to
// those values outside (0, 100); inside, the polynomial dips a hair below 1
// for R under about 6.5, which the clamp also removes.
//
// Everything here is a pure function of its arguments: no state, no
// allocation, safe for concurrent use.
package mos

import (
	"math"

	"github.com/trunkscope/trunkscope/probe/internal/ascii"
)

// R0 is Ro - Is + A with every G.107 default (Table 1): the rating of a
// connection with no delay and no equipment or loss impairment.
const R0 = 93.2

// Codec holds the E-model figures of one codec.
type Codec struct {
	// Name is a display name, e.g. "G.711".
	Name string
	// Ie is the equipment impairment factor at zero loss (G.113 Appendix I).
	Ie float64
	// Bpl is the packet-loss robustness factor (G.113 Appendix I): the
	// larger, the better the codec's concealment hides a lost packet.
	Bpl float64
	// Substitute is set when the codec has no narrowband G.113 value and
	// the figures are a stand-in (unknown codecs get G.711's; G.722 and
	// Opus get documented defaults). Reports should carry the flag, so a
	// reader knows the MOS is an estimate on borrowed figures.
	Substitute bool
}

// The G.113 Appendix I (11/2007, Table I.3 and I.4) values this package
// uses. G.711 is rated with packet-loss concealment (G.711 Appendix I),
// which every SBC and phone in practice runs; without PLC its Bpl would be
// 4.3. G.729 is rated as G.729A with VAD, the variant trunks carry (SDP does
// not tell G.729 from G.729A: both are "G729", PT 18). G.723.1 is the
// 6.3 kbit/s rate (SDP does not say the rate; 5.3 kbit/s would be Ie 19).
const (
	g711Ie, g711Bpl = 0, 25.1
	g729Ie, g729Bpl = 11, 19.0
	g723Ie, g723Bpl = 15, 16.1
)

// G711 returns the figures for G.711 (PCMU, PCMA) with packet-loss
// concealment: Ie 0, Bpl 25.1.
func G711() Codec { return Codec{Name: "G.711", Ie: g711Ie, Bpl: g711Bpl} }

// G729 returns the figures for G.729A with VAD: Ie 11, Bpl 19.0.
func G729() Codec { return Codec{Name: "G.729", Ie: g729Ie, Bpl: g729Bpl} }

// G723 returns the figures for G.723.1 at 6.3 kbit/s with VAD: Ie 15,
// Bpl 16.1.
func G723() Codec { return Codec{Name: "G.723.1", Ie: g723Ie, Bpl: g723Bpl} }

// G722 returns the default figures for G.722, flagged as a substitute.
//
// G.722 is wideband: G.113 gives it only a wideband Ie,wb, on the G.107.1
// scale (Ro,wb = 129), which does not apply to the narrowband R above.
// Squeezed onto the narrowband scale a 64 kbit/s G.722 stream is at least
// as good as G.711 (the narrowband R cannot express the wideband gain), and
// its PLC (G.722 Appendix III/IV) conceals a lost frame about as well as
// G.711's, so it is rated as G.711 with PLC: Ie 0, Bpl 25.1. Callers that
// have better figures for their deployment pass their own Codec.
func G722() Codec { return Codec{Name: "G.722", Ie: g711Ie, Bpl: g711Bpl, Substitute: true} }

// Opus returns the default figures for Opus, flagged as a substitute.
//
// Opus has no G.113 value at all. At the bit rates VoIP uses it (>= 16
// kbit/s, wideband or better, with its built-in PLC) it is at least as
// good as G.711 on the narrowband scale, so the same reasoning as G722
// applies: Ie 0, Bpl 25.1. That ignores its in-band FEC, which would make
// it more robust (a larger Bpl): the default errs on the low side. At very
// low rates (narrowband below 12 kbit/s) a G.729-like Ie of about 11 would
// be closer; the caller knows the negotiated rate, the probe does not.
func Opus() Codec { return Codec{Name: "Opus", Ie: g711Ie, Bpl: g711Bpl, Substitute: true} }

// Lookup returns the figures for an SDP encoding name (as in a=rtpmap,
// case-insensitive: "PCMU", "PCMA", "G729", "G723", "G722", "opus"). An
// unknown name gets G.711's figures with Substitute set and ok false.
func Lookup(encoding string) (c Codec, ok bool) {
	switch {
	case ascii.EqualFold(encoding, "PCMU"), ascii.EqualFold(encoding, "PCMA"):
		return G711(), true
	case ascii.EqualFold(encoding, "G729"), ascii.EqualFold(encoding, "G729A"):
		return G729(), true
	case ascii.EqualFold(encoding, "G723"):
		return G723(), true
	case ascii.EqualFold(encoding, "G722"):
		return G722(), true
	case ascii.EqualFold(encoding, "opus"):
		return Opus(), true
	}
	c = G711()
	c.Name, c.Substitute = encoding, true
	return c, false
}

// ForPayloadType returns the figures for a static RTP payload type (RFC
// 3551 Table 4): 0 PCMU, 8 PCMA, 4 G723, 9 G722, 18 G729. Other types
// (dynamic ones included: their codec is named by SDP, see Lookup) get
// G.711's figures with Substitute set and ok false.
func ForPayloadType(pt uint8) (c Codec, ok bool) {
	switch pt {
	case 0, 8:
		return G711(), true
	case 4:
		return G723(), true
	case 9:
		return G722(), true
	case 18:
		return G729(), true
	}
	c = G711()
	c.Name, c.Substitute = "unknown", true
	return c, false
}

// IeEff is the effective equipment impairment factor (G.107 §7.5):
//
//	Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl/BurstR + Bpl)
//
// ppl is the packet-loss percentage, clamped to [0, 100] (NaN counts as
// 0); burstR values
// below or equal to 0 (undefined: no loss observed) are taken as 1, random
// loss.
func IeEff(c Codec, ppl, burstR float64) float64 {
	if math.IsNaN(ppl) {
		ppl = 0
	}
	ppl = clamp(ppl, 0, 100)
	if !(burstR > 0) { // also catches NaN
		burstR = 1
	}
	if ppl == 0 {
		return c.Ie
	}
	return c.Ie + (95-c.Ie)*ppl/(ppl/burstR+c.Bpl)
}

// R is the transmission rating factor R = 93.2 - Id - Ie,eff (G.107 §7.1
// with default parameters). id is the delay impairment: 0 for a passive
// monitor, which cannot see one-way delay, or Idd(Ta) from an active probe.
func R(c Codec, ppl, burstR, id float64) float64 {
	return R0 - id - IeEff(c, ppl, burstR)
}

// FromR converts a rating factor to the estimated mean opinion score
// (G.107 Annex B, formula B-4), clamped to [1, 4.5]: R <= 0 gives 1 and
// R >= 100 gives 4.5.
func FromR(r float64) float64 {
	switch {
	case math.IsNaN(r) || r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	return clamp(1+0.035*r+7e-6*r*(r-60)*(100-r), 1, 4.5)
}

// MOS is FromR(R(c, ppl, burstR, id)).
func MOS(c Codec, ppl, burstR, id float64) float64 {
	return FromR(R(c, ppl, burstR, id))
}

// BurstR is the burst ratio of a two-state Markov loss model (G.107 §7.5,
// the definition that follows formula 7-29, and Appendix I of G.113): with
// p the probability of moving from the "found" state to the "loss" state
// (a packet is lost when the previous one was received) and q the
// probability of moving from "loss" back to "found",
//
//	BurstR = 1 / (p + q)
//
// For random (independent) loss q = 1 - p, so BurstR = 1; bursty loss has
// q < 1 - p and BurstR > 1. When p + q is 0 (no transitions observed) the
// ratio is undefined and 1 is returned.
func BurstR(p, q float64) float64 {
	if s := p + q; s > 0 {
		return 1 / s
	}
	return 1
}

// MarkovBurstR estimates p and q from counts of transitions between
// consecutive packets of a stream, in sequence-number order, and returns
// BurstR(p, q) with
//
//	p = P(loss | previous found) = foundLoss / (foundFound + foundLoss)
//	q = P(found | previous lost) = lossFound / (lossFound + lossLoss)
//
// Without any loss it returns 1 (G.107: random loss, and Ie,eff = Ie
// anyway). When the stream ends inside its only burst (no loss->found
// transition, so q cannot be estimated) q is 0 and BurstR = 1/p.
func MarkovBurstR(foundFound, foundLoss, lossFound, lossLoss uint64) float64 {
	if foundLoss == 0 && lossLoss == 0 {
		return 1
	}
	var p, q float64
	if n := foundFound + foundLoss; n > 0 {
		p = float64(foundLoss) / float64(n)
	}
	if n := lossFound + lossLoss; n > 0 {
		q = float64(lossFound) / float64(n)
	}
	return BurstR(p, q)
}

// Idd is the delay impairment of a pure (echo-free) absolute one-way delay
// Ta in milliseconds (G.107 §7.4, formula 7-27, with the default mT = 100
// ms and sT = 1):
//
//	Idd = 0                                                     Ta <= 100
//	Idd = 25 { (1 + X^6)^(1/6) - 3 (1 + (X/3)^6)^(1/6) + 2 }    Ta > 100
//	X   = log2(Ta / 100)
//
// The passive probe cannot see Ta and uses Id = 0. The active probe can
// take Ta as half its measured round-trip time plus its jitter-buffer and
// codec delays, and pass Idd(Ta) as the id argument of R and MOS (the echo
// terms Idte and Idle are negligible with G.107's default echo loss).
func Idd(taMS float64) float64 {
	if !(taMS > 100) {
		return 0
	}
	x := math.Log2(taMS / 100)
	return 25 * (math.Pow(1+math.Pow(x, 6), 1.0/6) - 3*math.Pow(1+math.Pow(x/3, 6), 1.0/6) + 2)
}

func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
