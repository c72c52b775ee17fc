package rating

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// mustLoad loads an inline deck or fails the test.
func mustLoad(t *testing.T, csv string, opts DeckOptions) *Deck {
	t.Helper()
	d, err := LoadDeck(strings.NewReader(csv), opts)
	if err != nil {
		t.Fatalf("LoadDeck: %v", err)
	}
	return d
}

// wantRates compares a deck's rates, in input order, with want.
func wantRates(t *testing.T, d *Deck, want []Rate) {
	t.Helper()
	if got := d.Rates(); !reflect.DeepEqual(got, want) {
		t.Fatalf("rates:\n got %+v\nwant %+v", got, want)
	}
}

func TestLoadDeckColumns(t *testing.T) {
	tests := []struct {
		name string
		csv  string
		want []Rate
	}{
		{
			name: "canonical names",
			csv: "prefix,destination,rate,connect_fee,initial_increment,subsequent_increment\n" +
				"44,United Kingdom,0.0123,0.01,30,6\n",
			want: []Rate{{Prefix: "44", Destination: "United Kingdom", PerMinute: 12_300_000, ConnectFee: 10_000_000, Initial: 30, Subsequent: 6}},
		},
		{
			name: "aliases, odd case and spacing, reordered, extra column",
			csv: "\uFEFFRate Per Minute, Dial-Code ,Effective Date,DESCRIPTION,Setup_Fee,min_increment,increment,Notes\n" +
				"0.15,+49,2026-01-01,Germany,.5,1,1,x\n",
			want: []Rate{{Prefix: "49", Destination: "Germany", PerMinute: 150_000_000, ConnectFee: 500_000_000, Initial: 1, Subsequent: 1, From: 1767225600}},
		},
		{
			name: "code/name/price/setup",
			csv:  "code,name,price,setup\n33,France,1,0\n",
			want: []Rate{{Prefix: "33", Destination: "France", PerMinute: 1_000_000_000, Initial: 60, Subsequent: 60}},
		},
		{
			name: "dialcode/dest/per_minute/connection_fee/first_increment/next_increment",
			csv:  "dialcode,dest,per_minute,connection_fee,first_increment,next_increment\n1,USA,0.000001,0.000000001,6,6\n",
			want: []Rate{{Prefix: "1", Destination: "USA", PerMinute: 1_000, ConnectFee: 1, Initial: 6, Subsequent: 6}},
		},
		{
			name: "rate_per_min and dial_code, no destination, defaults",
			csv:  "dial_code,rate_per_min\n31,0.02\n",
			want: []Rate{{Prefix: "31", PerMinute: 20_000_000, Initial: 60, Subsequent: 60}},
		},
		{
			name: "increments column",
			csv: "prefix,destination,rate,increments\n" +
				"44,UK,0.01,60/60\n" +
				"447,UK Mobile,0.02,30/6\n" +
				"4420,London,0.01, 1 / 1 \n" +
				"1,US,0.005,\n",
			want: []Rate{
				{Prefix: "44", Destination: "UK", PerMinute: 10_000_000, Initial: 60, Subsequent: 60},
				{Prefix: "447", Destination: "UK Mobile", PerMinute: 20_000_000, Initial: 30, Subsequent: 6},
				{Prefix: "4420", Destination: "London", PerMinute: 10_000_000, Initial: 1, Subsequent: 1},
				{Prefix: "1", Destination: "US", PerMinute: 5_000_000, Initial: 60, Subsequent: 60},
			},
		},
		{
			name: "billing alias, blank lines, CRLF, quoted field, short row",
			csv: "\r\n\r\nprefix,rate,billing,destination\r\n" +
				"\r\n" +
				"43,0.3,6/6,\"Austria, fixed\"\r\n" +
				" , ,,\r\n" +
				"41,0.2\r\n",
			want: []Rate{
				{Prefix: "43", Destination: "Austria, fixed", PerMinute: 300_000_000, Initial: 6, Subsequent: 6},
				{Prefix: "41", PerMinute: 200_000_000, Initial: 60, Subsequent: 60},
			},
		},
		{
			name: "only initial given, subsequent defaults",
			csv:  "prefix,rate,initial\n7,0.1,30\n",
			want: []Rate{{Prefix: "7", PerMinute: 100_000_000, Initial: 30, Subsequent: 60}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRates(t, mustLoad(t, tt.csv, DeckOptions{Name: "t"}), tt.want)
		})
	}
}

