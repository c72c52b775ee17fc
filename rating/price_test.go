package rating

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestLookupLongestPrefix(t *testing.T) {
	d := mustLoad(t, "prefix,destination,rate\n44,UK,0.01\n447,UK Mobile,0.02\n4420,London,0.03\n1,NANP,0.004\n1212,New York,0.005\n", DeckOptions{Name: "lpm"})
	tests := []struct {
		number string
		want   string // "" means no match
	}{
		{"447911123456", "447"},
		{"+447911123456", "447"},
		{"442079460000", "4420"},
		{"+44 20 7946 0000", "44"}, // matching stops at the first space
		{"+4420 7946 0000", "4420"},
		{"4412345", "44"},
		{"44", "44"},
		{"447", "447"},
		{"4", ""},
		{"12125551234", "1212"},
		{"1212", "1212"},
		{"121", "1"},
		{"1", "1"},
		{"+1-212-555", "1"},
		{"+1212-555", "1212"},
		{"18005551234", "1"},
		{"4420x", "4420"},
		{"0044791112", ""}, // international access code is not stripped
		{"33123456", ""},
		{"", ""},
		{"+", ""},
		{"++44", ""},
		{"x44", ""},
		{"\xff44", ""},
		{"/44", ""}, // '/' is just below '0'
		{":44", ""}, // ':' is just above '9'
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			checkLookup(t, d, tt.number, tt.want)
		})
	}
}

func checkLookup(t *testing.T, d *Deck, number, wantPrefix string) {
	t.Helper()
	r, ok := d.Lookup(number)
	if wantPrefix == "" {
		if ok {
			t.Fatalf("Lookup(%q) = %q, want no match", number, r.Prefix)
		}
		return
	}
	if !ok || r.Prefix != wantPrefix {
		t.Fatalf("Lookup(%q) = %q, %v; want %q", number, r.Prefix, ok, wantPrefix)
	}
}

func TestBillableSeconds(t *testing.T) {
	tests := []struct {
		initial, subsequent int32
		ms                  int64
		want                int64
	}{
		{60, 60, math.MinInt64, 0},
		{60, 60, -1, 0},
		{60, 60, 0, 0},
		{60, 60, 1, 60},
		{60, 60, 60_000, 60},
		{60, 60, 60_001, 120},
		{60, 60, 119_999, 120},
		{60, 60, 120_001, 180},
		{30, 6, 1, 30},
		{30, 6, 30_000, 30},
		{30, 6, 30_001, 36},
		{30, 6, 36_000, 36},
		{30, 6, 36_001, 42},
		{1, 1, 1, 1},
		{1, 1, 999, 1},
		{1, 1, 1_000, 1},
		{1, 1, 1_001, 2},
		{6, 6, 6_000, 6},
		{6, 6, 6_001, 12},
		{60, 1, 61_000, 61},
		{60, 1, 61_001, 62},
		{0, 6, 1, 6},                            // hand-built rate: zero initial is honoured
		{60, 0, 61_000, 61},                     // hand-built rate: subsequent below 1 acts as 1
		{1, 1, math.MaxInt64, 9223372036854776}, // ceil without overflow
		{60, 60, math.MaxInt64, 9223372036854780},
	}
	for _, tt := range tests {
		r := Rate{Initial: tt.initial, Subsequent: tt.subsequent}
		if got := r.BillableSeconds(tt.ms); got != tt.want {
			t.Errorf("%d/%d BillableSeconds(%d) = %d, want %d", tt.initial, tt.subsequent, tt.ms, got, tt.want)
		}
	}
}

// billingCase prices one call against a one-row deck.
type billingCase struct {
	name       string
	rate, fee  string
	increments string
	decimals   uint8 // 0 means the default 4
	mode       RoundingMode
	ms         int64
	billable   int64
	amount     string
	// float64Differs marks cases chosen because the naive float64 formula
	// gets them wrong; the test checks it still does, so the case stays
	// meaningful.
	float64Differs bool
}

