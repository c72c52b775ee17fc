package collector

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/config"
)

func pricingConfig(t testing.TB, extra string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"trunkscope.yml": `
trunks:
  - name: carrier-a
    addresses: [198.51.100.10/32]
    deck: carrier-a
  - name: carrier-us
    addresses: [198.51.100.20/32]
    deck: carrier-us
  - name: cust-in
    addresses: [192.0.2.80/32]
decks:
  - name: carrier-a
    file: a.csv
    currency: EUR
    bands: {peak: "Mon-Fri 08:00-18:00"}
  - name: carrier-us
    file: us.csv
    currency: USD
    decimals: 6
  - name: retail
    file: retail.csv
    currency: EUR
    decimals: 2
    rounding: up
rating:
  customers:
    - name: acme
      deck: retail
      trunks: [cust-in]
    - name: beta
      deck: retail
      callers: ["+3120", "31"]
` + extra,
		"a.csv":      "prefix,rate,increments,band,min_duration\n44,0.0100,60/60,,\n44,0.0300,60/60,peak,\n447,0.0410,30/6,,10\n",
		"us.csv":     "prefix,rate,increments\n1,0.0065,6/6\n44,0.0111,1/1\n",
		"retail.csv": "prefix,rate,increments,connect_fee\n1,0.02,60/60,0\n44,0.05,60/60,0.01\n447,0.12,1/1,0\n",
	}
	for name, s := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(filepath.Join(dir, "trunkscope.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestPricingRefusesCrossCurrencyWithoutRate(t *testing.T) {
	cfg := pricingConfig(t, "")
	_, err := LoadPricing(cfg)
	if err == nil || !strings.Contains(err.Error(), `exchange_rates "USD/EUR"`) {
		t.Fatalf("err = %v, want the missing USD/EUR rate named", err)
	}
}

// TestPricingProperties rates random calls on both sides: every row has
// price - cost = margin, both rows of a call agree, the cost converts with
// the configured rate, and rating is deterministic.
func TestPricingProperties(t *testing.T) {
	cfg := pricingConfig(t, "  exchange_rates:\n    USD/EUR: \"0.92\"\n")
	p, err := LoadPricing(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	trunks := []string{"carrier-a", "carrier-us", "cust-in", "other"}
	numbers := []string{"+442079460000", "+447700900123", "+12125550100", "+999", ""}
	callers := []string{"+31201234567", "+3130123", "+4420", ""}
	base := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	var buf []Rated
	for i := 0; i < 20000; i++ {
		c := CDR{CallID: fmt.Sprint(i), Trunk: trunks[rng.IntN(len(trunks))], CalleeE164: numbers[rng.IntN(len(numbers))],
			CallerE164: callers[rng.IntN(len(callers))], DurationMs: rng.Int64N(4 * 3600_000), Version: 1}
		c.StartUS = base.Add(time.Duration(rng.Int64N(14*24*3600)) * time.Second).UnixMicro()
		c.AnswerUS = c.StartUS + 2_000_000
		rows, unrated := p.Rate(&c, buf[:0])
		again, _ := p.Rate(&c, nil)
		n := 0
		for j, r := range rows {
			if r.Price-r.Cost != r.Margin {
				t.Fatalf("row %+v: price - cost != margin", r)
			}
			if r.Status == "unrated" {
				n++
				if r.Reason == "" || r.Amount.Units != 0 {
					t.Fatalf("unrated row %+v", r)
				}
			}
			if r != again[j] {
				t.Fatalf("not deterministic: %+v vs %+v", r, again[j])
			}
			if r.Side == "cost" && r.Status == "rated" && r.Currency == r.MarginCurrency && r.MarginDecimals == r.Amount.Decimals && r.Cost != r.Amount.Units {
				t.Fatalf("cost column %d != amount %v", r.Cost, r.Amount)
			}
		}
		if n != unrated {
			t.Fatalf("unrated count %d, rows say %d", unrated, n)
		}
		if len(rows) == 2 && (rows[0].Margin != rows[1].Margin || rows[0].MarginCurrency != "EUR") {
			t.Fatalf("rows of one call disagree: %+v", rows)
		}
		buf = rows
	}
	// A USD cost of 1.000000 against an EUR price: 0.92 EUR.
	c := CDR{CallID: "fx", Trunk: "carrier-us", CallerE164: "+31201234567", CalleeE164: "+12125550100",
		StartUS: base.UnixMicro(), AnswerUS: base.UnixMicro(), DurationMs: 60_000}
	rows, _ := p.Rate(&c, nil)
	if len(rows) != 2 || rows[0].Amount.String() != "0.006500" || rows[0].Cost != 5980 || rows[0].Price != 20000 || rows[0].MarginDecimals != 6 {
		t.Errorf("fx rows: %+v", rows)
	}
}

func BenchmarkPricingRate(b *testing.B) {
	cfg := pricingConfig(b, "  exchange_rates:\n    USD/EUR: \"0.92\"\n")
	p, err := LoadPricing(cfg)
	if err != nil {
		b.Fatal(err)
	}
	c := CDR{CallID: "x", Trunk: "carrier-a", CallerE164: "+31201234567", CalleeE164: "+447700900123",
		StartUS: time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC).UnixMicro(), DurationMs: 95_000}
	c.AnswerUS = c.StartUS
	var buf []Rated
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = p.Rate(&c, buf[:0])
	}
}
