package rating

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func us(t time.Time) int64 { return t.UnixMicro() }

func bandDeck(t *testing.T, csv string, loc *time.Location) *Deck {
	t.Helper()
	peak, err := ParseBand("peak", "Mon-Fri 08:00-18:00")
	if err != nil {
		t.Fatal(err)
	}
	d, err := LoadDeck(strings.NewReader(csv), DeckOptions{Name: "b", Decimals: 6, Location: loc, Bands: []Band{peak}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPriceAtBandsSplit(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	// Peak 0.12/min, off-peak 0.06/min, weekend 0.03/min, 1/1 increments.
	d := bandDeck(t, "prefix,rate,increments,band,connect_fee\n"+
		"44,0.12,1/1,peak,0.01\n"+
		"44,0.06,1/1,,0.02\n"+
		"44,0.03,1/1,Sat-Sun,0.03\n", ams)
	tests := []struct {
		name     string
		start    time.Time
		dur      time.Duration
		want     int64 // micro-units (6 decimals)
		band     string
		segments int
	}{
		// Tuesday 17:59:00 local for 2 minutes: 60 s peak + 60 s off-peak.
		{"peak to off-peak", time.Date(2026, 11, 3, 17, 59, 0, 0, ams), 2 * time.Minute, 10_000 + 120_000 + 60_000, "peak", 2},
		// Tuesday 07:59:30 for 60 s: 30 s off-peak then 30 s peak; the
		// connect fee is the off-peak row's.
		{"off-peak to peak", time.Date(2026, 11, 3, 7, 59, 30, 0, ams), time.Minute, 20_000 + 30_000 + 60_000, "", 2},
		// Friday 23:59 for 2 min: 60 s off-peak, midnight, 60 s weekend.
		{"midnight into weekend", time.Date(2026, 11, 6, 23, 59, 0, 0, ams), 2 * time.Minute, 20_000 + 60_000 + 30_000, "", 2},
		// Sunday 23:59:50 for 20 s: 10 s weekend, 10 s Monday off-peak.
		{"midnight out of weekend", time.Date(2026, 11, 8, 23, 59, 50, 0, ams), 20 * time.Second, 30_000 + 5_000 + 10_000, "Sat-Sun", 2},
		{"inside peak", time.Date(2026, 11, 3, 12, 0, 0, 0, ams), 90 * time.Second, 10_000 + 180_000, "peak", 1},
		// The band is read in the deck's zone: 07:30 UTC is 08:30 in Amsterdam (CET).
		{"zone", time.Date(2026, 11, 3, 7, 30, 0, 0, time.UTC), time.Minute, 10_000 + 120_000, "peak", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, segs, err := d.Explain("+447700900000", us(tt.start), tt.dur.Milliseconds())
			if err != nil {
				t.Fatal(err)
			}
			if res.Amount.Units != tt.want || res.Band != tt.band || res.Segments != tt.segments || len(segs) != tt.segments {
				t.Errorf("amount %d band %q segments %d/%d; want %d %q %d (%+v)", res.Amount.Units, res.Band, res.Segments, len(segs), tt.want, tt.band, tt.segments, segs)
			}
			var sum int64
			for _, s := range segs {
				sum += s.Seconds
			}
			if sum != res.BillableSeconds {
				t.Errorf("segments sum to %d s, billable %d", sum, res.BillableSeconds)
			}
		})
	}
}

func TestPriceAtEffectiveDates(t *testing.T) {
	d := bandDeck(t, "prefix,rate,increments,effective_from,effective_until,min_duration\n"+
		"44,0.10,60/60,,2026-11-15,\n"+
		"44,0.20,60/60,2026-11-15,,\n"+
		"447,0.50,30/6,2026-12-01,,30\n", time.UTC)
	before := time.Date(2026, 11, 14, 23, 59, 59, 0, time.UTC)
	after := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		start time.Time
		num   string
		ms    int64
		want  int64
		pref  string
	}{
		{before, "447000", 61_000, 200_000, "44"},                                       // 447 not in effect yet: falls back to 44; 2 min at 0.10
		{after, "447000", 61_000, 400_000, "44"},                                        // new 44 row from the 15th, even though the call crosses no boundary
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "447000", 5_000, 250_000, "447"}, // min duration 30 s at 0.50
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "447000", 37_000, 350_000, "447"},
	} {
		res, err := d.PriceAt(tt.num, us(tt.start), tt.ms)
		if err != nil {
			t.Fatal(err)
		}
		if res.Amount.Units != tt.want || res.Rate.Prefix != tt.pref {
			t.Errorf("%s %s %d ms: %d on %q, want %d on %q", tt.start, tt.num, tt.ms, res.Amount.Units, res.Rate.Prefix, tt.want, tt.pref)
		}
	}
	// A call before any row is in effect for 447 and 44 both... 44's first row is open-ended backwards.
	if _, err := d.PriceAt("33", us(before), 1000); !errors.As(err, new(NoRateError)) {
		t.Errorf("unknown prefix: %v", err)
	}
}

