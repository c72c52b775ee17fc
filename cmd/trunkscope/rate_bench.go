package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"testing/fstest"
	"time"

	"github.com/trunkscope/trunkscope/rating"
)

// benchRatingExtra measures what the rating issue added: a banded deck
// with effective dates (two rows per prefix) priced at call times across
// the week, and a CGRateS tariff plan of the same size, imported and
// priced.
func benchRatingExtra(tw io.Writer, deck *rating.Deck) error {
	var banded bytes.Buffer
	if err := rating.GenerateBandedDeckCSV(&banded, deck); err != nil {
		return err
	}
	peak, err := rating.ParseBand("peak", "Mon-Fri 08:00-18:00")
	if err != nil {
		return err
	}
	size := banded.Len()
	start := time.Now()
	bd, err := rating.LoadDeck(&banded, rating.DeckOptions{Name: "banded", Bands: []rating.Band{peak}})
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "rating: banded deck import\t%s\t%d rows (2 per prefix, bands, effective dates), %.1f MB CSV\n",
		time.Since(start).Round(time.Millisecond), bd.Len(), float64(size)/1e6)
	rates := deck.Rates()
	rng := rand.New(rand.NewPCG(3, 4))
	numbers := make([]string, 4096)
	starts := make([]int64, 4096)
	week := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC).UnixMicro()
	for i := range numbers {
		numbers[i] = rates[rng.IntN(len(rates))].Prefix + strconv.Itoa(1000000+rng.IntN(8999999))
		starts[i] = week + rng.Int64N(7*24*3600)*1_000_000
	}
	const priced = 2_000_000
	start = time.Now()
	var units int64
	split := 0
	for i := 0; i < priced; i++ {
		r, err := bd.PriceAt(numbers[i&4095], starts[i&4095], int64(i%600_000))
		if err == nil {
			units += r.Amount.Units
			if r.Segments > 1 {
				split++
			}
		}
	}
	el := time.Since(start)
	fmt.Fprintf(tw, "rating: price a CDR, banded\t%.2fM CDRs/s\t%d CDRs, %d split at a band boundary (checksum %d)\n",
		priced/el.Seconds()/1e6, priced, split, units%1000)

	files := rating.GenerateTariffPlan(deck)
	m := fstest.MapFS{}
	total := 0
	for name, b := range files {
		m[name] = &fstest.MapFile{Data: b}
		total += len(b)
	}
	start = time.Now()
	plan, err := rating.LoadTariffPlan(m, rating.TariffPlanOptions{Name: "cgr"})
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "rating: CGRateS plan import\t%s\t%d destinations, %.1f MB of CSV\n", time.Since(start).Round(time.Millisecond), deck.Len(), float64(total)/1e6)
	const cgrPriced = 200_000
	start = time.Now()
	units = 0
	for i := 0; i < cgrPriced; i++ {
		c, err := plan.Cost("bench", "call", "x", numbers[i&4095], time.UnixMicro(starts[i&4095]), time.Duration(i%600_000)*time.Millisecond)
		if err == nil {
			units += c.Amount.Units
		}
	}
	el = time.Since(start)
	fmt.Fprintf(tw, "rating: price a CDR, CGRateS\t%.0fk CDRs/s\t%d CDRs (exact big.Rat arithmetic; checksum %d)\n",
		cgrPriced/el.Seconds()/1e3, cgrPriced, units%1000)
	return nil
}
