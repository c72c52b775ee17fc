package rating

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzLoadDeck(f *testing.F) {
	f.Add([]byte("prefix,destination,rate,connect_fee,increments\n44,UK,0.01,0,60/60\n447,UK Mobile,0.0123,0.15,30/6\n"))
	f.Add([]byte("code,name,price,setup,initial,increment\n+1,US,.5,0,1,1\n1212,NY,1.,0,6,6\n"))
	f.Add([]byte("\uFEFFDial Code,Rate Per Minute\r\n\r\n33,0.000000001\r\n"))
	f.Add([]byte("prefix,rate\n1,\"0.1\n\"\n"))
	f.Add([]byte("prefix,rate\n44,1\n44,2\n"))
	f.Add([]byte("prefix,rate,tier_from,band,increments\n44,0.1,,,60/6\n44,0.05,60,,60/6\n44,0.2,,peak,60/6\n44,0.12,60,peak,60/6\n"))
	f.Add([]byte("prefix,rate,effective_from,effective_until,band,min_duration\n44,1,2026-01-01,2026-02-01,peak,30\n44,2,2026-02-01,,,\n44,0.5,2026-01-01,,Sat-Sun,\n447,1,,,Mon-Fri 08:00-18:00,60\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		peak, _ := ParseBand("peak", "Mon-Fri 08:00-18:00")
		d, err := LoadDeck(bytes.NewReader(data), DeckOptions{Name: "fuzz", Bands: []Band{peak}})
		if err != nil {
			var de *DeckError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is %T, want *DeckError", err, err)
			}
			return
		}
		for _, start := range []int64{0, 1767225600_000_000, 1790000000_123_456} {
			if _, err := d.PriceAt(string(data), start, int64(len(data))*7919); err != nil {
				var nre NoRateError
				if !errors.As(err, &nre) && !errors.Is(err, ErrOverflow) && !errors.Is(err, errNoBand) {
					t.Fatalf("PriceAt: unexpected error %v", err)
				}
			}
		}
		if d.Len() == 0 {
			t.Fatal("loaded deck has no rates")
		}
		d.Lookup(string(data))
		if _, err := d.Price(string(data), int64(len(data))*1000); err != nil {
			var nre NoRateError
			if !errors.As(err, &nre) && !errors.Is(err, ErrOverflow) && !errors.Is(err, errNoBand) {
				t.Fatalf("Price: unexpected error %v", err)
			}
		}
		// Every prefix must find its own row: proves the trie and the rate
		// table agree and that no prefix was lost or shadowed.
		for _, r := range d.Rates() {
			got, ok := d.Lookup(r.Prefix)
			if !ok || got.Prefix != r.Prefix {
				t.Fatalf("Lookup(%q) = %+v, %v; want %+v", r.Prefix, got, ok, r)
			}
			if r.Initial <= 0 || r.Subsequent <= 0 || r.PerMinute < 0 || r.ConnectFee < 0 {
				t.Fatalf("loaded invalid rate %+v", r)
			}
		}
	})
}

func FuzzParseNano(f *testing.F) {
	for _, s := range []string{"0", "0.0123", ".5", "1.", "-0", "-1", "9223372036.854775807", "9223372036.854775808", "0.0000000001", "1e3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNano(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseNano(%q) = %d, negative", s, n)
		}
		// The canonical form must read back to the same value.
		back, err := ParseNano(n.String())
		if err != nil || back != n {
			t.Fatalf("ParseNano(%q) = %d; String %q reads back as %d, %v", s, n, n.String(), back, err)
		}
	})
}

func FuzzParseBand(f *testing.F) {
	for _, s := range []string{"Mon-Fri 08:00-18:00", "Sat,Sun", "daily 20:00-08:00", "*", "Fri-Mon 23:59:59-24:00", "mon 8:00-9:00", "Sun-Sat"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		b, err := ParseBand("x", spec)
		if err != nil {
			return
		}
		if b.From < 0 || b.From >= 86400 || b.To <= 0 || b.To > 86400 || b.From == b.To {
			t.Fatalf("ParseBand(%q) = %+v", spec, b)
		}
		any := false
		for _, d := range b.Days {
			any = any || d
		}
		if !any {
			t.Fatalf("ParseBand(%q): no day", spec)
		}
	})
}
