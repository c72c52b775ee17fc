package rating

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
)

// GenerateDeckCSV writes a synthetic but realistic rate deck of n rows to w:
// country-level fallback prefixes followed by area and mobile-range
// prefixes, with the header prefix,destination,rate,connect_fee,increments.
// Output is deterministic for a given n and seed, so benchmark runs are
// comparable. It is meant for load testing (trunkscope bench), not billing.
func GenerateDeckCSV(w io.Writer, n int, seed int64) error {
	// The cap keeps the duplicate-retry loop far from exhausting the
	// generated prefix space (hundreds of millions of prefixes).
	const maxRows = 10_000_000
	if n < 0 || n > maxRows {
		return fmt.Errorf("rating: generate deck: row count %d out of range 0..%d", n, maxRows)
	}
	type country struct {
		code, name string
		fixed      int64 // per-minute rate in 1e-6 units
		mobile     int64
	}
	countries := []country{
		{"1", "United States", 4_000, 4_000},
		{"1212", "United States - New York", 3_500, 3_500},
		{"1416", "Canada - Toronto", 5_000, 5_000},
		{"20", "Egypt", 95_000, 110_000},
		{"27", "South Africa", 18_000, 62_000},
		{"30", "Greece", 9_000, 48_000},
		{"31", "Netherlands", 7_500, 41_000},
		{"32", "Belgium", 8_200, 52_000},
		{"33", "France", 6_100, 23_000},
		{"34", "Spain", 5_900, 19_000},
		{"36", "Hungary", 11_000, 39_000},
		{"39", "Italy", 6_800, 31_000},
		{"40", "Romania", 12_000, 44_000},
		{"41", "Switzerland", 14_000, 187_000},
		{"43", "Austria", 9_300, 58_000},
		{"44", "United Kingdom", 5_200, 12_500},
		{"45", "Denmark", 7_700, 33_000},
		{"46", "Sweden", 6_600, 27_000},
		{"47", "Norway", 8_100, 35_000},
		{"48", "Poland", 6_900, 21_000},
		{"49", "Germany", 4_800, 26_000},
		{"52", "Mexico", 9_900, 24_000},
		{"55", "Brazil", 14_500, 61_000},
		{"61", "Australia", 10_500, 39_500},
		{"62", "Indonesia", 46_000, 71_000},
		{"63", "Philippines", 128_000, 141_000},
		{"81", "Japan", 24_000, 89_000},
		{"82", "South Korea", 19_000, 28_000},
		{"86", "China", 11_000, 11_000},
		{"90", "Turkey", 38_000, 142_000},
		{"91", "India", 21_000, 21_000},
		{"234", "Nigeria", 142_000, 156_000},
		{"351", "Portugal", 7_800, 29_000},
		{"353", "Ireland", 8_800, 46_000},
		{"358", "Finland", 19_000, 73_000},
		{"380", "Ukraine", 94_000, 163_000},
		{"420", "Czech Republic", 8_500, 35_000},
		{"880", "Bangladesh", 36_000, 36_000},
		{"971", "United Arab Emirates", 152_000, 171_000},
		{"972", "Israel", 15_000, 41_000},
	}
	increments := []string{"60/60", "60/60", "60/60", "30/6", "1/1", "6/6", "60/1"}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x7472756e6b73636f)) // "trunksco"

	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write([]string{"prefix", "destination", "rate", "connect_fee", "increments"}); err != nil {
		return fmt.Errorf("rating: generate deck: %w", err)
	}

	seen := make(map[string]struct{}, n)
	rec := make([]string, 5)
	emit := func(prefix, dest string, microRate int64, inc string) error {
		seen[prefix] = struct{}{}
		fee := "0"
		if rng.IntN(10) == 0 { // a minority of routes carry a setup fee
			fee = Nano(int64(rng.IntN(5)+1) * 5_000_000).String()
		}
		rec[0], rec[1], rec[2], rec[3], rec[4] = prefix, dest, Nano(microRate*1000).String(), fee, inc
		return cw.Write(rec)
	}

	rows := 0
	for _, c := range countries {
		if rows == n {
			break
		}
		if err := emit(c.code, c.name, c.fixed, "60/60"); err != nil {
			return fmt.Errorf("rating: generate deck: %w", err)
		}
		rows++
	}
	buf := make([]byte, 0, maxPrefixDigits)
	for rows < n {
		c := countries[rng.IntN(len(countries))]
		mobile := rng.IntN(3) == 0
		// Subscriber ranges get longer as operators split them, so mix
		// short area codes with long number-block prefixes.
		extra := 1 + rng.IntN(7)
		buf = append(buf[:0], c.code...)
		for i := 0; i < extra; i++ {
			buf = append(buf, byte('0'+rng.IntN(10)))
		}
		if _, dup := seen[string(buf)]; dup {
			continue
		}
		dest, rate := c.name+" - Fixed", c.fixed
		if mobile {
			dest, rate = c.name+" - Mobile", c.mobile
		}
		// +-20% around the country's base so neighbouring prefixes differ.
		rate += rate * int64(rng.IntN(41)-20) / 100
		if err := emit(string(buf), dest, max(rate, 1), increments[rng.IntN(len(increments))]); err != nil {
			return fmt.Errorf("rating: generate deck: %w", err)
		}
		rows++
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("rating: generate deck: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("rating: generate deck: %w", err)
	}
	return nil
}