func TestLoadDeckErrors(t *testing.T) {
	tests := []struct {
		name     string
		csv      string
		wantLine int
		wantErr  string // full error text
		wantIs   error  // optional sentinel
	}{
		{"empty input", "", 0, `rating: deck "carrier-a": empty deck: no header`, nil},
		{"blank lines only", "\n\n ,\n", 0, `rating: deck "carrier-a": empty deck: no header`, nil},
		{"header only", "prefix,rate\n", 0, `rating: deck "carrier-a": deck has no rates`, nil},
		{"no prefix column", "\ndest,rate\nx,1\n", 2, `rating: deck "carrier-a" line 2: header has no prefix column (want one of prefix, code, dial_code, dialcode)`, nil},
		{"no rate column", "prefix,cost\n1,1\n", 1, `rating: deck "carrier-a" line 1: header has no rate column (want one of rate, rate_per_min, rate_per_minute, price, per_minute)`, nil},
		{"two prefix columns", "prefix,code,rate\n", 1, `rating: deck "carrier-a" line 1: columns 1 ("prefix") and 2 ("code") are both the prefix column`, nil},
		{"increments and initial", "prefix,rate,increments,initial\n", 1, `rating: deck "carrier-a" line 1: header has both an increments column and initial/subsequent increment columns`, nil},
		{"bad rate", "prefix,rate\n1,0.1\n\n2,abc\n", 4, `rating: deck "carrier-a" line 4: rate "abc": invalid decimal`, ErrInvalidDecimal},
		{"negative rate", "prefix,rate\n1,-0.1\n", 2, `rating: deck "carrier-a" line 2: rate "-0.1": negative value`, ErrNegative},
		{"too precise rate", "prefix,rate\n1,0.0000000001\n", 2, `rating: deck "carrier-a" line 2: rate "0.0000000001": more than 9 decimals`, ErrTooManyDecimals},
		{"huge rate", "prefix,rate\n1,10000000000\n", 2, `rating: deck "carrier-a" line 2: rate "10000000000": value out of range`, ErrOverflow},
		{"empty rate", "prefix,rate\n1,\n", 2, `rating: deck "carrier-a" line 2: empty rate`, nil},
		{"missing rate field", "prefix,dest,rate\n1,x\n", 2, `rating: deck "carrier-a" line 2: empty rate`, nil},
		{"bad connect fee", "prefix,rate,setup\n1,1,1.2.3\n", 2, `rating: deck "carrier-a" line 2: connect_fee "1.2.3": invalid decimal`, ErrInvalidDecimal},
		{"empty prefix", "prefix,rate\n,1\n", 2, `rating: deck "carrier-a" line 2: empty prefix`, nil},
		{"plus only prefix", "prefix,rate\n+,1\n", 2, `rating: deck "carrier-a" line 2: prefix "+": not a digit string`, nil},
		{"letters in prefix", "prefix,rate\n44a,1\n", 2, `rating: deck "carrier-a" line 2: prefix "44a": not a digit string`, nil},
		{"double plus", "prefix,rate\n++44,1\n", 2, `rating: deck "carrier-a" line 2: prefix "++44": not a digit string`, nil},
		{"inner space", "prefix,rate\n44 20,1\n", 2, `rating: deck "carrier-a" line 2: prefix "44 20": not a digit string`, nil},
		{"prefix too long", "prefix,rate\n123456789012345678901,1\n", 2, `rating: deck "carrier-a" line 2: prefix "123456789012345678901": longer than 20 digits`, nil},
		{"duplicate prefix", "prefix,rate\n44,1\n447,1\n+44,2\n", 4, `rating: deck "carrier-a" line 4: duplicate prefix "44" (first defined on line 2)`, nil},
		{"zero increment", "prefix,rate,increments\n1,1,60/0\n", 2, `rating: deck "carrier-a" line 2: increments "60/0": increment must be greater than 0`, nil},
		{"increments without slash", "prefix,rate,increments\n1,1,60\n", 2, `rating: deck "carrier-a" line 2: increments "60": want initial/subsequent seconds, e.g. 60/60`, nil},
		{"negative increment", "prefix,rate,increments\n1,1,-1/1\n", 2, `rating: deck "carrier-a" line 2: increments "-1/1": increment must be a whole number of seconds`, nil},
		{"huge increment", "prefix,rate,initial\n1,1,2147483648\n", 2, `rating: deck "carrier-a" line 2: initial_increment "2147483648": increment too large`, nil},
		{"zero subsequent", "prefix,rate,increment\n1,1,0\n", 2, `rating: deck "carrier-a" line 2: subsequent_increment "0": increment must be greater than 0`, nil},
		{"unclosed quote", "prefix,rate\n1,1\n2,\"1\n3,1\n4,1\n", 3, `rating: deck "carrier-a" line 3: extraneous or missing " in quoted-field (detected at line 5)`, nil},
		{"bare quote", "prefix,rate\n1,1\n2,1\"x\n", 3, `rating: deck "carrier-a" line 3: bare " in non-quoted-field`, nil},
		{"line after multi-line quoted field", "prefix,dest,rate\n1,\"a\nb\",1\n2,x,y\n", 4, `rating: deck "carrier-a" line 4: rate "y": invalid decimal`, ErrInvalidDecimal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadDeck(strings.NewReader(tt.csv), DeckOptions{Name: "carrier-a"})
			checkDeckError(t, err, tt.wantLine, tt.wantErr, tt.wantIs)
		})
	}
}

