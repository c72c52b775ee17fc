package config

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestRatingConfig(t *testing.T) {
	const base = `
trunks:
  - {name: carrier-a, addresses: [198.51.100.10/32], deck: a}
  - {name: cust-in, addresses: [192.0.2.80/32]}
decks:
  - {name: a, file: a.csv, timezone: Europe/Amsterdam, bands: {peak: "Mon-Fri 08:00-18:00"}}
  - {name: plan, file: plan, format: cgrates, subject: "1001"}
`
	files := fstest.MapFS{"a.csv": {Data: []byte("prefix,rate\n1,1\n")}}
	good := base + `
rating:
  reporting_zone: Europe/Amsterdam
  exchange_rates: {"USD/EUR": "0.92"}
  customers:
    - {name: acme, deck: a, trunks: [cust-in]}
    - {name: beta, deck: plan, callers: ["+3120"]}
  channel_fees:
    - {trunk: carrier-a, monthly_per_channel: "2.50", currency: EUR}
`
	c, err := parse([]byte(good), files)
	if err != nil {
		t.Fatal(err)
	}
	if loc, _ := c.Rating.ReportingLocation(); loc.String() != "Europe/Amsterdam" || len(c.Rating.Customers) != 2 || c.Decks[1].Format != "cgrates" {
		t.Errorf("parsed %+v", c.Rating)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"rating:\n  reporting_zone: Mars/Olympus\n", "rating.reporting_zone"},
		{"rating:\n  exchange_rates: {USDEUR: \"1\"}\n", "rating.exchange_rates"},
		{"rating:\n  customers:\n    - {name: x, deck: nope, callers: [\"1\"]}\n", `customer "x": deck "nope" is not defined`},
		{"rating:\n  customers:\n    - {name: x, deck: a}\n", "needs trunks or callers"},
		{"rating:\n  customers:\n    - {name: x, deck: a, trunks: [nope]}\n", `trunk "nope" is not defined`},
		{"rating:\n  channel_fees:\n    - {trunk: nope, monthly_per_channel: \"1\"}\n", `trunk "nope"`},
		{"rating:\n  channel_fees:\n    - {trunk: carrier-a}\n", "monthly_per_channel is empty"},
	} {
		_, err := parse([]byte(base+tc.yaml), files)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.yaml, err, tc.want)
		}
	}
	bad := strings.Replace(base, "format: cgrates", "format: xml", 1)
	if _, err := parse([]byte(bad), files); err == nil || !strings.Contains(err.Error(), "want carrier or cgrates") {
		t.Errorf("bad format: %v", err)
	}
	bad = strings.Replace(base, "Europe/Amsterdam", "Nowhere/Town", 1)
	if _, err := parse([]byte(bad), files); err == nil || !strings.Contains(err.Error(), "timezone") {
		t.Errorf("bad timezone: %v", err)
	}
}
