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
}

// Deck is an immutable, loaded rate deck. It is safe for concurrent use.
type Deck struct {
	name     string
	currency string
	decimals uint8
	rounding RoundingMode
	version  string
	rates    []Rate
	trie     trie
}

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
func (d *Deck) Rates() []Rate { return append([]Rate(nil), d.rates...) }

// Lookup returns the rate whose prefix is the longest prefix of number. A
// single leading '+' is ignored and matching stops at the first non-digit.
// It does not allocate.
func (d *Deck) Lookup(number string) (Rate, bool) {
	number = strings.TrimPrefix(number, "+")
	i := d.trie.longest(number)
	if i < 0 {
		return Rate{}, false
	}
	return d.rates[i], true
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

	d := &Deck{name: opts.Name, currency: DefaultCurrency, decimals: DefaultDecimals, rounding: opts.Rounding}
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
		d.currency = strings.ToUpper(opts.Currency)
	}
	if !opts.Rounding.valid() {
		return fail(0, fmt.Errorf("invalid rounding mode %v", opts.Rounding))
	}

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
	// All prefix digits go into one arena string, and destination names
	// (a few hundred distinct values repeated across rows) are interned, so
	// the deck does not pin every CSV line buffer and the GC sees a handful
	// of objects instead of one per row.
	arena := make([]byte, 0, estRows*8)
	destinations := make(map[string]string)

	for {
		rec, line, err := readRecord()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(line, err)
		}
		rate, err := parseRate(rec, &cols)
		if err != nil {
			return fail(line, err)
		}
		if s, ok := destinations[rate.Destination]; ok {
			rate.Destination = s
		} else {
			rate.Destination = strings.Clone(rate.Destination)
			destinations[rate.Destination] = rate.Destination
		}

		prev, dup, err := d.trie.insert(rate.Prefix, len(d.rates))
		if err != nil {
			return fail(line, err)
		}
		if dup {
			return fail(line, fmt.Errorf("duplicate prefix %q (first defined on line %d)", rate.Prefix, lines[prev]))
		}
		arena = append(arena, rate.Prefix...)
		d.rates = append(d.rates, rate)
		lines = append(lines, line)
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
	return d, nil
}

// parseRate converts one data record; errors carry the column and value but
// not the line, which the caller adds.
func parseRate(rec []string, cols *columns) (Rate, error) {
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
	return r, nil
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