func TestPrice(t *testing.T) {
	tests := []billingCase{
		// 60/60 at 0.0123/min.
		{name: "60/60 1ms", rate: "0.0123", increments: "60/60", ms: 1, billable: 60, amount: "0.0123"},
		{name: "60/60 exactly 60s", rate: "0.0123", increments: "60/60", ms: 60_000, billable: 60, amount: "0.0123"},
		{name: "60/60 61s", rate: "0.0123", increments: "60/60", ms: 60_001, billable: 120, amount: "0.0246"},
		{name: "60/60 zero duration", rate: "0.0123", increments: "60/60", ms: 0, billable: 0, amount: "0.0000"},
		{name: "60/60 negative duration", rate: "0.0123", increments: "60/60", ms: -5, billable: 0, amount: "0.0000"},

		// 30/6: 0.0123*30/60 = 0.00615 -> 61.5 units.
		{name: "30/6 1s half_up", rate: "0.0123", increments: "30/6", ms: 1_000, billable: 30, amount: "0.0062"},
		{name: "30/6 1s up", rate: "0.0123", increments: "30/6", mode: Up, ms: 1_000, billable: 30, amount: "0.0062"},
		{name: "30/6 1s down", rate: "0.0123", increments: "30/6", mode: Down, ms: 1_000, billable: 30, amount: "0.0061"},
		// 36 s: 0.00738 -> 73.8 units.
		{name: "30/6 30.5s half_up", rate: "0.0123", increments: "30/6", ms: 30_500, billable: 36, amount: "0.0074"},
		{name: "30/6 30.5s down", rate: "0.0123", increments: "30/6", mode: Down, ms: 30_500, billable: 36, amount: "0.0073"},
		// 42 s: 0.00861 -> 86.1 units.
		{name: "30/6 37s half_up", rate: "0.0123", increments: "30/6", ms: 37_000, billable: 42, amount: "0.0086"},
		{name: "30/6 37s up", rate: "0.0123", increments: "30/6", mode: Up, ms: 37_000, billable: 42, amount: "0.0087"},

		// 1/1: 7 s -> 0.001435 -> 14.35 units; 1 s -> 0.000205 -> 2.05 units.
		{name: "1/1 7s half_up", rate: "0.0123", increments: "1/1", ms: 7_000, billable: 7, amount: "0.0014"},
		{name: "1/1 7s up", rate: "0.0123", increments: "1/1", mode: Up, ms: 7_000, billable: 7, amount: "0.0015"},
		{name: "1/1 1ms up", rate: "0.0123", increments: "1/1", mode: Up, ms: 1, billable: 1, amount: "0.0003"},
		{name: "1/1 1ms down", rate: "0.0123", increments: "1/1", mode: Down, ms: 1, billable: 1, amount: "0.0002"},

		// 6/6: 12 s -> 0.00246 -> 24.6 units; 6 s -> 12.3 units.
		{name: "6/6 7s half_up", rate: "0.0123", increments: "6/6", ms: 7_000, billable: 12, amount: "0.0025"},
		{name: "6/6 7s down", rate: "0.0123", increments: "6/6", mode: Down, ms: 7_000, billable: 12, amount: "0.0024"},
		{name: "6/6 6s", rate: "0.0123", increments: "6/6", ms: 6_000, billable: 6, amount: "0.0012"},

		// Connect fee is added before the single rounding, and only for
		// billable calls.
		{name: "connect fee 90s", rate: "0.0123", fee: "0.15", increments: "60/60", ms: 90_000, billable: 120, amount: "0.1746"},
		{name: "connect fee zero duration", rate: "0.0123", fee: "0.15", increments: "60/60", ms: 0, billable: 0, amount: "0.0000"},
		// 0.00004 + 0.0001*6/60 = 0.00005: rounding each part separately
		// would give 0 + 0; rounding the exact sum gives 0.0001.
		{name: "connect fee rounded once", rate: "0.0001", fee: "0.00004", increments: "6/6", ms: 1, billable: 6, amount: "0.0001"},

		// Exact ties and near-ties: 0.0001*30/60 = 0.00005 (0.5 units),
		// 0.000099*30/60 = 0.0000495 (0.495 units).
		{name: "tie half_up", rate: "0.0001", increments: "1/1", ms: 30_000, billable: 30, amount: "0.0001"},
		{name: "tie up", rate: "0.0001", increments: "1/1", mode: Up, ms: 30_000, billable: 30, amount: "0.0001"},
		{name: "tie down", rate: "0.0001", increments: "1/1", mode: Down, ms: 30_000, billable: 30, amount: "0.0000"},
		{name: "below tie half_up", rate: "0.000099", increments: "1/1", ms: 30_000, billable: 30, amount: "0.0000"},
		{name: "below tie up", rate: "0.000099", increments: "1/1", mode: Up, ms: 30_000, billable: 30, amount: "0.0001"},

		// Cases where float64 arithmetic gives the wrong answer.
		{name: "float 0.1 3s up", rate: "0.1", increments: "1/1", mode: Up, ms: 3_000, billable: 3, amount: "0.0050", float64Differs: true},
		{name: "float 0.1 6s up", rate: "0.1", increments: "6/6", mode: Up, ms: 6_000, billable: 6, amount: "0.0100", float64Differs: true},
		{name: "float 0.3 3s half_up 2dp", rate: "0.3", increments: "1/1", decimals: 2, ms: 3_000, billable: 3, amount: "0.02", float64Differs: true},
		{name: "float 0.7 3s half_up 2dp", rate: "0.7", increments: "1/1", decimals: 2, ms: 3_000, billable: 3, amount: "0.04", float64Differs: true},
		{name: "float 0.29 30s half_up 2dp", rate: "0.29", increments: "30/6", decimals: 2, ms: 30_000, billable: 30, amount: "0.15", float64Differs: true},
		{name: "float 0.15 3s half_up 3dp", rate: "0.15", increments: "1/1", decimals: 3, ms: 3_000, billable: 3, amount: "0.008", float64Differs: true},

		// Decimals at both ends of the range.
		{name: "0 decimals half_up", rate: "0.0123", increments: "60/60", decimals: ZeroDecimals, ms: 1, billable: 60, amount: "0"},
		{name: "0 decimals up", rate: "0.0123", increments: "60/60", decimals: ZeroDecimals, mode: Up, ms: 1, billable: 60, amount: "1"},
		{name: "9 decimals", rate: "0.0123", increments: "1/1", decimals: 9, ms: 1, billable: 1, amount: "0.000205000"},
		{name: "9 decimals down", rate: "0.000000001", increments: "1/1", decimals: 9, mode: Down, ms: 1, billable: 1, amount: "0.000000000"},

		// Beyond 64-bit intermediates: 1e12 nano * 1e9 s.
		{name: "128-bit intermediate", rate: "1000", increments: "1/1", ms: 1_000_000_000_000, billable: 1_000_000_000, amount: "16666666666.6667"},
		{name: "max rate one minute", rate: "9223372036.854775807", increments: "60/60", decimals: 9, ms: 1, billable: 60, amount: "9223372036.854775807"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkPrice(t, tt)
		})
	}
}

