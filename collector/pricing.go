package collector

import (
	"fmt"
	"strings"

	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/rating"
)

// Rated is a rated CDR: a projection of a CDR and a deck version.
type Rated struct {
	CallID      string
	Leg         uint8
	Side        string // cost: what the trunk's carrier charges us
	Trunk       string
	StartUS     int64
	Deck        string
	DeckVersion string
	Prefix      string
	Destination string
	BillableS   uint32
	Amount      rating.Amount
	Currency    string
	Version     uint64
}

// Row returns the rated CDR in schema.RatedCDRColumns order.
func (r *Rated) Row() []any {
	return []any{r.CallID, r.Leg, r.Side, r.Trunk, usTime(r.StartUS), r.Deck, r.DeckVersion,
		r.Prefix, r.Destination, r.BillableS, r.Amount.Units, r.Amount.Decimals, r.Currency, r.Version}
}

// Pricing rates CDRs with each trunk's deck.
type Pricing struct {
	decks map[string]*rating.Deck // by trunk
}

// LoadPricing loads every deck the configuration names.
func LoadPricing(cfg *config.Config) (*Pricing, error) {
	byName := map[string]*rating.Deck{}
	for _, d := range cfg.Decks {
		opts := rating.DeckOptions{Name: d.Name, Currency: strings.ToUpper(d.Currency)}
		if d.Decimals != nil {
			opts.Decimals = uint8(*d.Decimals)
			if *d.Decimals == 0 {
				opts.Decimals = rating.ZeroDecimals
			}
		}
		if d.Rounding != "" {
			m, err := rating.ParseRoundingMode(d.Rounding)
			if err != nil {
				return nil, fmt.Errorf("deck %q: %w", d.Name, err)
			}
			opts.Rounding = m
		}
		f, err := cfg.OpenDeck(d)
		if err != nil {
			return nil, err
		}
		deck, err := rating.LoadDeck(f, opts)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.File, err)
		}
		byName[d.Name] = deck
	}
	p := &Pricing{decks: map[string]*rating.Deck{}}
	for _, t := range cfg.Trunks {
		if t.Deck != "" {
			p.decks[t.Name] = byName[t.Deck]
		}
	}
	return p, nil
}

// Rate prices a CDR on its trunk's deck. ok is false when the trunk has no
// deck; an error means the deck has no rate for the callee.
func (p *Pricing) Rate(c *CDR) (r Rated, ok bool, err error) {
	deck := p.decks[c.Trunk]
	if deck == nil {
		return r, false, nil
	}
	number := c.CalleeE164
	if number == "" {
		number = c.Callee
	}
	res, err := deck.Price(number, c.DurationMs)
	if err != nil {
		return r, true, err
	}
	return Rated{
		CallID: c.CallID, Leg: c.Leg, Side: "cost", Trunk: c.Trunk, StartUS: c.StartUS,
		Deck: deck.Name(), DeckVersion: res.DeckVersion, Prefix: res.Rate.Prefix,
		Destination: res.Rate.Destination, BillableS: uint32(res.BillableSeconds),
		Amount: res.Amount, Currency: res.Currency, Version: c.Version,
	}, true, nil
}