func TestPriceAtGapIsAnError(t *testing.T) {
	d := bandDeck(t, "prefix,rate,band\n44,0.12,peak\n", time.UTC)
	_, err := d.PriceAt("44", us(time.Date(2026, 11, 7, 12, 0, 0, 0, time.UTC)), 60_000) // Saturday
	if !errors.Is(err, errNoBand) {
		t.Errorf("uncovered time: %v, want errNoBand", err)
	}
}

func TestLoadDeckBadRows(t *testing.T) {
	csv := "prefix,rate,increments,effective_from,effective_until,band\n" +
		"44,0.1,60/60,2026-01-01,2026-06-01,\n" +
		"44,0.2,60/60,2026-05-01,,\n" + // overlaps line 2
		"447,-1,60/60,,,\n" + // negative
		"448,0.1,60/x,,,\n" + // bad increment
		"449,0.1,60/60,2026-13-01,,\n" + // bad date
		"33,0.1,60/60,,,peak\n" +
		"33,0.1,60/60,,,Mon 12:00-20:00\n" + // overlaps peak on Monday
		"34,0.1,60/60,2026-02-01,2026-01-01,\n" + // until before from
		"35,0.1,60/60,,,Funday\n" +
		"36,0.1,60/60,,,\n"
	peak, _ := ParseBand("peak", "Mon-Fri 08:00-18:00")
	_, err := LoadDeck(strings.NewReader(csv), DeckOptions{Name: "x", Bands: []Band{peak}})
	var es DeckErrors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v (%T), want DeckErrors", err, err)
	}
	var lines []int
	for _, e := range es {
		lines = append(lines, e.Line)
	}
	if want := []int{3, 4, 5, 6, 8, 9, 10}; !equalInts(lines, want) {
		t.Errorf("error lines %v, want %v\n%v", lines, want, err)
	}
	if !errors.Is(err, ErrNegative) {
		t.Error("errors.Is(ErrNegative) false")
	}
	d, err := LoadDeck(strings.NewReader(csv), DeckOptions{Name: "x", Bands: []Band{peak}, SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 || len(d.Skipped()) != 7 {
		t.Errorf("skip-invalid: %d rows, %d skipped", d.Len(), len(d.Skipped()))
	}
	if _, err := LoadDeck(strings.NewReader("prefix,rate\n1,1\n"), DeckOptions{Currency: "EUE"}); err == nil || !strings.Contains(err.Error(), "not an ISO 4217 currency") {
		t.Errorf("unknown currency: %v", err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseBand(t *testing.T) {
	b, err := ParseBand("night", "daily 20:00-08:00")
	if err != nil {
		t.Fatal(err)
	}
	if !b.active(time.Monday, 21*3600) || !b.active(time.Tuesday, 7*3600) || b.active(time.Monday, 12*3600) {
		t.Error("wrapping band")
	}
	for _, bad := range []string{"", "Mon-Fri 08:00", "Xyz", "Mon 25:00-26:00", "Mon 08:00-08:00", "Mon Tue", "08:00-09:00 10:00-11:00"} {
		if _, err := ParseBand("x", bad); err == nil {
			t.Errorf("ParseBand(%q) accepted", bad)
		}
	}
}

func BenchmarkPriceAtBanded(b *testing.B) {
	peak, _ := ParseBand("peak", "Mon-Fri 08:00-18:00")
	d, err := LoadDeck(strings.NewReader("prefix,rate,increments,band\n44,0.12,1/1,peak\n44,0.06,1/1,\n"), DeckOptions{Bands: []Band{peak}})
	if err != nil {
		b.Fatal(err)
	}
	start := us(time.Date(2026, 11, 3, 17, 30, 0, 0, time.UTC))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.PriceAt("447700900000", start, 3_600_000); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPriceAtDST: on the night clocks go back (25-hour day) a band
// boundary is a wall-clock time; a call across the change is priced by the
// seconds that actually elapsed.
func TestPriceAtDST(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	night, _ := ParseBand("night", "daily 00:00-06:00")
	d, err := LoadDeck(strings.NewReader("prefix,rate,increments,band\n44,0.60,1/1,night\n44,1.20,1/1,\n"),
		DeckOptions{Decimals: 4, Location: ams, Bands: []Band{night}})
	if err != nil {
		t.Fatal(err)
	}
	// 2026-10-25 02:00 CEST -> 02:00 CET. Start 05:00 CET (04:00 UTC) for
	// 2 hours: 1 h night (0.60/min) then 1 h day (1.20/min).
	start := time.Date(2026, 10, 25, 4, 0, 0, 0, time.UTC)
	res, segs, err := d.Explain("44", us(start), (2 * time.Hour).Milliseconds())
	if err != nil {
		t.Fatal(err)
	}
	if res.Amount.Units != 1_080_000 || len(segs) != 2 || segs[0].Seconds != 3600 {
		t.Errorf("DST: %s, %+v", res.Amount, segs)
	}
	// Starting 23:30 local on the 24th for 4 h (03:30 CET by the wall
	// clock, 4 h elapsed): 30 min day, then the whole 00:00-06:00 night
	// band including the repeated hour.
	start = time.Date(2026, 10, 24, 21, 30, 0, 0, time.UTC) // 23:30 CEST
	res, segs, err = d.Explain("44", us(start), (4 * time.Hour).Milliseconds())
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 || segs[0].Seconds != 1800 || segs[1].Seconds != 3*3600+1800 || res.Amount.Units != 36*10_000+126*10_000 {
		t.Errorf("across the change: %s %+v", res.Amount, segs)
	}
}

// TestPriceAtTiers: duration tiers (the first minute at one rate, the rest
// at another), alone and combined with a peak band.
func TestPriceAtTiers(t *testing.T) {
	d := bandDeck(t, "prefix,rate,increments,tier_from,band,connect_fee\n"+
		"44,0.10,60/6,,,0.01\n"+
		"44,0.05,60/6,60,,\n"+
		"44,0.20,60/6,,peak,0.01\n"+
		"44,0.12,60/6,60,peak,\n"+
		"33,0.10,1/1,,,\n", time.UTC)
	sat := time.Date(2026, 11, 7, 12, 0, 0, 0, time.UTC)
	tue := time.Date(2026, 11, 3, 17, 58, 30, 0, time.UTC)
	for _, tt := range []struct {
		name     string
		start    time.Time
		ms       int64
		want     int64 // 6 decimals
		segments int
	}{
		{"first tier only", sat, 30_000, 10_000 + 100_000, 1},    // 60 s minimum increment
		{"two tiers", sat, 90_000, 10_000 + 100_000 + 25_000, 2}, // 60 s at 0.10 + 30 s at 0.05
		// 17:58:30 for 150 s: 60 s peak tier 1 (0.20), 30 s peak tier 2
		// (0.12) to 18:00, then 60 s off-peak tier 2 (0.05); the connect
		// fee is the peak row's.
		{"tiers across peak end", tue, 150_000, 10_000 + 200_000 + 60_000 + 50_000, 3},
		{"no tiers", sat, 90_000 + 1, 0, 0},
	} {
		if tt.name == "no tiers" {
			res, err := d.PriceAt("33", us(tt.start), tt.ms)
			if err != nil || res.Amount.Units != 151_667 || res.Segments != 1 {
				t.Errorf("%s: %v %+v", tt.name, err, res)
			}
			continue
		}
		res, segs, err := d.Explain("44", us(tt.start), tt.ms)
		if err != nil {
			t.Fatal(err)
		}
		if res.Amount.Units != tt.want || res.Segments != tt.segments {
			t.Errorf("%s: %d in %d segments, want %d in %d: %+v", tt.name, res.Amount.Units, res.Segments, tt.want, tt.segments, segs)
		}
	}
	if _, err := LoadDeck(strings.NewReader("prefix,rate,tier_from\n44,0.1,60\n44,0.2,60\n"), DeckOptions{}); err == nil {
		t.Error("two rows for the same tier accepted")
	}
}
