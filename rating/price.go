package rating

import (
	"fmt"
	"math"
	"math/bits"
)

// Result is a priced call.
type Result struct {
	Rate            Rate
	BillableSeconds int64
	Amount          Amount
	Currency        string
	DeckVersion     string
	// Band is the band at the start of the call ("" when unbanded);
	// Segments > 1 when the call crossed band boundaries and was split.
	Band     string
	Segments int
}

// NoRateError reports that no prefix in the deck matches the number.
type NoRateError struct {
	Deck   string
	Number string
}

func (e NoRateError) Error() string {
	return fmt.Sprintf("rating: deck %q: no rate for number %q", e.Deck, e.Number)
}

// Price rates a call to number lasting durationMs milliseconds. It returns a
// NoRateError when no prefix matches (even for unbillable calls, so unknown
// destinations are always surfaced) and an error wrapping ErrOverflow when
// the amount does not fit in int64. It does not allocate when it succeeds.
// It ignores call time: on a deck with effective dates or bands it prices
// as of 1970-01-01 00:00 UTC; use PriceAt for those.
func (d *Deck) Price(number string, durationMs int64) (Result, error) {
	if !d.simple {
		return d.PriceAt(number, 0, durationMs)
	}
	rate, ok := d.Lookup(number)
	if !ok {
		return Result{}, NoRateError{Deck: d.name, Number: number}
	}
	billable := rate.BillableSeconds(durationMs)
	amount, err := rate.charge(billable, d.decimals, d.rounding)
	if err != nil {
		return Result{}, fmt.Errorf("rating: deck %q: price %q for %d ms: %w", d.name, number, durationMs, err)
	}
	return Result{
		Rate:            rate,
		BillableSeconds: billable,
		Amount:          amount,
		Currency:        d.currency,
		DeckVersion:     d.version,
	}, nil
}

// BillableSeconds applies the rate's increments to a call duration. This is
// the only place the billable-seconds rule lives:
//
//	durationMs <= 0        -> 0 (not billable)
//	seconds                 = max(ceil(durationMs / 1000), MinDuration)
//	seconds <= Initial     -> Initial
//	otherwise              -> Initial + ceil((seconds-Initial)/Subsequent)*Subsequent
//
// Rates from LoadDeck always have positive increments; for hand-built rates a
// Subsequent below 1 is treated as 1 and an Initial below 0 as 0 rather than
// dividing by zero.
func (r Rate) BillableSeconds(durationMs int64) int64 {
	if durationMs <= 0 {
		return 0
	}
	initial, subsequent := int64(max(r.Initial, 0)), int64(max(r.Subsequent, 1))

	// Written without "+999" so durations near MaxInt64 cannot overflow.
	seconds := durationMs / 1000
	if durationMs%1000 != 0 {
		seconds++
	}
	seconds = max(seconds, int64(r.MinDuration))
	if seconds <= initial {
		return initial
	}
	rest := seconds - initial
	steps := rest / subsequent
	if rest%subsequent != 0 {
		steps++
	}
	return initial + steps*subsequent // <= seconds + subsequent, far below MaxInt64
}

// Charge computes the amount for billableSeconds at this rate, in minor units
// at decimals (0..9), rounded once with mode. This is the only place the
// amount rule lives:
//
//	billableSeconds <= 0 -> 0 (no connect fee for unbillable calls)
//	otherwise            -> round(ConnectFee + PerMinute*billableSeconds/60)
//
// The sum is evaluated exactly as a 128-bit rational, so the only rounding is
// the final one the carrier contract specifies.
func (r Rate) Charge(billableSeconds int64, decimals uint8, mode RoundingMode) (Amount, error) {
	a, err := r.charge(billableSeconds, decimals, mode)
	if err != nil {
		return Amount{}, fmt.Errorf("rating: charge prefix %q for %d s: %w", r.Prefix, billableSeconds, err)
	}
	return a, nil
}

func (r Rate) charge(billableSeconds int64, decimals uint8, mode RoundingMode) (Amount, error) {
	if decimals > nanoDecimals {
		return Amount{}, fmt.Errorf("decimals %d out of range 0..%d", decimals, nanoDecimals)
	}
	if !mode.valid() {
		return Amount{}, fmt.Errorf("invalid rounding mode %v", mode)
	}
	if billableSeconds <= 0 {
		return Amount{Decimals: decimals}, nil
	}
	if r.PerMinute < 0 || r.ConnectFee < 0 {
		return Amount{}, ErrNegative
	}

	// In Nano, amount = (ConnectFee*60 + PerMinute*billable) / 60.
	// num < 2^63*60 + 2^63*2^63 < 2^127, so the 128-bit sum cannot wrap.
	var n num128
	n.addMul(uint64(r.PerMinute), uint64(billableSeconds))
	n.addMul(uint64(r.ConnectFee), 60)
	return n.perMinuteUnits(decimals, mode)
}

// num128 accumulates an exact amount in Nano-seconds-per-minute (Nano
// times seconds, to be divided by 60) as an unsigned 128-bit integer, so a
// call split over bands is summed exactly and rounded once.
type num128 struct{ hi, lo uint64 }

func (n *num128) addMul(a, b uint64) {
	hi, lo := bits.Mul64(a, b)
	var carry uint64
	n.lo, carry = bits.Add64(n.lo, lo, 0)
	n.hi, _ = bits.Add64(n.hi, hi, carry)
}

// perMinuteUnits divides by 60 and converts Nano to minor units at
// decimals, rounding once with mode.
func (n num128) perMinuteUnits(decimals uint8, mode RoundingMode) (Amount, error) {
	// Converting Nano (1e-9) to minor units (10^-decimals) divides by
	// 10^(9-decimals), so units = num / den with den = 60 * 10^(9-decimals).
	den := uint64(60)
	for i := decimals; i < nanoDecimals; i++ {
		den *= 10
	}
	return n.divRound(den, decimals, mode)
}

func (n num128) divRound(den uint64, decimals uint8, mode RoundingMode) (Amount, error) {
	hi, lo := n.hi, n.lo
	if hi >= den { // quotient would not fit in 64 bits
		return Amount{}, ErrOverflow
	}
	q, rem := bits.Div64(hi, lo, den)
	if q > math.MaxInt64 {
		return Amount{}, ErrOverflow
	}
	switch mode {
	case HalfUp:
		if rem >= den-rem { // rem/den >= 1/2 without overflowing 2*rem
			q++
		}
	case Up:
		if rem != 0 {
			q++
		}
	case Down:
	}
	if q > math.MaxInt64 {
		return Amount{}, ErrOverflow
	}
	return Amount{Units: int64(q), Decimals: decimals}, nil
}
