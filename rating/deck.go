package rating

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults applied by LoadDeck to zero-valued DeckOptions fields.
const (
	DefaultCurrency  = "EUR"
	DefaultDecimals  = 4
	DefaultIncrement = 60 // seconds, for both initial and subsequent
)

// ZeroDecimals requests amounts in whole currency units. It exists because
// the zero value of DeckOptions.Decimals selects DefaultDecimals.
const ZeroDecimals uint8 = math.MaxUint8

// maxPrefixDigits bounds prefixes to a sane length; E.164 numbers have at
// most 15 digits, the slack allows for carrier-specific routing prefixes.
const maxPrefixDigits = 20

// DeckOptions configures LoadDeck. The zero value is usable.
type DeckOptions struct {
	// Name identifies the deck in errors and results, e.g. "carrier-a".
	Name string
	// Currency is the ISO 4217 code of the deck's prices; default "EUR".
	Currency string
	// Decimals is the number of decimals billed amounts are rounded to,
	// 0..9; zero selects DefaultDecimals (4), use ZeroDecimals for 0.
	Decimals uint8
	// Rounding is applied once per call when reducing the exact amount to
	// Decimals; the zero value is HalfUp.
	Rounding RoundingMode
	// Location is the deck's own time zone: effective dates without a zone
	// and time bands are read in it. nil is UTC.
	Location *time.Location
	// Bands defines the band names the deck's band column may use. A band
	// cell that is not a defined name is parsed as a specification itself
	// ("Mon-Fri 08:00-18:00"), see ParseBand.
	Bands []Band
	// SkipInvalid loads the valid rows of a deck with bad rows instead of
	// refusing it; the refused rows are listed by Deck.Skipped.
	SkipInvalid bool
	// Progress, when set, is called every few thousand rows with the bytes
	// parsed so far and the input size (for a progress bar).
	Progress func(done, total int64)
}

// Rate is one deck entry. Initial and Subsequent are billing increments in
// seconds; see the package documentation for how they apply.
type Rate struct {
	Prefix      string // digits only, without '+'
	Destination string
	PerMinute   Nano // price per 60 s of billable time
	ConnectFee  Nano // charged once per billable call
	Initial     int32
	Subsequent  int32
	// MinDuration is the minimum billable time in seconds of an answered
	// call (applied before the increments); 0 for none.
	MinDuration int32
	// From and Until bound when the row is in effect, as Unix seconds; the
	// row applies to calls starting in [From, Until). 0 is unbounded.
	From, Until int64
	// Band names the time band the row applies in; "" is all times not
	// covered by a banded row of the same prefix.
	Band string
	// TierFrom is the second of the call from which the row's rate applies
	// (duration tiers: 0.10 for the first minute, 0.05 after); 0 for the
	// first tier, whose increments, minimum and connect fee govern the call.
	TierFrom int32

	band uint8 // index+1 into Deck.bands; 0 = no band
}

// effective reports whether the row is in effect for a call starting at
// Unix second t.
func (r *Rate) effective(t int64) bool {
	return (r.From == 0 || t >= r.From) && (r.Until == 0 || t < r.Until)
}

// Deck is an immutable, loaded rate deck. It is safe for concurrent use.
type Deck struct {
	name     string
	currency string
	decimals uint8
	rounding RoundingMode
	version  string
	rates    []Rate
	trie     trie // prefix -> group

	// In a simple deck (one row per prefix, no dates, no bands) a trie node
	// names its row and pricing takes the fast path. Otherwise rates are
	// stored grouped by prefix (the rows of a prefix contiguous, in input
	// order) and a node names its first row and the row count, so pricing
	// touches the same number of cache lines; input maps input order to
	// the stored position for Rates.
	input   []int32
	simple  bool
	loc     *time.Location
	bands   []Band
	skipped []*DeckError
}

// Location returns the deck's time zone.
func (d *Deck) Location() *time.Location { return d.loc }

// Skipped lists the rows refused while loading with SkipInvalid.
func (d *Deck) Skipped() []*DeckError { return d.skipped }

// Name returns the deck name given in DeckOptions (or the file name).
func (d *Deck) Name() string { return d.name }

// Currency returns the deck's ISO 4217 currency code.
func (d *Deck) Currency() string { return d.currency }

// Decimals returns the number of decimals amounts are rounded to.
func (d *Deck) Decimals() uint8 { return d.decimals }

// Rounding returns the deck's rounding mode.
func (d *Deck) Rounding() RoundingMode { return d.rounding }

// Version identifies the exact deck content: the first 16 hex characters of
// the SHA-256 of the input bytes. It is recorded with each priced CDR so a
// bill can be traced to the deck that produced it.
func (d *Deck) Version() string { return d.version }

