package rating

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Nano is a non-negative money value with 9 implied decimals: 1 currency
// unit is 1_000_000_000 Nano. Nine decimals covers every rate precision seen
// in carrier decks (typically 4 to 6) while keeping int64 range for values up
// to about 9.2 billion units, far beyond any per-minute price.
type Nano int64

// NanoPerUnit is the number of Nano in one currency unit.
const NanoPerUnit = 1_000_000_000

// nanoDecimals is the number of decimals implied by Nano.
const nanoDecimals = 9

// Sentinel causes for errors from ParseNano, LoadDeck and Charge. They are
// matched with errors.Is; the text is left unprefixed because they are always
// wrapped with the context (deck, line, column) that makes them actionable.
var (
	ErrInvalidDecimal  = errors.New("invalid decimal")
	ErrNegative        = errors.New("negative value")
	ErrTooManyDecimals = errors.New("more than 9 decimals")
	ErrOverflow        = errors.New("value out of range")
)

// ParseNano parses a plain non-negative decimal such as "0.0123", "1", ".5"
// or "3." into Nano. Signs other than a harmless "-0", exponents, thousands
// separators and surrounding spaces are rejected rather than guessed at,
// because a misread rate silently mis-bills every call to a destination.
func ParseNano(s string) (Nano, error) {
	n, err := parseNano(s)
	if err != nil {
		return 0, fmt.Errorf("rating: decimal %q: %w", s, err)
	}
	return n, nil
}

// parseNano returns bare sentinel errors so the deck loader can wrap them with
// its own line/column context without stacking prefixes.
func parseNano(s string) (Nano, error) {
	if len(s) > 0 && s[0] == '-' {
		n, err := parseNano(s[1:])
		if err != nil {
			if errors.Is(err, ErrNegative) {
				return 0, ErrInvalidDecimal // "--1"
			}
			return 0, err
		}
		if n != 0 {
			return 0, ErrNegative
		}
		return 0, nil
	}

	intPart, fracPart := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, fracPart = s[:i], s[i+1:]
			break
		}
	}
	// Syntax is checked before range so that "12x" is reported as garbage
	// rather than as a range problem.
	if len(intPart)+len(fracPart) == 0 || !allDigits(intPart) || !allDigits(fracPart) {
		return 0, ErrInvalidDecimal
	}
	if len(fracPart) > nanoDecimals {
		return 0, ErrTooManyDecimals
	}

	for len(intPart) > 1 && intPart[0] == '0' {
		intPart = intPart[1:]
	}
	var whole uint64
	if intPart != "" {
		if len(intPart) > 19 { // cannot fit in uint64; avoids ParseUint range error
			return 0, ErrOverflow
		}
		w, err := strconv.ParseUint(intPart, 10, 64)
		if err != nil {
			return 0, ErrOverflow
		}
		whole = w
	}
	if whole > math.MaxInt64/NanoPerUnit {
		return 0, ErrOverflow
	}

	var frac uint64
	for i := 0; i < nanoDecimals; i++ {
		frac *= 10
		if i < len(fracPart) {
			frac += uint64(fracPart[i] - '0')
		}
	}
	v := whole*NanoPerUnit + frac // cannot wrap: whole <= 9223372036
	if v > math.MaxInt64 {
		return 0, ErrOverflow
	}
	return Nano(v), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats n as a minimal exact decimal ("0.0123", "1", "-0.5") that
// ParseNano reads back to the same value (for non-negative n).
func (n Nano) String() string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = -u // two's complement magnitude; correct for math.MinInt64 too
	}
	whole, frac := u/NanoPerUnit, u%NanoPerUnit

	buf := make([]byte, 0, 32)
	if neg {
		buf = append(buf, '-')
	}
	buf = strconv.AppendUint(buf, whole, 10)
	if frac != 0 {
		var digits [nanoDecimals]byte
		for i := nanoDecimals - 1; i >= 0; i-- {
			digits[i] = byte('0' + frac%10)
			frac /= 10
		}
		end := nanoDecimals
		for digits[end-1] == '0' {
			end--
		}
		buf = append(buf, '.')
		buf = append(buf, digits[:end]...)
	}
	return string(buf)
}

// Amount is an exact amount of money: Units minor units at Decimals decimals,
// so {Units: 123400, Decimals: 4} is 12.3400. Keeping the decimals with the
// value lets amounts from decks of different precision be told apart.
type Amount struct {
	Units    int64
	Decimals uint8
}

// String formats a with exactly a.Decimals decimals, e.g. "12.3400" or
// "-0.0100".
func (a Amount) String() string {
	neg := a.Units < 0
	u := uint64(a.Units)
	if neg {
		u = -u
	}
	digits := strconv.FormatUint(u, 10)
	d := int(a.Decimals)

	buf := make([]byte, 0, len(digits)+d+3)
	if neg {
		buf = append(buf, '-')
	}
	if d == 0 {
		return string(append(buf, digits...))
	}
	if len(digits) <= d {
		buf = append(buf, '0', '.')
		for i := len(digits); i < d; i++ {
			buf = append(buf, '0')
		}
		buf = append(buf, digits...)
		return string(buf)
	}
	split := len(digits) - d
	buf = append(buf, digits[:split]...)
	buf = append(buf, '.')
	buf = append(buf, digits[split:]...)
	return string(buf)
}

// RoundingMode selects how an exact amount is reduced to the deck's decimals.
// The zero value is HalfUp, the usual commercial rounding.
type RoundingMode uint8

const (
	// HalfUp rounds to the nearest minor unit, ties away from zero.
	HalfUp RoundingMode = iota
	// Up rounds any fraction of a minor unit up (ceiling); some carriers bill
	// this way so they never under-charge.
	Up
	// Down truncates any fraction of a minor unit (floor).
	Down
)

// String returns the name accepted by ParseRoundingMode.
func (m RoundingMode) String() string {
	switch m {
	case HalfUp:
		return "half_up"
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "RoundingMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseRoundingMode parses "half_up", "up" or "down" (as produced by
// RoundingMode.String), for use in configuration files.
func ParseRoundingMode(s string) (RoundingMode, error) {
	switch s {
	case "half_up":
		return HalfUp, nil
	case "up":
		return Up, nil
	case "down":
		return Down, nil
	}
	return 0, fmt.Errorf("rating: unknown rounding mode %q (want half_up, up or down)", s)
}

func (m RoundingMode) valid() bool { return m <= Down }
