package rating

import (
	"fmt"
	"strings"
)

// field is a logical deck column; carriers name the same column many ways,
// so the header is mapped onto these rather than relying on column order.
type field int

const (
	fieldPrefix field = iota
	fieldDestination
	fieldRate
	fieldConnectFee
	fieldInitial
	fieldSubsequent
	fieldIncrements
	fieldMinDuration
	fieldEffectiveFrom
	fieldEffectiveUntil
	fieldBand
	fieldTier
	numFields
)

func (f field) String() string {
	switch f {
	case fieldPrefix:
		return "prefix"
	case fieldDestination:
		return "destination"
	case fieldRate:
		return "rate"
	case fieldConnectFee:
		return "connect_fee"
	case fieldInitial:
		return "initial_increment"
	case fieldSubsequent:
		return "subsequent_increment"
	case fieldIncrements:
		return "increments"
	case fieldMinDuration:
		return "min_duration"
	case fieldEffectiveFrom:
		return "effective_from"
	case fieldEffectiveUntil:
		return "effective_until"
	case fieldBand:
		return "band"
	case fieldTier:
		return "tier_from"
	}
	return fmt.Sprintf("field(%d)", int(f))
}

// fieldForHeader maps a header cell to its field. Names are compared after
// lower-casing and turning spaces and hyphens into underscores, so
// "Dial Code", "dial-code" and "DIAL_CODE" are all the prefix column.
func fieldForHeader(h string) (field, bool) {
	h = strings.TrimPrefix(h, "\uFEFF") // Excel writes a BOM before the first cell
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.NewReplacer(" ", "_", "-", "_").Replace(h)
	switch h {
	case "prefix", "code", "dial_code", "dialcode":
		return fieldPrefix, true
	case "destination", "description", "name", "dest":
		return fieldDestination, true
	case "rate", "rate_per_min", "rate_per_minute", "price", "per_minute":
		return fieldRate, true
	case "connect_fee", "connection_fee", "setup_fee", "setup":
		return fieldConnectFee, true
	case "initial_increment", "initial", "first_increment", "min_increment":
		return fieldInitial, true
	case "subsequent_increment", "increment", "next_increment":
		return fieldSubsequent, true
	case "increments", "billing":
		return fieldIncrements, true
	case "min_duration", "minimum_duration", "min_dur", "minimum":
		return fieldMinDuration, true
	case "effective_from", "effective_date", "effective", "valid_from", "start_date", "from":
		return fieldEffectiveFrom, true
	case "effective_until", "effective_to", "expiry", "expiry_date", "end_date", "valid_until", "until":
		return fieldEffectiveUntil, true
	case "band", "time_band", "period", "timeband":
		return fieldBand, true
	case "tier_from", "tier", "tier_start", "from_second", "after_seconds":
		return fieldTier, true
	}
	return 0, false
}

// columns records the record index of each field, or -1 when the deck does
// not have that column.
type columns [numFields]int

// mapColumns builds the column mapping from a header record. Unknown columns
// are ignored because carrier decks carry extra data (effective dates, notes)
// that pricing does not use.
func mapColumns(header []string) (columns, error) {
	var c columns
	for i := range c {
		c[i] = -1
	}
	for i, h := range header {
		f, ok := fieldForHeader(h)
		if !ok {
			continue
		}
		if c[f] >= 0 {
			return c, fmt.Errorf("columns %d (%q) and %d (%q) are both the %s column",
				c[f]+1, header[c[f]], i+1, h, f)
		}
		c[f] = i
	}
	if c[fieldPrefix] < 0 {
		return c, fmt.Errorf("header has no prefix column (want one of prefix, code, dial_code, dialcode)")
	}
	if c[fieldRate] < 0 {
		return c, fmt.Errorf("header has no rate column (want one of rate, rate_per_min, rate_per_minute, price, per_minute)")
	}
	if c[fieldIncrements] >= 0 && (c[fieldInitial] >= 0 || c[fieldSubsequent] >= 0) {
		return c, fmt.Errorf("header has both an increments column and initial/subsequent increment columns")
	}
	return c, nil
}

// get returns the trimmed cell for f; a column that is absent from the header
// or missing from a short row reads as "".
func (c *columns) get(rec []string, f field) string {
	i := c[f]
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}
