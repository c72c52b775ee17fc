package collector

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/rating"
)

// Rated is a rated CDR row: a projection of a CDR and a deck version, one
// per side (cost: what the trunk's carrier charges us; price: what the
// customer is charged). Both rows of a call carry its cost, price and
// margin in the margin currency.
type Rated struct {
	CallID      string
	Leg         uint8
	Side        string // cost | price
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

	Customer   string
	Band       string
	Status     string // rated | unrated
	Reason     string // why unrated
	Number     string // the number rated (E.164 when known)
	DurationMs int64
	// BilledFromUS is the time the deck was applied at (the answer, or
	// the start of an unanswered attempt): with Number, DurationMs and the
	// deck version it reproduces the amount.
	BilledFromUS int64
	// Cost, Price and Margin (= Price - Cost) of the call at MarginDecimals
	// in MarginCurrency; the cost is converted with the configured exchange
	// rate when the decks' currencies differ.
	Cost, Price, Margin int64
	MarginDecimals      uint8
	MarginCurrency      string
}

// Row returns the rated CDR in schema.RatedCDRColumns order.
func (r *Rated) Row() []any {
	return []any{r.CallID, r.Leg, r.Side, r.Trunk, usTime(r.StartUS), r.Deck, r.DeckVersion,
		r.Prefix, r.Destination, r.BillableS, r.Amount.Units, r.Amount.Decimals, r.Currency, r.Version,
		r.Customer, r.Band, r.Status, r.Reason, r.Number, uint64(max(r.DurationMs, 0)), r.Cost, r.Price, r.Margin,
		r.MarginDecimals, r.MarginCurrency, uint64(max(r.BilledFromUS, 0))}
}

// Priced is one side's price of a call.
type Priced struct {
	Deck, Version, Prefix, Destination, Band string
	Billable                                 int64
	Amount                                   rating.Amount
	Currency                                 string
}

// Pricer prices a call on one deck: a carrier CSV deck or a CGRateS plan.
type Pricer interface {
	Name() string
	Currency() string
	Version() string
	// Price prices a call to number answered at startUS lasting durationMs;
	// subject selects a CGRateS rating profile (ignored by carrier decks).
	Price(number, subject string, startUS, durationMs int64) (Priced, error)
}

// DeckPricer prices on a carrier deck.
type DeckPricer struct{ D *rating.Deck }

func (p DeckPricer) Name() string     { return p.D.Name() }
func (p DeckPricer) Currency() string { return p.D.Currency() }
func (p DeckPricer) Version() string  { return p.D.Version() }
func (p DeckPricer) Price(number, _ string, startUS, durationMs int64) (Priced, error) {
	res, err := p.D.PriceAt(number, startUS, durationMs)
	if err != nil {
		return Priced{}, err
	}
	return Priced{Deck: p.D.Name(), Version: res.DeckVersion, Prefix: res.Rate.Prefix, Destination: res.Rate.Destination,
		Band: res.Band, Billable: res.BillableSeconds, Amount: res.Amount, Currency: res.Currency}, nil
}

// PlanPricer prices on a CGRateS tariff plan.
type PlanPricer struct {
	P                         *rating.TariffPlan
	Tenant, Category, Subject string
}

func (p PlanPricer) Name() string     { return p.P.Name() }
func (p PlanPricer) Currency() string { return p.P.Currency() }
func (p PlanPricer) Version() string  { return p.P.Version() }
func (p PlanPricer) Price(number, subject string, startUS, durationMs int64) (Priced, error) {
	if p.Subject != "" || subject == "" {
		subject = p.Subject
	}
	if subject == "" {
		subject = "*any"
	}
	c, err := p.P.Cost(p.Tenant, p.Category, subject, number, time.UnixMicro(startUS).UTC(), time.Duration(durationMs)*time.Millisecond)
	if err != nil {
		return Priced{}, err
	}
	band := ""
	if len(c.Spans) > 0 {
		band = c.Spans[0].Timing
	}
	return Priced{Deck: p.P.Name(), Version: p.P.Version(), Prefix: c.Prefix, Destination: c.Destination, Band: band,
		Billable: int64((c.Usage + time.Second - 1) / time.Second), Amount: c.Amount, Currency: p.P.Currency()}, nil
}

// Pricing rates CDRs: the buy side with each trunk's deck, the sell side
// with the deck of the customer the call belongs to.
type Pricing struct {
	decks     map[string]Pricer // by deck name
	cost      map[string]Pricer // by trunk
	customers []config.Customer
	fx        map[[2]string]rating.Nano
}

