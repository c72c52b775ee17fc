package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Rating configures the sell side, currencies and reporting of the rating
// engine. The buy side is each trunk's `deck:`.
type Rating struct {
	// ReportingZone is the IANA zone daily summaries are cut in
	// (default UTC).
	ReportingZone string `yaml:"reporting_zone"`
	// ExchangeRates converts between deck currencies for margins: "USD/EUR":
	// "0.92" means 1 USD = 0.92 EUR (the inverse is derived). Without a rate
	// a margin across currencies is refused.
	ExchangeRates map[string]string `yaml:"exchange_rates"`
	// Customers are the sell side: who is charged for a call and on which
	// deck.
	Customers []Customer `yaml:"customers"`
	// ChannelFees are monthly per-channel trunk charges, prorated per day
	// as summary lines of their own.
	ChannelFees []ChannelFee `yaml:"channel_fees"`
}

// Customer maps calls to a customer: calls on one of its inbound trunks,
// or whose caller number (E.164) starts with one of its caller prefixes.
type Customer struct {
	Name    string   `yaml:"name"`
	Deck    string   `yaml:"deck"` // sell deck
	Trunks  []string `yaml:"trunks"`
	Callers []string `yaml:"callers"`
}

// ChannelFee charges a trunk per channel per month.
type ChannelFee struct {
	Trunk string `yaml:"trunk"`
	// MonthlyPerChannel is a decimal amount ("3.50").
	MonthlyPerChannel string `yaml:"monthly_per_channel"`
	Currency          string `yaml:"currency"`
}

// ReportingLocation returns the reporting zone (UTC when unset).
func (r *Rating) ReportingLocation() (*time.Location, error) {
	if r.ReportingZone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(r.ReportingZone)
	if err != nil {
		return nil, fmt.Errorf("rating.reporting_zone: %w", err)
	}
	return loc, nil
}

// DeckLocation returns a deck's time zone (UTC when unset).
func (d *Deck) DeckLocation() (*time.Location, error) {
	if d.TimeZone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(d.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("deck %q: timezone: %w", d.Name, err)
	}
	return loc, nil
}

// DeckDir returns a CGRateS deck's directory (format: cgrates).
func (c *Config) DeckDir(d Deck) (fs.FS, error) {
	if filepath.IsAbs(d.File) {
		return os.DirFS(d.File), nil
	}
	sub, err := fs.Sub(c.files, filepath.ToSlash(d.File))
	if err != nil {
		return nil, fmt.Errorf("config: deck %q: %w", d.Name, err)
	}
	return sub, nil
}

func (c *Config) validateRating(decks, trunks map[string]bool) error {
	for i, d := range c.Decks {
		switch d.Format {
		case "", "carrier", "cgrates":
		default:
			return fmt.Errorf("deck %q: format %q: want carrier or cgrates", d.Name, d.Format)
		}
		if _, err := c.Decks[i].DeckLocation(); err != nil {
			return err
		}
	}
	r := &c.Rating
	if _, err := r.ReportingLocation(); err != nil {
		return err
	}
	for pair, v := range r.ExchangeRates {
		from, to, ok := strings.Cut(pair, "/")
		if !ok || len(from) != 3 || len(to) != 3 || v == "" {
			return fmt.Errorf("rating.exchange_rates: %q: %q: want \"USD/EUR\": \"0.92\"", pair, v)
		}
	}
	seen := map[string]bool{}
	for i, cu := range r.Customers {
		if cu.Name == "" {
			return fmt.Errorf("rating.customers[%d]: name is empty", i)
		}
		if seen[cu.Name] {
			return fmt.Errorf("rating.customers[%d]: duplicate customer %q", i, cu.Name)
		}
		seen[cu.Name] = true
		if cu.Deck == "" || !decks[cu.Deck] {
			return fmt.Errorf("customer %q: deck %q is not defined under decks", cu.Name, cu.Deck)
		}
		for _, t := range cu.Trunks {
			if !trunks[t] {
				return fmt.Errorf("customer %q: trunk %q is not defined under trunks", cu.Name, t)
			}
		}
		if len(cu.Trunks) == 0 && len(cu.Callers) == 0 {
			return fmt.Errorf("customer %q: needs trunks or callers to recognise its calls", cu.Name)
		}
	}
	for i, f := range r.ChannelFees {
		if !trunks[f.Trunk] {
			return fmt.Errorf("rating.channel_fees[%d]: trunk %q is not defined under trunks", i, f.Trunk)
		}
		if f.MonthlyPerChannel == "" {
			return fmt.Errorf("rating.channel_fees[%d]: monthly_per_channel is empty", i)
		}
	}
	return nil
}
