package rating

import (
	"fmt"
	"math"
	"math/bits"
)

// Rescale expresses a at decimals (0..9). Adding decimals is exact;
// removing them rounds half up and is only used for display.
func Rescale(a Amount, decimals uint8) (Amount, error) {
	return Convert(a, NanoPerUnit, decimals)
}

// Convert multiplies a by rate (units of the target currency per unit of
// a's currency, as Nano) and expresses the result at decimals, rounding
// half away from zero once.
func Convert(a Amount, rate Nano, decimals uint8) (Amount, error) {
	if decimals > nanoDecimals || a.Decimals > nanoDecimals {
		return Amount{}, fmt.Errorf("rating: convert: decimals out of range 0..%d", nanoDecimals)
	}
	if rate < 0 {
		return Amount{}, ErrNegative
	}
	neg := a.Units < 0
	u := uint64(a.Units)
	if neg {
		u = -u
	}
	// result = u * rate / 1e9 * 10^(decimals - a.Decimals)
	var n num128
	n.addMul(u, uint64(rate))
	mul := uint64(1)
	den := uint64(NanoPerUnit)
	if decimals >= a.Decimals {
		for i := a.Decimals; i < decimals; i++ {
			mul *= 10
		}
	} else {
		for i := decimals; i < a.Decimals; i++ {
			den *= 10
		}
	}
	if mul != 1 {
		hi1, lo := bits.Mul64(n.lo, mul)
		hi2, hi := bits.Mul64(n.hi, mul)
		var c uint64
		hi, c = bits.Add64(hi, hi1, 0)
		if hi2 != 0 || c != 0 {
			return Amount{}, ErrOverflow
		}
		n = num128{hi, lo}
	}
	r, err := n.divRound(den, decimals, HalfUp)
	if err != nil {
		return Amount{}, err
	}
	if neg {
		if r.Units == math.MinInt64 {
			return Amount{}, ErrOverflow
		}
		r.Units = -r.Units
	}
	return r, nil
}