// LoadPricing loads every deck the configuration names.
func LoadPricing(cfg *config.Config) (*Pricing, error) {
	byName := map[string]Pricer{}
	for _, d := range cfg.Decks {
		p, err := LoadDeck(cfg, d)
		if err != nil {
			return nil, err
		}
		byName[d.Name] = p
	}
	return NewPricing(cfg, byName)
}

// LoadDeck loads one configured deck.
func LoadDeck(cfg *config.Config, d config.Deck) (Pricer, error) {
	loc, err := d.DeckLocation()
	if err != nil {
		return nil, err
	}
	if d.Format == "cgrates" {
		dir, err := cfg.DeckDir(d)
		if err != nil {
			return nil, err
		}
		p, err := rating.LoadTariffPlan(dir, rating.TariffPlanOptions{Name: d.Name, Currency: d.Currency, Location: loc, RoundingDecimals: cgrDecimals(d)})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.File, err)
		}
		return PlanPricer{P: p, Tenant: d.Tenant, Category: d.Category, Subject: d.Subject}, nil
	}
	opts, err := DeckOptions(d)
	if err != nil {
		return nil, err
	}
	f, err := cfg.OpenDeck(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	deck, err := rating.LoadDeck(f, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.File, err)
	}
	return DeckPricer{deck}, nil
}

// cgrDecimals is a CGRateS deck's general.rounding_decimals: its
// configured decimals, else CGRateS's default.
func cgrDecimals(d config.Deck) int {
	if d.Decimals != nil {
		return *d.Decimals
	}
	return 0
}

// CGRDecimals is cgrDecimals for the rate commands.
func CGRDecimals(d config.Deck) int { return cgrDecimals(d) }

// DeckOptions turns a configured carrier deck into load options.
func DeckOptions(d config.Deck) (rating.DeckOptions, error) {
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
			return opts, fmt.Errorf("deck %q: %w", d.Name, err)
		}
		opts.Rounding = m
	}
	loc, err := d.DeckLocation()
	if err != nil {
		return opts, err
	}
	opts.Location = loc
	for _, name := range sortedKeys(d.Bands) {
		b, err := rating.ParseBand(name, d.Bands[name])
		if err != nil {
			return opts, fmt.Errorf("deck %q: %w", d.Name, err)
		}
		opts.Bands = append(opts.Bands, b)
	}
	return opts, nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}

// NewPricing builds the pricing from loaded decks (by deck name), e.g. the
// configured files overlaid with the latest imported versions. A customer
// whose deck currency differs from a buy deck's without a configured
// exchange rate is refused: its margins could not be computed.
func NewPricing(cfg *config.Config, decks map[string]Pricer) (*Pricing, error) {
	p := &Pricing{decks: decks, cost: map[string]Pricer{}, customers: cfg.Rating.Customers, fx: map[[2]string]rating.Nano{}}
	for _, t := range cfg.Trunks {
		if t.Deck != "" {
			p.cost[t.Name] = decks[t.Deck]
		}
	}
	for pair, v := range cfg.Rating.ExchangeRates {
		from, to, _ := strings.Cut(strings.ToUpper(pair), "/")
		r, err := rating.ParseNano(v)
		if err != nil || r == 0 {
			return nil, fmt.Errorf("rating.exchange_rates %q: %q: want a positive decimal", pair, v)
		}
		p.fx[[2]string{from, to}] = r
		if _, ok := p.fx[[2]string{to, from}]; !ok {
			// 1/r to 9 decimals, half up.
			p.fx[[2]string{to, from}] = rating.Nano((rating.NanoPerUnit*rating.NanoPerUnit + int64(r)/2) / int64(r))
		}
	}
	for _, cu := range cfg.Rating.Customers {
		sell := decks[cu.Deck]
		if sell == nil {
			return nil, fmt.Errorf("customer %q: deck %q not loaded", cu.Name, cu.Deck)
		}
		for trunk, buy := range p.cost {
			if buy == nil || buy.Currency() == sell.Currency() {
				continue
			}
			if _, ok := p.fx[[2]string{buy.Currency(), sell.Currency()}]; !ok {
				return nil, fmt.Errorf("customer %q is billed in %s but trunk %q costs %s: margins across currencies need rating.exchange_rates \"%s/%s\"",
					cu.Name, sell.Currency(), trunk, buy.Currency(), buy.Currency(), sell.Currency())
			}
		}
	}
	return p, nil
}

// Deck returns a loaded deck by name.
func (p *Pricing) Deck(name string) Pricer { return p.decks[name] }

// Decks returns the loaded decks by name.
func (p *Pricing) Decks() map[string]Pricer { return p.decks }