// Len returns the number of rates in the deck.
func (d *Deck) Len() int { return len(d.rates) }

// Rates returns a copy of the deck's rates in input order.
func (d *Deck) Rates() []Rate {
	if d.input == nil {
		return append([]Rate(nil), d.rates...)
	}
	out := make([]Rate, len(d.rates))
	for i, at := range d.input {
		out[i] = d.rates[at]
	}
	return out
}

// Lookup returns the rate whose prefix is the longest prefix of number. A
// single leading '+' is ignored and matching stops at the first non-digit.
// It does not allocate.
func (d *Deck) Lookup(number string) (Rate, bool) {
	number = strings.TrimPrefix(number, "+")
	g := d.trie.longest(number)
	if g < 0 {
		return Rate{}, false
	}
	return d.rates[g], true
}

// DeckError reports a problem loading a deck. Line is the 1-based input line
// of the offending record, or 0 when the problem is not tied to a line.
type DeckError struct {
	Deck string // deck name, may be empty
	File string // path when loaded with LoadDeckFile
	Line int
	Err  error
}

func (e *DeckError) Error() string {
	var b strings.Builder
	b.WriteString("rating: deck")
	if e.Deck != "" {
		fmt.Fprintf(&b, " %q", e.Deck)
	}
	if e.File != "" {
		fmt.Fprintf(&b, " (%s)", e.File)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *DeckError) Unwrap() error { return e.Err }

// DeckErrors is every row error of a refused deck, in line order, so an
// analyst fixes the file in one pass instead of one error per attempt.
type DeckErrors []*DeckError

func (es DeckErrors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d invalid rows (nothing imported; --skip-invalid imports the rest):", len(es))
	for i, e := range es {
		if i == 20 {
			fmt.Fprintf(&b, "\n  ... and %d more", len(es)-20)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap exposes the row errors to errors.Is and errors.As.
func (es DeckErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// LoadDeck reads a CSV rate deck. The first non-empty record is the header;
// columns are found by name (case-insensitive, with common aliases):
//
//	prefix:      prefix, code, dial_code, dialcode             (required)
//	destination: destination, description, name, dest
//	rate:        rate, rate_per_min, rate_per_minute, price, per_minute (required)
//	connect fee: connect_fee, connection_fee, setup_fee, setup (default 0)
//	initial:     initial_increment, initial, first_increment, min_increment
//	subsequent:  subsequent_increment, increment, next_increment
//	both:        increments, billing  ("60/60", "30/6", "1/1")
//
// Increments default to 60 seconds. Prefixes are 1..20 digits with an
// optional leading '+'; a duplicate prefix is an error, as is any malformed
// row, so a deck is either loaded completely or not at all. Blank rows are
// skipped. Errors are *DeckError values naming the line.
func LoadDeck(r io.Reader, opts DeckOptions) (*Deck, error) {
	return loadDeck(r, opts, "")
}

// LoadDeckFile loads the deck at path; see LoadDeck. The path is included in
// errors, and the file name is the deck name when opts.Name is empty.
func LoadDeckFile(path string, opts DeckOptions) (*Deck, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &DeckError{Deck: opts.Name, File: path, Err: err}
	}
	defer f.Close()
	if opts.Name == "" {
		opts.Name = filepath.Base(path)
	}
	return loadDeck(f, opts, path)
}

func loadDeck(r io.Reader, opts DeckOptions, path string) (*Deck, error) {
	fail := func(line int, err error) (*Deck, error) {
		return nil, &DeckError{Deck: opts.Name, File: path, Line: line, Err: err}
	}

	d := &Deck{name: opts.Name, currency: DefaultCurrency, decimals: DefaultDecimals, rounding: opts.Rounding, loc: opts.Location}
	if d.loc == nil {
		d.loc = time.UTC
	}
	switch {
	case opts.Decimals == ZeroDecimals:
		d.decimals = 0
	case opts.Decimals > nanoDecimals:
		return fail(0, fmt.Errorf("decimals %d out of range 0..%d", opts.Decimals, nanoDecimals))
	case opts.Decimals != 0:
		d.decimals = opts.Decimals
	}
	if opts.Currency != "" {
		if !isCurrencyCode(opts.Currency) {
			return fail(0, fmt.Errorf("currency %q is not a 3-letter ISO 4217 code", opts.Currency))
		}
		if !KnownCurrency(opts.Currency) {
			return fail(0, fmt.Errorf("currency %q is not an ISO 4217 currency", opts.Currency))
		}
		d.currency = strings.ToUpper(opts.Currency)
	}
	if !opts.Rounding.valid() {
		return fail(0, fmt.Errorf("invalid rounding mode %v", opts.Rounding))
	}
	if len(opts.Bands) > 250 {
		return fail(0, fmt.Errorf("%d bands: at most 250", len(opts.Bands)))
	}
	d.bands = append(d.bands, opts.Bands...)

	// The whole input is read up front because the version hash must cover
	// the exact bytes, including anything the CSV reader would normalise.
	data, err := io.ReadAll(r)
	if err != nil {
		return fail(0, fmt.Errorf("read: %w", err))
	}
	sum := sha256.Sum256(data)
	d.version = hex.EncodeToString(sum[:8])

	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	// readRecord returns the next non-blank record and its starting line.
	readRecord := func() ([]string, int, error) {
		for {
			rec, err := cr.Read()
			if err != nil {
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					// Report the record's first line like other row errors;
					// an unclosed quote is only detected many lines later.
					if pe.Line != pe.StartLine {
						return nil, pe.StartLine, fmt.Errorf("%w (detected at line %d)", pe.Err, pe.Line)
					}
					return nil, pe.Line, pe.Err
				}
				return nil, 0, err
			}
			if !blankRecord(rec) {
				line, _ := cr.FieldPos(0)
				return rec, line, nil
			}
		}
	}

	header, line, err := readRecord()
	if err == io.EOF {
		return fail(0, errors.New("empty deck: no header"))
	}
	if err != nil {
		return fail(line, err)
	}
	cols, err := mapColumns(header)
	if err != nil {
		return fail(line, err)
	}

	// Sizing from the line count avoids repeated growth copies on 200k-row
	// decks (the trie needs 2-3 nodes per prefix). The cap at one row per 16
	// bytes keeps a file of blank lines from allocating hundreds of bytes per
	// input byte; real rows are longer than that.
	estRows := min(bytes.Count(data, []byte{'\n'})+1, len(data)/16+1)
	d.rates = make([]Rate, 0, estRows)
	d.trie = newTrie(estRows * 3)
	lines := make([]int, 0, estRows) // for "first defined on line N"
	// Rows of one prefix are chained (head/next) while loading; most decks
	// have one row per prefix, so the chains are only walked for decks
	// with effective periods or bands.
	var head, next, count []int32
	head = make([]int32, 0, estRows)
	count = make([]int32, 0, estRows)
	next = make([]int32, 0, estRows)
	// All prefix digits go into one arena string, and destination names
	// (a few hundred distinct values repeated across rows) are interned, so
	// the deck does not pin every CSV line buffer and the GC sees a handful
	// of objects instead of one per row.
	arena := make([]byte, 0, estRows*8)
	destinations := make(map[string]string)
	var rowErrs DeckErrors
	rowErr := func(line int, err error) {
		rowErrs = append(rowErrs, &DeckError{Deck: opts.Name, File: path, Line: line, Err: err})
	}
	total := int64(len(data))

	for rows := 0; ; rows++ {
		if opts.Progress != nil && rows%16384 == 0 {
			opts.Progress(cr.InputOffset(), total)
		}
		rec, line, err := readRecord()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A broken quote desynchronises the rest of the file: nothing
			// after it can be trusted, even with SkipInvalid.
			rowErr(line, err)
			if len(rowErrs) == 1 {
				return nil, rowErrs[0]
			}
			return nil, rowErrs
		}
		rate, err := parseRate(rec, &cols, d.loc)
		if err == nil && rate.Band != "" {
			err = d.resolveBand(&rate)
		}
		if err != nil {
			rowErr(line, err)
			continue
		}
		if s, ok := destinations[rate.Destination]; ok {
			rate.Destination = s
		} else {
			rate.Destination = strings.Clone(rate.Destination)
			destinations[rate.Destination] = rate.Destination
		}

		idx := int32(len(d.rates))
		g, dup, err := d.trie.insert(rate.Prefix, len(head))
		if err != nil {
			return fail(line, err)
		}
		if dup {
			if err := d.conflict(&rate, head[g], next, lines); err != nil {
				rowErr(line, err)
				continue
			}
			// Append at the chain's end so rows keep their input order.
			last := head[g]
			for next[last] >= 0 {
				last = next[last]
			}
			next[last] = idx
			count[g]++
		} else {
			head = append(head, idx)
			count = append(count, 1)
		}
		next = append(next, -1)
		arena = append(arena, rate.Prefix...)
		d.rates = append(d.rates, rate)
		lines = append(lines, line)
	}
	if opts.Progress != nil {
		opts.Progress(total, total)
	}
	if len(rowErrs) > 0 {
		if !opts.SkipInvalid {
			if len(rowErrs) == 1 {
				return nil, rowErrs[0]
			}
			return nil, rowErrs
		}
		d.skipped = rowErrs
	}
	if len(d.rates) == 0 {
		return fail(0, errors.New("deck has no rates"))
	}
	prefixes := string(arena)
	for i := range d.rates {
		n := len(d.rates[i].Prefix)
		d.rates[i].Prefix, prefixes = prefixes[:n], prefixes[n:]
	}
	d.trie.compact()
	if cap(d.rates) > len(d.rates) {
		d.rates = append([]Rate(nil), d.rates...)
	}

	d.simple = len(head) == len(d.rates)
	for i := range d.rates {
		if d.rates[i].band != 0 || d.rates[i].From != 0 || d.rates[i].Until != 0 || d.rates[i].TierFrom != 0 {
			d.simple = false
			break
		}
	}
	if !d.simple {
		grouped := make([]Rate, 0, len(d.rates))
		first := make([]int32, len(head))
		d.input = make([]int32, len(d.rates))
		for g := range head {
			first[g] = int32(len(grouped))
			for i := head[g]; i >= 0; i = next[i] {
				d.input[i] = int32(len(grouped))
				grouped = append(grouped, d.rates[i])
			}
		}
		for i := range d.trie.nodes {
			nd := &d.trie.nodes[i]
			if nd.rate != 0 {
				g := nd.rate - 1
				nd.rate, nd.n = first[g]+1, count[g]
			}
		}
		d.rates = grouped
	}
	return d, nil
}

// resolveBand maps a row's band cell to a defined band, or parses it as a
// band specification and defines it on first use.
func (d *Deck) resolveBand(r *Rate) error {
	for i := range d.bands {
		if strings.EqualFold(d.bands[i].Name, r.Band) {
			r.Band = d.bands[i].Name
			r.band = uint8(i + 1)
			return nil
		}
	}
	b, err := ParseBand(r.Band, r.Band)
	if err != nil {
		return fmt.Errorf("band %q is not defined (configure it, e.g. peak: \"Mon-Fri 08:00-18:00\") and is not a band specification: %w", r.Band, err)
	}
	if len(d.bands) >= 250 {
		return errors.New("too many distinct bands")
	}
	b.Name = strings.Clone(r.Band)
	d.bands = append(d.bands, b)
	r.Band = b.Name
	r.band = uint8(len(d.bands))
	return nil
}

// conflict reports whether r clashes with a row already loaded for its
// prefix: the same band (or two bands active at the same moment) with
// overlapping effective periods would make the price ambiguous.
func (d *Deck) conflict(r *Rate, first int32, next []int32, lines []int) error {
	for i := first; i >= 0; i = next[i] {
		o := &d.rates[i]
		if !periodsOverlap(r.From, r.Until, o.From, o.Until) {
			continue
		}
		if r.TierFrom != o.TierFrom {
			continue // tiers of one band are meant to coexist
		}
		if r.band == o.band {
			if r.From == 0 && r.Until == 0 && o.From == 0 && o.Until == 0 && r.band == 0 {
				return fmt.Errorf("duplicate prefix %q (first defined on line %d)", r.Prefix, lines[i])
			}
			return fmt.Errorf("prefix %q band %q: effective %s overlaps %s on line %d",
				r.Prefix, r.Band, periodString(r.From, r.Until), periodString(o.From, o.Until), lines[i])
		}
		if r.band != 0 && o.band != 0 && d.bands[r.band-1].overlaps(&d.bands[o.band-1]) {
			return fmt.Errorf("prefix %q: bands %q and %q (line %d) are both active at some times in overlapping effective periods",
				r.Prefix, r.Band, o.Band, lines[i])
		}
	}
	return nil
}

func periodsOverlap(af, au, bf, bu int64) bool {
	if au == 0 {
		au = math.MaxInt64
	}
	if bu == 0 {
		bu = math.MaxInt64
	}
	return af < bu && bf < au
}

func periodString(from, until int64) string {
	f, u := "-", "-"
	if from != 0 {
		f = time.Unix(from, 0).UTC().Format(time.RFC3339)
	}
	if until != 0 {
		u = time.Unix(until, 0).UTC().Format(time.RFC3339)
	}
	return "[" + f + ", " + u + ")"
}

// parseRate converts one data record; errors carry the column and value but
// not the line, which the caller adds.
func parseRate(rec []string, cols *columns, loc *time.Location) (Rate, error) {
	var r Rate

	prefix := cols.get(rec, fieldPrefix)
	if prefix == "" {
		return r, errors.New("empty prefix")
	}
	digits := strings.TrimPrefix(prefix, "+")
	if digits == "" || !allDigits(digits) {
		return r, fmt.Errorf("prefix %q: not a digit string", prefix)
	}
	if len(digits) > maxPrefixDigits {
		return r, fmt.Errorf("prefix %q: longer than %d digits", prefix, maxPrefixDigits)
	}
	r.Prefix = digits
	r.Destination = cols.get(rec, fieldDestination)

	rate := cols.get(rec, fieldRate)
	if rate == "" {
		return r, errors.New("empty rate")
	}
	var err error
	if r.PerMinute, err = parseNano(rate); err != nil {
		return r, fmt.Errorf("rate %q: %w", rate, err)
	}
	if fee := cols.get(rec, fieldConnectFee); fee != "" {
		if r.ConnectFee, err = parseNano(fee); err != nil {
			return r, fmt.Errorf("connect_fee %q: %w", fee, err)
		}
	}

	r.Initial, r.Subsequent = DefaultIncrement, DefaultIncrement
	if inc := cols.get(rec, fieldIncrements); inc != "" {
		first, next, ok := strings.Cut(inc, "/")
		if !ok {
			return r, fmt.Errorf("increments %q: want initial/subsequent seconds, e.g. 60/60", inc)
		}
		if r.Initial, err = parseIncrement(strings.TrimSpace(first)); err != nil {
			return r, fmt.Errorf("increments %q: %w", inc, err)
		}
		if r.Subsequent, err = parseIncrement(strings.TrimSpace(next)); err != nil {
			return r, fmt.Errorf("increments %q: %w", inc, err)
		}
	}
	if s := cols.get(rec, fieldInitial); s != "" {
		if r.Initial, err = parseIncrement(s); err != nil {
			return r, fmt.Errorf("initial_increment %q: %w", s, err)
		}
	}
	if s := cols.get(rec, fieldSubsequent); s != "" {
		if r.Subsequent, err = parseIncrement(s); err != nil {
			return r, fmt.Errorf("subsequent_increment %q: %w", s, err)
		}
	}
	if s := cols.get(rec, fieldMinDuration); s != "" && s != "0" {
		if r.MinDuration, err = parseIncrement(s); err != nil {
			return r, fmt.Errorf("min_duration %q: %w", s, err)
		}
	}
	if s := cols.get(rec, fieldEffectiveFrom); s != "" {
		if r.From, err = parseEffective(s, loc); err != nil {
			return r, fmt.Errorf("effective_from %q: %w", s, err)
		}
	}
	if s := cols.get(rec, fieldEffectiveUntil); s != "" {
		if r.Until, err = parseEffective(s, loc); err != nil {
			return r, fmt.Errorf("effective_until %q: %w", s, err)
		}
		if r.Until <= r.From {
			return r, fmt.Errorf("effective_until %q is not after effective_from", s)
		}
	}
	r.Band = cols.get(rec, fieldBand)
	if s := cols.get(rec, fieldTier); s != "" && s != "0" {
		if r.TierFrom, err = parseIncrement(s); err != nil {
			return r, fmt.Errorf("tier_from %q: %w", s, err)
		}
	}
	return r, nil
}

// parseEffective reads an effective date: RFC 3339 with its own offset, or
// a date / date-time without one in the deck's zone.
func parseEffective(s string, loc *time.Location) (int64, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return nonZeroUnix(t)
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "02/01/2006", "2006/01/02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return nonZeroUnix(t)
		}
	}
	return 0, errors.New("not a date (want 2026-11-01, 2026-11-01 00:00:00 or RFC 3339)")
}

func nonZeroUnix(t time.Time) (int64, error) {
	u := t.Unix()
	if u <= 0 || t.Year() > 9999 {
		return 0, errors.New("date out of range (1970..9999)")
	}
	return u, nil
}

// parseIncrement accepts a positive whole number of seconds. Zero is
// rejected: a zero subsequent increment would divide by zero, and a zero
// initial increment is almost certainly a broken export.
func parseIncrement(s string) (int32, error) {
	if s == "" || !allDigits(s) {
		return 0, errors.New("increment must be a whole number of seconds")
	}
	var v int64
	for i := 0; i < len(s); i++ {
		v = v*10 + int64(s[i]-'0')
		if v > math.MaxInt32 {
			return 0, errors.New("increment too large")
		}
	}
	if v == 0 {
		return 0, errors.New("increment must be greater than 0")
	}
	return int32(v), nil
}

func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		c := s[i] | 0x20 // ASCII lower-case
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
