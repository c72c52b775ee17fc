package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/rating"
	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store"
	"github.com/trunkscope/trunkscope/store/storetest"
)

const rateTestConfig = `
trunks:
  - name: carrier-a
    addresses: [198.51.100.10/32]
    channels: 30
    deck: carrier-a
  - name: cust-in
    addresses: [192.0.2.80/32]
    deck: ""
decks:
  - name: carrier-a
    file: carrier-a.csv
    currency: EUR
    decimals: 4
    timezone: Europe/Amsterdam
    bands:
      peak: "Mon-Fri 08:00-18:00"
  - name: retail
    file: retail.csv
    currency: USD
    decimals: 4
rating:
  reporting_zone: Europe/Amsterdam
  exchange_rates:
    EUR/USD: "1.10"
  customers:
    - name: acme
      deck: retail
      callers: ["3120"]
  channel_fees:
    - trunk: carrier-a
      monthly_per_channel: "3.00"
      currency: EUR
`

func rateTestSetup(t *testing.T) (*config.Config, string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("trunkscope.yml", rateTestConfig)
	write("carrier-a.csv", "prefix,destination,rate,increments,band\n44,UK,0.0100,60/60,\n44,UK,0.0200,60/60,peak\n447,UK Mobile,0.0400,30/6,\n")
	write("retail.csv", "prefix,destination,rate,increments\n44,UK,0.0500,60/60\n447,UK Mobile,0.0900,1/1\n")
	cfg, err := config.Load(filepath.Join(dir, "trunkscope.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, dir
}

func rateTestCDRs(n int) []collector.CDR {
	var out []collector.CDR
	base := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC) // a Monday
	for i := 0; i < n; i++ {
		start := base.Add(time.Duration(i) * 37 * time.Minute)
		callee := "+4420790000" + fmt.Sprint(i%10)
		if i%3 == 0 {
			callee = "+447700900" + fmt.Sprint(i%10)
		}
		if i%11 == 0 {
			callee = "+999123" // no rate: unrated, never zero
		}
		out = append(out, collector.CDR{CallID: fmt.Sprintf("call-%d", i), Trunk: "carrier-a", Direction: "outbound",
			CallerE164: "+31201234567", CalleeE164: callee, StartUS: start.UnixMicro(), AnswerUS: start.Add(3 * time.Second).UnixMicro(),
			EndUS:      start.Add(3*time.Second + time.Duration(i*7919%900_000)*time.Millisecond).UnixMicro(),
			DurationMs: int64(i * 7919 % 900_000), Outcome: collector.Answered, Version: 1})
	}
	return out
}

// testRatingStore runs rating's whole store cycle on one engine: rate,
// export, summary reconciliation, re-rate no-op, close, deck correction
// with adjustment lines.
func testRatingStore(t *testing.T, st store.Store, db string) {
	ctx := context.Background()
	cfg, _ := rateTestSetup(t)
	if _, err := schema.Migrate(ctx, st, db); err != nil {
		t.Fatal(err)
	}
	cdrs := rateTestCDRs(200)
	rows := make([][]any, len(cdrs))
	for i := range cdrs {
		rows[i] = cdrs[i].Row()
	}
	if err := st.Insert(ctx, db+".cdrs", schema.CDRColumns, rows); err != nil {
		t.Fatal(err)
	}
	p, err := currentPricing(ctx, cfg, st, db)
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := cfg.Rating.ReportingLocation()
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, loc), time.Date(2026, 12, 1, 0, 0, 0, 0, loc)
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	d, err := rerate(ctx, st, db, p, loc, from, to, "", "", now)
	if err != nil {
		t.Fatal(err)
	}
	if d.Calls != 200 || d.Changed != 200 {
		t.Fatalf("first rating: %+v", d)
	}

	// Export: every row reproducible; price - cost = margin on every row.
	var buf bytes.Buffer
	if err := exportRated(ctx, st, db, from, to, "csv", &buf, exportFilter{}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range recs[0] {
		col[c] = i
	}
	exportTotals := map[string]rating.Amount{}
	unrated := 0
	for _, r := range recs[1:] {
		if r[col["status"]] != "rated" {
			unrated++
			if r[col["reason"]] == "" || !strings.Contains(r[col["reason"]], "no rate") {
				t.Errorf("unrated row without reason: %v", r)
			}
			continue
		}
		cost, price, margin := parseAmount(t, r[col["cost"]]), parseAmount(t, r[col["price"]]), parseAmount(t, r[col["margin"]])
		if price.Units-cost.Units != margin.Units || r[col["margin_currency"]] != "USD" {
			t.Errorf("price %s - cost %s != margin %s (%s)", price, cost, margin, r[col["margin_currency"]])
		}
		if r[col["deck_version"]] == "" || r[col["prefix"]] == "" || r[col["number"]] == "" {
			t.Errorf("row not reproducible: %v", r)
		}
		addAmount(exportTotals, r[col["side"]]+":"+r[col["currency"]], parseAmount(t, r[col["amount"]]))
		// Reproducible: the deck version, number, billed-from time and
		// duration on the row give its amount again.
		pr := p.Deck(r[col["deck"]])
		from, err := time.Parse(time.RFC3339Nano, r[col["billed_from"]])
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := strconv.ParseInt(r[col["duration_ms"]], 10, 64)
		again, err := pr.Price(r[col["number"]], "", from.UnixMicro(), ms)
		if err != nil || pr.Version() != r[col["deck_version"]] || again.Amount.String() != r[col["amount"]] ||
			strconv.FormatInt(again.Billable, 10) != r[col["billable_s"]] || again.Prefix != r[col["prefix"]] {
			t.Errorf("row %v not reproduced: %+v %v", r, again, err)
		}
	}
	if unrated != 2*19 { // 19 calls to +999, both sides
		t.Errorf("%d unrated rows, want 38", unrated)
	}
	// Summary totals equal the export to the smallest unit, in every view.
	for _, by := range []string{"customer", "carrier", "destination", "day"} {
		lines, err := summarize(ctx, st, db, cfg, by, from, to, loc)
		if err != nil {
			t.Fatal(err)
		}
		totals := map[string]rating.Amount{}
		for _, l := range lines {
			if l.Kind == "calls" {
				addAmount(totals, l.Side+":"+l.Currency, l.Amount)
			}
		}
		for k, v := range exportTotals {
			if mustRescale(totals[k], 4) != mustRescale(v, 4) {
				t.Errorf("by %s: %s summary %s, export %s", by, k, totals[k], v)
			}
		}
		if by == "carrier" {
			// 30 channels * 3.00 EUR per month = 90.00 for all of November.
			var fee rating.Amount
			for _, l := range lines {
				if strings.HasPrefix(l.Kind, "channel fee") {
					addAmount(map[string]rating.Amount{}, "", l.Amount)
					fee.Units += mustRescale(l.Amount, 4).Units
					fee.Decimals = 4
				}
			}
			if fee.Units != 900_000 {
				t.Errorf("channel fees for November: %s, want 90.0000", fee)
			}
		}
	}

	// Re-rating with unchanged decks changes nothing.
	d, err = rerate(ctx, st, db, p, loc, from, to, "", "", now)
	if err != nil || d.Changed != 0 {
		t.Fatalf("rerate unchanged: %+v %v", d, err)
	}

	// Close November, correct the carrier deck (447 now 0.0500): the
	// totals of the period stay, the difference is in adjustment lines.
	if err := st.Insert(ctx, db+".rating_periods", []string{"period", "state", "closed_at", "ver"}, [][]any{{"2026-11", "closed", now, uint64(1)}}); err != nil {
		t.Fatal(err)
	}
	fixed := "prefix,destination,rate,increments,band\n44,UK,0.0100,60/60,\n44,UK,0.0200,60/60,peak\n447,UK Mobile,0.0500,30/6,\n"
	deckCfg := cfg.Decks[0]
	files := map[string][]byte{"carrier-a.csv": []byte(fixed)}
	pr, _, err := loadPricer(deckCfg, files, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := storeImport(ctx, st, db, deckCfg, pr, files, now); err != nil {
		t.Fatal(err)
	}
	p2, err := currentPricing(ctx, cfg, st, db)
	if err != nil {
		t.Fatal(err)
	}
	d, err = rerate(ctx, st, db, p2, loc, from, to, "carrier-a", "carrier credit note 17", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if d.Adjusted == 0 || d.Changed != d.Adjusted {
		t.Fatalf("closed period rerate: %+v", d)
	}
	d2, err := rerate(ctx, st, db, p2, loc, from, to, "carrier-a", "again", now.Add(2*time.Hour))
	if err != nil || d2.Changed != 0 {
		t.Fatalf("second rerate of a closed period: %+v %v", d2, err)
	}
	lines, err := summarize(ctx, st, db, cfg, "carrier", from, to, loc)
	if err != nil {
		t.Fatal(err)
	}
	var adj int64
	for _, l := range lines {
		if l.Kind == "adjustment" {
			adj += mustRescale(l.Amount, 4).Units
		}
	}
	if adj <= 0 {
		t.Errorf("adjustment lines sum to %d, want the 447 increase", adj)
	}
	buf.Reset()
	if err := exportRated(ctx, st, db, from, to, "jsonl", &buf, exportFilter{side: "cost", trunk: "carrier-a"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), `"side":"price"`) {
		t.Error("export filter --side cost let price rows through")
	}
	if !strings.Contains(buf.String(), "carrier credit note 17") {
		t.Error("export lacks the adjustment reason")
	}
}

func parseAmount(t *testing.T, s string) rating.Amount {
	t.Helper()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var u int64
	for _, c := range whole + frac {
		u = u*10 + int64(c-'0')
	}
	if neg {
		u = -u
	}
	return rating.Amount{Units: u, Decimals: uint8(len(frac))}
}

func TestRatingStoreChDB(t *testing.T) {
	st, db := storetest.Embedded(t)
	testRatingStore(t, st, db)
}

func TestRatingStoreServer1816(t *testing.T) {
	st, db := storetest.Server(t)
	testRatingStore(t, st, db)
}

func TestSummaryMargins(t *testing.T) {
	totals := map[string]rating.Amount{
		"price:EUR": {Units: 50000, Decimals: 4},
		"cost:EUR":  {Units: 1000, Decimals: 2},
		"cost:USD":  {Units: 100000, Decimals: 6},
	}
	if _, err := summaryMargins(totals, nil); err == nil || !strings.Contains(err.Error(), `"USD/EUR"`) {
		t.Errorf("no rate: %v", err)
	}
	m, err := summaryMargins(totals, map[string]string{"EUR/USD": "1.25"})
	if err != nil {
		t.Fatal(err)
	}
	// 5.0000 - 10.00 - 0.100000 USD * 0.8 = -5.080000
	if got := m["EUR"].String(); got != "-5.080000" {
		t.Errorf("margin %s, want -5.080000", got)
	}
}