func checkPrice(t *testing.T, tt billingCase) {
	t.Helper()
	csv := "prefix,destination,rate,connect_fee,increments\n44,UK," + tt.rate + "," + tt.fee + "," + tt.increments + "\n"
	d := mustLoad(t, csv, DeckOptions{Name: "bill", Currency: "GBP", Decimals: tt.decimals, Rounding: tt.mode})
	res, err := d.Price("+447700900123", tt.ms)
	if err != nil {
		t.Fatalf("Price: %v", err)
	}
	if res.BillableSeconds != tt.billable {
		t.Errorf("BillableSeconds = %d, want %d", res.BillableSeconds, tt.billable)
	}
	if got := res.Amount.String(); got != tt.amount {
		t.Errorf("Amount = %s, want %s", got, tt.amount)
	}
	if res.Amount.Decimals != d.Decimals() || res.Currency != "GBP" || res.DeckVersion != d.Version() || res.Rate.Prefix != "44" {
		t.Errorf("result metadata = %+v", res)
	}
	if tt.float64Differs {
		if naive := naiveFloat64(t, tt, d.Decimals()); naive == tt.amount {
			t.Errorf("float64 formula also gives %s; case does not demonstrate anything", naive)
		}
	}
}

// naiveFloat64 is the tempting float64 implementation the package avoids.
func naiveFloat64(t *testing.T, tt billingCase, decimals uint8) string {
	t.Helper()
	rate, err := strconv.ParseFloat(tt.rate, 64)
	if err != nil {
		t.Fatal(err)
	}
	scale := math.Pow10(int(decimals))
	x := rate * float64(tt.billable) / 60 * scale
	var units float64
	switch tt.mode {
	case HalfUp:
		units = math.Round(x)
	case Up:
		units = math.Ceil(x)
	case Down:
		units = math.Floor(x)
	}
	return Amount{Units: int64(units), Decimals: decimals}.String()
}