// Customer returns the customer a CDR belongs to: the one whose inbound
// trunk carried it, else the one whose caller prefix matches longest.
func (p *Pricing) Customer(c *CDR) *config.Customer {
	for i := range p.customers {
		for _, t := range p.customers[i].Trunks {
			if t == c.Trunk {
				return &p.customers[i]
			}
		}
	}
	caller := strings.TrimPrefix(c.CallerE164, "+")
	if caller == "" {
		caller = strings.TrimPrefix(c.Caller, "+")
	}
	var best *config.Customer
	bestLen := 0
	for i := range p.customers {
		for _, pre := range p.customers[i].Callers {
			pre = strings.TrimPrefix(pre, "+")
			if len(pre) > bestLen && strings.HasPrefix(caller, pre) {
				best, bestLen = &p.customers[i], len(pre)
			}
		}
	}
	return best
}

// ErrNoDeck marks a CDR with neither a buy nor a sell deck: not rated at
// all (internal calls, unconfigured trunks).
var ErrNoDeck = errors.New("no deck for this call")

// Rate prices a CDR on both sides and appends its rows (0, 1 or 2) to buf.
// A side whose deck has no rate for the number gives an 'unrated' row with
// the reason. unrated counts those rows.
func (p *Pricing) Rate(c *CDR, buf []Rated) (rows []Rated, unrated int) {
	rows = buf
	first := len(rows)
	number := c.CalleeE164
	if number == "" {
		number = c.Callee
	}
	start := c.AnswerUS
	if start == 0 {
		start = c.StartUS
	}
	cust := p.Customer(c)
	custName := ""
	if cust != nil {
		custName = cust.Name
	}
	side := func(name string, pr Pricer, subject string) (Rated, bool) {
		r := Rated{CallID: c.CallID, Leg: c.Leg, Side: name, Trunk: c.Trunk, StartUS: c.StartUS, Version: c.Version,
			Customer: custName, Number: number, DurationMs: c.DurationMs, BilledFromUS: start, Status: "rated", Deck: pr.Name(),
			DeckVersion: pr.Version(), Currency: pr.Currency()}
		res, err := pr.Price(number, subject, start, c.DurationMs)
		if err != nil {
			r.Status, r.Reason = "unrated", err.Error()
			return r, false
		}
		r.DeckVersion, r.Prefix, r.Destination, r.Band = res.Version, res.Prefix, res.Destination, res.Band
		r.BillableS, r.Amount = uint32(min(res.Billable, 1<<32-1)), res.Amount
		return r, true
	}
	var costRow, priceRow *Rated
	if pr := p.cost[c.Trunk]; pr != nil {
		r, ok := side("cost", pr, "")
		if !ok {
			unrated++
		}
		rows = append(rows, r)
		costRow = &rows[len(rows)-1]
	}
	if cust != nil {
		if pr := p.decks[cust.Deck]; pr != nil {
			r, ok := side("price", pr, cust.Name)
			if !ok {
				unrated++
			}
			rows = append(rows, r)
			priceRow = &rows[len(rows)-1]
			if costRow != nil {
				costRow = &rows[first] // append may have moved it
			}
		}
	}
	if err := p.margin(costRow, priceRow); err != nil {
		for i := first; i < len(rows); i++ {
			if rows[i].Status == "rated" {
				rows[i].Status, rows[i].Reason = "unrated", err.Error()
				unrated++
			}
		}
	}
	return rows, unrated
}

// margin fills cost, price and margin on both rows of a call.
func (p *Pricing) margin(cost, price *Rated) error {
	if cost == nil && price == nil {
		return nil
	}
	ref := price
	if ref == nil {
		ref = cost
	}
	cur := ref.Currency
	dec := uint8(0)
	for _, r := range []*Rated{cost, price} {
		if r != nil {
			dec = max(dec, r.Amount.Decimals)
		}
	}
	var c, pr int64
	if cost != nil && cost.Status == "rated" {
		rate := rating.Nano(rating.NanoPerUnit)
		if cost.Currency != cur {
			var ok bool
			if rate, ok = p.fx[[2]string{cost.Currency, cur}]; !ok {
				return fmt.Errorf("margin: no exchange rate %s/%s configured", cost.Currency, cur)
			}
		}
		a, err := rating.Convert(cost.Amount, rate, dec)
		if err != nil {
			return fmt.Errorf("margin: %w", err)
		}
		c = a.Units
	}
	if price != nil && price.Status == "rated" {
		a, err := rating.Rescale(price.Amount, dec)
		if err != nil {
			return fmt.Errorf("margin: %w", err)
		}
		pr = a.Units
	}
	for _, r := range []*Rated{cost, price} {
		if r != nil {
			r.Cost, r.Price, r.Margin, r.MarginDecimals, r.MarginCurrency = c, pr, pr-c, dec, cur
		}
	}
	return nil
}
