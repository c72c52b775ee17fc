package rating

import (
	"bytes"
	"strings"
	"testing"
)

const benchRows = 200_000

// benchDeck builds the generated 200k-row deck plus callee numbers derived
// from its prefixes, so every lookup hits and the expected minimum match
// length is known.
func benchDeck(b *testing.B) (*Deck, []string, []int) {
	b.Helper()
	var buf bytes.Buffer
	if err := GenerateDeckCSV(&buf, benchRows, 1); err != nil {
		b.Fatal(err)
	}
	d, err := LoadDeck(&buf, DeckOptions{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	if d.Len() != benchRows {
		b.Fatalf("deck has %d rates, want %d", d.Len(), benchRows)
	}
	rates := d.Rates()
	const numbers = 4096 // power of two so the loop index can be masked
	nums := make([]string, numbers)
	minLen := make([]int, numbers)
	for i := range nums {
		p := rates[(i*7919)%len(rates)].Prefix
		nums[i] = "+" + p + strings.Repeat("7", 15-min(len(p), 14))
		minLen[i] = len(p)
	}
	return d, nums, minLen
}

func BenchmarkLookup(b *testing.B) {
	d, nums, minLen := benchDeck(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j := i & (len(nums) - 1)
		r, ok := d.Lookup(nums[j])
		if !ok || len(r.Prefix) < minLen[j] || !strings.HasPrefix(nums[j][1:], r.Prefix) {
			b.Fatalf("Lookup(%q) = %q, %v", nums[j], r.Prefix, ok)
		}
		i++
	}
}

func BenchmarkPrice(b *testing.B) {
	d, nums, minLen := benchDeck(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j := i & (len(nums) - 1)
		ms := int64(j*997%3_600_000 + 1)
		res, err := d.Price(nums[j], ms)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Rate.Prefix) < minLen[j] || res.BillableSeconds < (ms+999)/1000 || res.Amount.Units < 0 || res.DeckVersion != d.version {
			b.Fatalf("Price(%q, %d) = %+v", nums[j], ms, res)
		}
		i++
	}
}

func BenchmarkLoadDeck200k(b *testing.B) {
	var buf bytes.Buffer
	if err := GenerateDeckCSV(&buf, benchRows, 1); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := LoadDeck(bytes.NewReader(data), DeckOptions{Name: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if d.Len() != benchRows {
			b.Fatalf("deck has %d rates, want %d", d.Len(), benchRows)
		}
	}
}

// BenchmarkPriceAtBanded200k prices on a 200k-prefix deck with two rows per
// prefix (off-peak and peak, effective dates) at random times of a week.
func BenchmarkPriceAtBanded200k(b *testing.B) {
	d, nums, _ := benchDeck(b)
	var buf bytes.Buffer
	if err := GenerateBandedDeckCSV(&buf, d); err != nil {
		b.Fatal(err)
	}
	peak, _ := ParseBand("peak", "Mon-Fri 08:00-18:00")
	bd, err := LoadDeck(&buf, DeckOptions{Name: "banded", Bands: []Band{peak}})
	if err != nil {
		b.Fatal(err)
	}
	starts := make([]int64, len(nums))
	week := int64(1793577600) // 2026-11-02 00:00 UTC, a Monday
	for i := range starts {
		starts[i] = (week + int64(i*7919%(7*86400))) * 1_000_000
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j := i & (len(nums) - 1)
		if _, err := bd.PriceAt(nums[j], starts[j], int64(j*997%3_600_000+1)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