func TestPriceErrors(t *testing.T) {
	d := mustLoad(t, "prefix,rate,increments\n44,0.01,60/60\n9,100000,1/1\n", DeckOptions{Name: "carrier-a"})

	_, err := d.Price("+33123", 60_000)
	var nre NoRateError
	if !errors.As(err, &nre) || nre.Deck != "carrier-a" || nre.Number != "+33123" {
		t.Fatalf("Price unknown number: err = %v, want NoRateError", err)
	}
	if want := `rating: deck "carrier-a": no rate for number "+33123"`; err.Error() != want {
		t.Errorf("error text = %q, want %q", err.Error(), want)
	}
	// Unbillable calls to unknown destinations are still reported.
	if _, err := d.Price("33", 0); !errors.As(err, &nre) {
		t.Errorf("Price unknown number, 0 ms: err = %v, want NoRateError", err)
	}

	_, err = d.Price("9", math.MaxInt64)
	if !errors.Is(err, ErrOverflow) || !strings.HasPrefix(err.Error(), `rating: deck "carrier-a": price "9"`) {
		t.Errorf("Price overflow: err = %v, want ErrOverflow", err)
	}
}

func TestCharge(t *testing.T) {
	r := Rate{Prefix: "44", PerMinute: 12_300_000, Initial: 60, Subsequent: 60}
	a, err := r.Charge(60, 2, Up)
	if err != nil || a != (Amount{Units: 2, Decimals: 2}) {
		t.Errorf("Charge(60, 2, Up) = %v, %v; want 0.02", a, err)
	}
	bad := []struct {
		r        Rate
		decimals uint8
		mode     RoundingMode
		is       error
	}{
		{r, 10, HalfUp, nil},
		{r, 4, RoundingMode(9), nil},
		{Rate{PerMinute: -1}, 4, HalfUp, ErrNegative},
		{Rate{ConnectFee: -1}, 4, HalfUp, ErrNegative},
		{Rate{PerMinute: math.MaxInt64}, 9, HalfUp, ErrOverflow},
	}
	for _, tt := range bad {
		_, err := tt.r.Charge(61, tt.decimals, tt.mode)
		if err == nil || !strings.HasPrefix(err.Error(), "rating: charge") || (tt.is != nil && !errors.Is(err, tt.is)) {
			t.Errorf("Charge(%+v, %d, %v) err = %v", tt.r, tt.decimals, tt.mode, err)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	d := mustLoad(t, "prefix,rate,connect_fee,increments\n44,0.01,0.1,60/60\n447,0.0123,0,30/6\n", DeckOptions{Name: "alloc"})
	number := "+447700900123"
	var res Result
	var err error
	var ok bool
	if n := testing.AllocsPerRun(1000, func() { res.Rate, ok = d.Lookup(number) }); n != 0 || !ok {
		t.Errorf("Lookup: %v allocs per run (ok=%v), want 0", n, ok)
	}
	if n := testing.AllocsPerRun(1000, func() { res, err = d.Price(number, 95_123) }); n != 0 || err != nil {
		t.Errorf("Price: %v allocs per run (err=%v), want 0", n, err)
	}
	if res.Amount.String() != "0.0197" { // 96 s at 30/6: 0.0123*96/60 = 0.01968
		t.Errorf("Price amount = %s", res.Amount)
	}
}