// checkDeckError asserts err is a *DeckError with the given line and text.
func checkDeckError(t *testing.T, err error, wantLine int, wantErr string, wantIs error) {
	t.Helper()
	var de *DeckError
	if !errors.As(err, &de) {
		t.Fatalf("error = %v (%T), want *DeckError", err, err)
	}
	if wantLine != 0 && de.Line != wantLine {
		t.Errorf("Line = %d, want %d", de.Line, wantLine)
	}
	if err.Error() != wantErr {
		t.Errorf("error text\n got %s\nwant %s", err.Error(), wantErr)
	}
	if wantIs != nil && !errors.Is(err, wantIs) {
		t.Errorf("errors.Is(err, %v) = false", wantIs)
	}
}

func TestLoadDeckOptions(t *testing.T) {
	const csv = "prefix,rate\n1,1\n"
	d := mustLoad(t, csv, DeckOptions{})
	if d.Currency() != "EUR" || d.Decimals() != 4 || d.Rounding() != HalfUp || d.Name() != "" || d.Len() != 1 {
		t.Errorf("defaults: currency %q decimals %d rounding %v name %q len %d", d.Currency(), d.Decimals(), d.Rounding(), d.Name(), d.Len())
	}
	d = mustLoad(t, csv, DeckOptions{Name: "x", Currency: "usd", Decimals: 6, Rounding: Down})
	if d.Currency() != "USD" || d.Decimals() != 6 || d.Rounding() != Down || d.Name() != "x" {
		t.Errorf("explicit: currency %q decimals %d rounding %v name %q", d.Currency(), d.Decimals(), d.Rounding(), d.Name())
	}
	if d := mustLoad(t, csv, DeckOptions{Decimals: ZeroDecimals}); d.Decimals() != 0 {
		t.Errorf("ZeroDecimals: decimals %d", d.Decimals())
	}
	if d := mustLoad(t, csv, DeckOptions{Decimals: 9}); d.Decimals() != 9 {
		t.Errorf("decimals 9: got %d", d.Decimals())
	}

	bad := []struct {
		opts DeckOptions
		want string
	}{
		{DeckOptions{Name: "x", Decimals: 10}, `rating: deck "x": decimals 10 out of range 0..9`},
		{DeckOptions{Currency: "EURO"}, `rating: deck: currency "EURO" is not a 3-letter ISO 4217 code`},
		{DeckOptions{Currency: "E1R"}, `rating: deck: currency "E1R" is not a 3-letter ISO 4217 code`},
		{DeckOptions{Rounding: 3}, `rating: deck: invalid rounding mode RoundingMode(3)`},
	}
	for _, tt := range bad {
		_, err := LoadDeck(strings.NewReader(csv), tt.opts)
		checkDeckError(t, err, 0, tt.want, nil)
	}
}

func TestDeckVersion(t *testing.T) {
	const csv = "prefix,rate\n1,1\n"
	sum := sha256.Sum256([]byte(csv))
	want := hex.EncodeToString(sum[:])[:16]
	if got := mustLoad(t, csv, DeckOptions{}).Version(); got != want {
		t.Errorf("Version() = %q, want %q", got, want)
	}
	// Semantically equal but byte-different input must change the version:
	// the version identifies the file the carrier sent, not its meaning.
	if got := mustLoad(t, csv+"\n", DeckOptions{}).Version(); got == want {
		t.Errorf("Version() did not change with trailing newline")
	}
}

func TestLoadDeckFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "carrier-b.csv")
	if err := os.WriteFile(good, []byte("prefix,rate\n1,0.01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := LoadDeckFile(good, DeckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name() != "carrier-b.csv" {
		t.Errorf("Name() = %q, want file name", d.Name())
	}

	bad := filepath.Join(dir, "broken.csv")
	if err := os.WriteFile(bad, []byte("prefix,rate\n1,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadDeckFile(bad, DeckOptions{Name: "carrier-a"})
	checkDeckError(t, err, 2, `rating: deck "carrier-a" (`+bad+`) line 2: rate "x": invalid decimal`, ErrInvalidDecimal)

	_, err = LoadDeckFile(filepath.Join(dir, "missing.csv"), DeckOptions{Name: "carrier-a"})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.csv") || !strings.HasPrefix(err.Error(), "rating: ") {
		t.Errorf("missing file error = %v", err)
	}
}

func TestGenerateDeckCSV(t *testing.T) {
	var a, b strings.Builder
	if err := GenerateDeckCSV(&a, 5000, 42); err != nil {
		t.Fatal(err)
	}
	if err := GenerateDeckCSV(&b, 5000, 42); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("GenerateDeckCSV is not deterministic for a fixed seed")
	}
	d := mustLoad(t, a.String(), DeckOptions{Name: "gen"})
	if d.Len() != 5000 {
		t.Fatalf("generated deck has %d rates, want 5000", d.Len())
	}
	for _, r := range d.Rates() {
		if got, ok := d.Lookup(r.Prefix); !ok || got != r {
			t.Fatalf("Lookup(%q) = %+v, %v; want %+v", r.Prefix, got, ok, r)
		}
	}
	var small strings.Builder
	if err := GenerateDeckCSV(&small, 3, 1); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(small.String(), "\n"); n != 4 {
		t.Errorf("3-row deck has %d lines, want 4", n)
	}
	if err := GenerateDeckCSV(&small, -1, 1); err == nil {
		t.Error("negative row count accepted")
	}
}
