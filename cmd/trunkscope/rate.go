package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/rating"
	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store"
)

func ratedColumns() []string { return schema.RatedCDRColumns }

// zoned re-reads date-only --from/--to values as midnight in the reporting
// zone, so "--from 2026-11-01" is the first day of November as finance
// counts it.
func zoned(rng timeRange, from, to time.Time, loc *time.Location) (time.Time, time.Time) {
	if t, err := time.ParseInLocation("2006-01-02", rng.from, loc); err == nil {
		from = t
	}
	if t, err := time.ParseInLocation("2006-01-02", rng.to, loc); err == nil {
		to = t
	}
	return from, to
}

const rateUsage = "import|quote|close|rerate|export|summary [flags]"

func cmdRate(e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(e.stdout, `Usage: trunkscope rate %s

  import FILE|DIR --deck NAME [--format carrier|cgrates]   store a deck version (refused on bad rows unless --skip-invalid)
  quote --deck NAME --destination NUMBER --start TIME --duration DUR [--subject S]   price one call and show how
  close --period 2026-11      freeze a billing period: re-rating it writes adjustment lines
  rerate --from --to [--deck NAME] [--reason TEXT]   re-price a period after a deck correction, print the diff
  export --from --to --format csv|jsonl   every rated row with deck, version, prefix, billable and amount
  summary --by customer|carrier|destination|day --from --to   totals that reconcile to the rated rows

Run 'trunkscope rate SUBCOMMAND --help' for its flags.
`, rateUsage)
		if len(args) == 0 {
			return usagef("missing subcommand")
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "import":
		return rateImport(e, rest)
	case "quote":
		return rateQuote(e, rest)
	case "close":
		return rateClose(e, rest)
	case "rerate":
		return rateRerate(e, rest)
	case "export":
		return rateExport(e, rest)
	case "summary":
		return rateSummary(e, rest)
	}
	return usagef("unknown rate subcommand %q (want import, quote, close, rerate, export or summary)", sub)
}

type bandFlags map[string]string

func (b bandFlags) String() string { return "" }
func (b bandFlags) Set(s string) error {
	name, spec, ok := strings.Cut(s, "=")
	if !ok {
		return errors.New(`want NAME=SPEC, e.g. peak="Mon-Fri 08:00-18:00"`)
	}
	b[name] = spec
	return nil
}

func rateImport(e *env, args []string) error {
	fs := flagSet(e, "rate import", "FILE|DIR --deck NAME [flags]", `Validates a rate deck and stores it as a new deck version (an event in ClickHouse:
the exact bytes plus the options). A carrier deck is one CSV; a CGRateS tariff
plan is a directory of Destinations, Rates, DestinationRates, Timings,
RatingPlans and RatingProfiles CSVs. Every bad row is listed with its line;
the whole import is refused unless --skip-invalid. Options default to the
deck's entry in the configuration.`)
	var c common
	c.register(fs)
	name := fs.String("deck", "", "deck name (required)")
	format := fs.String("format", "", "carrier or cgrates (default: the configured format, else carrier)")
	currency := fs.String("currency", "", "ISO 4217 currency (default: configured, else EUR)")
	decimals := fs.Int("decimals", -1, "decimals amounts are rounded to (default: configured, else 4)")
	tz := fs.String("timezone", "", "the deck's time zone for dates and bands (default: configured, else UTC)")
	skip := fs.Bool("skip-invalid", false, "import the valid rows of a deck with bad rows")
	bands := bandFlags{}
	fs.Var(bands, "band", `band definition NAME=SPEC (repeatable), e.g. peak="Mon-Fri 08:00-18:00"`)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *name == "" {
		return usagef("usage: trunkscope rate import FILE|DIR --deck NAME")
	}
	cfg, err := config.Load(c.config)
	if err != nil {
		return err
	}
	d := config.Deck{Name: *name}
	for _, cd := range cfg.Decks {
		if cd.Name == *name {
			d = cd
		}
	}
	if *format != "" {
		d.Format = *format
	}
	if d.Format != "" && d.Format != "carrier" && d.Format != "cgrates" {
		return usagef("--format %q: want carrier or cgrates", d.Format)
	}
	if *currency != "" {
		d.Currency = *currency
	}
	if *decimals >= 0 {
		d.Decimals = decimals
	}
	if *tz != "" {
		d.TimeZone = *tz
	}
	if len(bands) > 0 {
		d.Bands = bands
	}
	files, err := deckFiles(fs.Arg(0), d.Format)
	if err != nil {
		return err
	}
	start := time.Now()
	last := time.Now()
	progress := func(done, total int64) {
		if time.Since(last) > 200*time.Millisecond || done == total {
			fmt.Fprintf(e.stderr, "\rimporting %s: %3d%%", *name, done*100/max(total, 1))
			last = time.Now()
		}
	}
	p, skipped, err := loadPricer(d, files, *skip, progress)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return err
	}
	for _, s := range skipped {
		fmt.Fprintf(e.stderr, "skipped: %v\n", s)
	}
	ctx := context.Background()
	s, err := openStack(ctx, cfg, c.data, false, e.log)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := storeImport(ctx, s.st, s.db(), d, p, files, time.Now()); err != nil {
		return err
	}
	n := 0
	if dp, ok := p.(collector.DeckPricer); ok {
		n = dp.D.Len()
	}
	fmt.Fprintf(e.stdout, "deck %s version %s imported (%s, %d rows, %d skipped) in %s\n", *name, p.Version(), p.Currency(), n, len(skipped), time.Since(start).Round(time.Millisecond))
	return nil
}

func rateQuote(e *env, args []string) error {
	fs := flagSet(e, "rate quote", "--deck NAME --destination NUMBER --start TIME --duration DUR [flags]", `Prices one call on a deck (the latest imported version, else the configured
file) and prints how the cost was built: prefix, band or timing, increments.`)
	var c common
	c.register(fs)
	name := fs.String("deck", "", "deck name (required)")
	dest := fs.String("destination", "", "called number, E.164 (required)")
	startS := fs.String("start", "", "answer time, RFC 3339 or 2026-11-03T08:00:00 (UTC)")
	dur := fs.Duration("duration", time.Minute, "call duration, e.g. 1m25s")
	subject := fs.String("subject", "", "CGRateS subject (account) selecting the rating profile")
	tenant := fs.String("tenant", "", "CGRateS tenant (default: the plan's only tenant)")
	category := fs.String("category", "call", "CGRateS category")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *dest == "" {
		return usagef("--deck and --destination are required")
	}
	start, err := parseTime(*startS, time.Now().UTC())
	if err != nil {
		return usagef("--start: %v", err)
	}
	ctx := context.Background()
	s, err := c.open(ctx, e, false)
	if err != nil {
		return err
	}
	defer s.Close()
	p, err := currentPricing(ctx, s.cfg, s.st, s.db())
	if err != nil {
		return err
	}
	pr := p.Deck(*name)
	if pr == nil {
		return fmt.Errorf("no deck %q (configured or imported)", *name)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	switch v := pr.(type) {
	case collector.DeckPricer:
		res, segs, err := v.D.Explain(*dest, start.UnixMicro(), dur.Milliseconds())
		if err != nil {
			return err
		}
		r := res.Rate
		fmt.Fprintf(w, "deck\t%s version %s (%s, %d decimals, %s)\n", v.D.Name(), res.DeckVersion, res.Currency, v.D.Decimals(), v.D.Rounding())
		fmt.Fprintf(w, "prefix\t%s %s\n", r.Prefix, r.Destination)
		fmt.Fprintf(w, "increments\t%d/%d, minimum %d s, connect fee %s\n", r.Initial, r.Subsequent, r.MinDuration, r.ConnectFee)
		fmt.Fprintf(w, "billable\t%d s of %s\n", res.BillableSeconds, *dur)
		for _, sg := range segs {
			band := sg.Band
			if band == "" {
				band = "(all times)"
			}
			tier := ""
			if sg.TierFrom > 0 {
				tier = fmt.Sprintf("  tier from %d s", sg.TierFrom)
			}
			fmt.Fprintf(w, "segment\t%s  %d s  band %s%s  %s/min\n", sg.Start.Format(time.RFC3339), sg.Seconds, band, tier, sg.PerMinute)
		}
		fmt.Fprintf(w, "cost\t%s %s\n", res.Amount, res.Currency)
	case collector.PlanPricer:
		subj := *subject
		if subj == "" {
			subj = v.Subject
		}
		if subj == "" {
			subj = "*any"
		}
		ten := *tenant
		if ten == "" {
			ten = v.Tenant
		}
		cost, err := v.P.Cost(ten, *category, subj, *dest, start, *dur)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "plan\t%s version %s (%s), subject %s\n", v.P.Name(), v.P.Version(), v.P.Currency(), subj)
		fmt.Fprintf(w, "prefix\t%s (%s) on %s\n", cost.Prefix, cost.Destination, cost.Plan)
		fmt.Fprintf(w, "usage\t%s rated as %s\n", *dur, cost.Usage)
		fmt.Fprintf(w, "connect fee\t%s\n", cost.ConnectFee)
		for _, sp := range cost.Spans {
			fmt.Fprintf(w, "span\t%s  %s  %s/%s %s  timing %s  %d x %s (increment %s) = %s\n", sp.Start.Format(time.RFC3339), sp.Duration,
				sp.Rate, sp.RateUnit, sp.DestRate, sp.Timing, sp.Increments, sp.IncrementCost, sp.Increment, sp.Cost)
		}
		if cost.MaxCostHit {
			fmt.Fprintf(w, "max cost\treached (*free)\n")
		}
		fmt.Fprintf(w, "cost\t%s %s\n", cost.Amount, v.P.Currency())
	}
	return nil
}

func rateClose(e *env, args []string) error {
	fs := flagSet(e, "rate close", "--period YYYY-MM [flags]", `Freezes a billing period (a month in the reporting zone): its rated rows no longer
change; re-rating it writes adjustment lines with their reasons instead.`)
	var c common
	c.register(fs)
	per := fs.String("period", "", "period to close, e.g. 2026-11 (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if _, err := time.Parse("2006-01", *per); err != nil {
		return usagef("--period %q: want YYYY-MM", *per)
	}
	ctx := context.Background()
	s, err := c.open(ctx, e, false)
	if err != nil {
		return err
	}
	defer s.Close()
	now := time.Now()
	if err := s.st.Insert(ctx, s.db()+".rating_periods", []string{"period", "state", "closed_at", "ver"},
		[][]any{{*per, "closed", now.UTC(), uint64(now.UnixMicro())}}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "period %s closed\n", *per)
	return nil
}

func rateRerate(e *env, args []string) error {
	fs := flagSet(e, "rate rerate", "--from TIME --to TIME [flags]", `Re-prices the CDRs started in [--from, --to) with the current decks (latest
imports over the configured files) and prints what changed: calls changed, old
and new totals per carrier and customer. Rows of open periods are rewritten;
closed periods get adjustment lines. Running it twice changes nothing.`)
	var c common
	c.register(fs)
	var rng timeRange
	rng.register(fs)
	deck := fs.String("deck", "", "only rows priced on this deck")
	reason := fs.String("reason", "", "reason recorded on adjustment lines")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, from, to, err := c.openRange(e, &rng)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	p, err := currentPricing(ctx, s.cfg, s.st, s.db())
	if err != nil {
		return err
	}
	loc, err := s.cfg.Rating.ReportingLocation()
	if err != nil {
		return err
	}
	from, to = zoned(rng, from, to, loc)
	d, err := rerateProgress(ctx, s.st, s.db(), p, loc, from, to, *deck, *reason, time.Now(), func(day time.Time, calls int) {
		fmt.Fprintf(e.stderr, "\rre-rating: %s done, %d calls", day.In(loc).Format("2006-01-02 15:04"), calls)
	})
	fmt.Fprintln(e.stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d calls re-priced, %d changed, %d adjustment lines\n", d.Calls, d.Changed, d.Adjusted)
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "side\tcarrier/customer\tcurrency\told\tnew\t")
	all := map[string]rating.Amount{}
	for k := range d.Old {
		all[k] = rating.Amount{}
	}
	for k := range d.New {
		all[k] = rating.Amount{}
	}
	for _, k := range sortedAmountKeys(all) {
		parts := strings.SplitN(k, ":", 3)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t\n", parts[0], parts[1], parts[2], d.Old[k], d.New[k])
	}
	return w.Flush()
}

// exportRatedColumns are `rate export`'s columns: everything needed to
// reproduce each figure from the deck version.
var exportRatedColumns = []string{"call_id", "leg", "side", "status", "reason", "trunk", "customer", "start_time",
	"number", "billed_from", "duration_ms", "deck", "deck_version", "prefix", "destination", "band", "billable_s", "amount", "currency",
	"cost", "price", "margin", "margin_currency"}

func rateExport(e *env, args []string) error {
	fs := flagSet(e, "rate export", "--from TIME --to TIME [--format csv|jsonl]", `Writes every rated row (cost and price sides, unrated rows with their reason)
of calls started in [--from, --to), then the adjustment lines of closed periods.
Each row names the deck, deck version, prefix, number, duration and billable
seconds its amount was computed from.`)
	var c common
	c.register(fs)
	var rng timeRange
	rng.register(fs)
	format := fs.String("format", "csv", "csv or jsonl")
	var f exportFilter
	fs.StringVar(&f.customer, "customer", "", "only this customer's calls")
	fs.StringVar(&f.trunk, "trunk", "", "only calls on this trunk (carrier)")
	fs.StringVar(&f.deck, "deck", "", "only rows priced on this deck")
	fs.StringVar(&f.side, "side", "", "cost or price")
	fs.StringVar(&f.status, "status", "", "rated or unrated")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *format != "csv" && *format != "jsonl" {
		return usagef("--format %q: want csv or jsonl", *format)
	}
	s, from, to, err := c.openRange(e, &rng)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	if loc, err := s.cfg.Rating.ReportingLocation(); err == nil {
		from, to = zoned(rng, from, to, loc)
	}
	w := bufio.NewWriterSize(e.stdout, 1<<16)
	if err := exportRated(ctx, s.st, s.db(), from, to, *format, w, f); err != nil {
		return err
	}
	return w.Flush()
}

// exportFilter narrows `rate export`; empty fields match everything.
type exportFilter struct{ customer, trunk, deck, side, status string }

func (f exportFilter) where(adjustments bool) string {
	var b strings.Builder
	add := func(col, v string) {
		if v != "" {
			b.WriteString(" AND " + col + " = " + store.Quote(v))
		}
	}
	add("customer", f.customer)
	add("trunk", f.trunk)
	add("deck", f.deck)
	add("side", f.side)
	if !adjustments {
		add("status", f.status)
	}
	return b.String()
}

func exportRated(ctx context.Context, st store.Store, db string, from, to time.Time, format string, w io.Writer, f exportFilter) error {
	rng := fmt.Sprintf("start_time >= toDateTime(%d) AND start_time < toDateTime(%d)", from.Unix(), to.Unix())
	r, err := st.Query(ctx, `SELECT call_id, leg, side, status, reason, trunk, customer, toUnixTimestamp(start_time) AS ts, number,
		billed_from_us, duration_ms, deck, deck_version, prefix, destination, band, billable_s, amount, decimals, currency, cost, price, margin,
		margin_decimals, margin_currency FROM `+db+`.rated_cdrs FINAL WHERE `+rng+f.where(false)+` ORDER BY start_time, call_id, leg, side`)
	if err != nil {
		return fmt.Errorf("rate export: %w", err)
	}
	cw := csv.NewWriter(w)
	if format == "csv" {
		if err := cw.Write(exportRatedColumns); err != nil {
			return err
		}
	}
	for i := range r.Data {
		dec := uint8(r.Int(i, "decimals"))
		mdec := uint8(r.Int(i, "margin_decimals"))
		vals := []string{r.String(i, "call_id"), strconv.FormatInt(r.Int(i, "leg"), 10), r.String(i, "side"), r.String(i, "status"),
			r.String(i, "reason"), r.String(i, "trunk"), r.String(i, "customer"),
			time.Unix(r.Int(i, "ts"), 0).UTC().Format(time.RFC3339), r.String(i, "number"),
			time.UnixMicro(int64(r.Uint(i, "billed_from_us"))).UTC().Format(time.RFC3339Nano), strconv.FormatInt(r.Int(i, "duration_ms"), 10),
			r.String(i, "deck"), r.String(i, "deck_version"), r.String(i, "prefix"), r.String(i, "destination"), r.String(i, "band"),
			strconv.FormatInt(r.Int(i, "billable_s"), 10), rating.Amount{Units: r.Int(i, "amount"), Decimals: dec}.String(), r.String(i, "currency"),
			rating.Amount{Units: r.Int(i, "cost"), Decimals: mdec}.String(), rating.Amount{Units: r.Int(i, "price"), Decimals: mdec}.String(),
			rating.Amount{Units: r.Int(i, "margin"), Decimals: mdec}.String(), r.String(i, "margin_currency")}
		if err := writeRow(cw, w, format, exportRatedColumns, vals); err != nil {
			return err
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	a, err := st.Query(ctx, `SELECT period, call_id, leg, side, trunk, customer, toUnixTimestamp(start_time) AS ts, deck, old_version, new_version,
		old_amount, new_amount, delta, decimals, currency, reason FROM `+db+`.rating_adjustments FINAL WHERE `+rng+f.where(true)+` ORDER BY start_time, call_id, leg, side, ver`)
	if err != nil {
		return fmt.Errorf("rate export: adjustments: %w", err)
	}
	adjCols := []string{"adjustment_period", "call_id", "leg", "side", "trunk", "customer", "start_time", "deck", "old_version", "new_version",
		"old_amount", "new_amount", "delta", "currency", "reason"}
	if format == "csv" && len(a.Data) > 0 {
		cw.Flush()
		if err := cw.Write(adjCols); err != nil {
			return err
		}
	}
	for i := range a.Data {
		dec := uint8(a.Int(i, "decimals"))
		vals := []string{a.String(i, "period"), a.String(i, "call_id"), strconv.FormatInt(a.Int(i, "leg"), 10), a.String(i, "side"),
			a.String(i, "trunk"), a.String(i, "customer"), time.Unix(a.Int(i, "ts"), 0).UTC().Format(time.RFC3339), a.String(i, "deck"),
			a.String(i, "old_version"), a.String(i, "new_version"), rating.Amount{Units: a.Int(i, "old_amount"), Decimals: dec}.String(),
			rating.Amount{Units: a.Int(i, "new_amount"), Decimals: dec}.String(), rating.Amount{Units: a.Int(i, "delta"), Decimals: dec}.String(),
			a.String(i, "currency"), a.String(i, "reason")}
		if err := writeRow(cw, w, format, adjCols, vals); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return a.Err()
}

func writeRow(cw *csv.Writer, w io.Writer, format string, cols, vals []string) error {
	if format == "csv" {
		return cw.Write(vals)
	}
	m := make(map[string]string, len(cols))
	for i, c := range cols {
		m[c] = vals[i]
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// summaryLine is one line of `rate summary`.
type summaryLine struct {
	Key, Side, Kind, Currency string
	Calls, Billable           int64
	Amount                    rating.Amount
}

// summarize groups the rated rows (plus adjustment lines and channel
// fees) of [from, to) by customer, carrier, destination or day (in loc).
func summarize(ctx context.Context, st store.Store, db string, cfg *config.Config, by string, from, to time.Time, loc *time.Location) ([]summaryLine, error) {
	rng := fmt.Sprintf("start_time >= toDateTime(%d) AND start_time < toDateTime(%d)", from.Unix(), to.Unix())
	r, err := st.Query(ctx, `SELECT side, trunk, customer, destination, currency, decimals, toUnixTimestamp(toStartOfFifteenMinutes(start_time)) AS q,
		count() AS n, sum(amount) AS amount, sum(billable_s) AS billable FROM `+db+`.rated_cdrs FINAL WHERE status = 'rated' AND `+rng+`
		GROUP BY side, trunk, customer, destination, currency, decimals, q`)
	if err != nil {
		return nil, fmt.Errorf("rate summary: %w", err)
	}
	key := func(trunk, customer, dest string, q int64) string {
		switch by {
		case "customer":
			return customer
		case "carrier":
			return trunk
		case "destination":
			return dest
		}
		return time.Unix(q, 0).In(loc).Format("2006-01-02")
	}
	lines := map[[4]string]*summaryLine{}
	add := func(k, side, kind, cur string, n, billable int64, a rating.Amount) {
		id := [4]string{k, side, kind, cur}
		l := lines[id]
		if l == nil {
			l = &summaryLine{Key: k, Side: side, Kind: kind, Currency: cur, Amount: rating.Amount{Decimals: a.Decimals}}
			lines[id] = l
		}
		l.Calls += n
		l.Billable += billable
		dec := max(l.Amount.Decimals, a.Decimals)
		l.Amount = rating.Amount{Units: mustRescale(l.Amount, dec).Units + mustRescale(a, dec).Units, Decimals: dec}
	}
	for i := range r.Data {
		add(key(r.String(i, "trunk"), r.String(i, "customer"), r.String(i, "destination"), r.Int(i, "q")), r.String(i, "side"), "calls",
			r.String(i, "currency"), r.Int(i, "n"), r.Int(i, "billable"), rating.Amount{Units: r.Int(i, "amount"), Decimals: uint8(r.Int(i, "decimals"))})
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	a, err := st.Query(ctx, `SELECT side, trunk, customer, deck, currency, decimals, toUnixTimestamp(toStartOfFifteenMinutes(start_time)) AS q,
		count() AS n, sum(delta) AS delta FROM `+db+`.rating_adjustments FINAL WHERE `+rng+` GROUP BY side, trunk, customer, deck, currency, decimals, q`)
	if err != nil {
		return nil, fmt.Errorf("rate summary: adjustments: %w", err)
	}
	for i := range a.Data {
		add(key(a.String(i, "trunk"), a.String(i, "customer"), "", a.Int(i, "q")), a.String(i, "side"), "adjustment",
			a.String(i, "currency"), a.Int(i, "n"), 0, rating.Amount{Units: a.Int(i, "delta"), Decimals: uint8(a.Int(i, "decimals"))})
	}
	if by == "carrier" || by == "day" {
		fees, err := channelFees(cfg, from, to, loc)
		if err != nil {
			return nil, err
		}
		for _, f := range fees {
			k := f.trunk
			if by == "day" {
				k = f.day
			}
			add(k, "cost", "channel fee "+f.trunk, f.currency, 0, 0, f.amount)
		}
	}
	out := make([]summaryLine, 0, len(lines))
	for _, l := range lines {
		out = append(out, *l)
	}
	sortLines(out)
	return out, a.Err()
}

func sortLines(ls []summaryLine) {
	less := func(a, b summaryLine) bool {
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		if a.Side != b.Side {
			return a.Side < b.Side
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Currency < b.Currency
	}
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && less(ls[j], ls[j-1]); j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

type feeLine struct {
	trunk, day, currency string
	amount               rating.Amount
}

// channelFees prorates each trunk's monthly per-channel fee per day of
// [from, to) in the reporting zone: fee * channels / days in that month,
// at 4 decimals, rounded half up per day.
func channelFees(cfg *config.Config, from, to time.Time, loc *time.Location) ([]feeLine, error) {
	channels := map[string]int{}
	for _, t := range cfg.Trunks {
		channels[t.Name] = t.Channels
	}
	var out []feeLine
	for _, f := range cfg.Rating.ChannelFees {
		fee, err := rating.ParseNano(f.MonthlyPerChannel)
		if err != nil {
			return nil, fmt.Errorf("channel fee of %s: %w", f.Trunk, err)
		}
		cur := strings.ToUpper(f.Currency)
		if cur == "" {
			cur = rating.DefaultCurrency
		}
		lf, lt := from.In(loc), to.In(loc)
		day := time.Date(lf.Year(), lf.Month(), lf.Day(), 0, 0, 0, 0, loc)
		if to.Sub(from) > 3700*24*time.Hour {
			return nil, errors.New("channel fees: give --from and --to (at most ten years)")
		}
		for ; day.Before(lt); day = day.AddDate(0, 0, 1) {
			dim := time.Date(day.Year(), day.Month()+1, 0, 0, 0, 0, 0, loc).Day()
			// fee (Nano) * channels / dim, in units of 4 decimals.
			a, err := rating.Convert(rating.Amount{Units: int64(channels[f.Trunk]), Decimals: 0}, fee, 9)
			if err != nil {
				return nil, err
			}
			per, err := rating.Convert(rating.Amount{Units: (a.Units + int64(dim)/2) / int64(dim), Decimals: 9}, rating.NanoPerUnit, 4)
			if err != nil {
				return nil, err
			}
			out = append(out, feeLine{trunk: f.Trunk, day: day.Format("2006-01-02"), currency: cur, amount: per})
		}
	}
	return out, nil
}

func rateSummary(e *env, args []string) error {
	fs := flagSet(e, "rate summary", "--by customer|carrier|destination|day [flags]", `Totals of the rated rows of calls started in [--from, --to), grouped by
customer, carrier (trunk), destination or day (in rating.reporting_zone), per
side (cost/price) and currency; adjustment lines of closed periods and channel
fees (carrier and day views) are lines of their own. The totals equal the sum
of 'rate export' to the smallest currency unit.`)
	var c common
	c.register(fs)
	var rng timeRange
	rng.register(fs)
	by := fs.String("by", "carrier", "customer, carrier, destination or day")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch *by {
	case "customer", "carrier", "destination", "day":
	default:
		return usagef("--by %q: want customer, carrier, destination or day", *by)
	}
	s, from, to, err := c.openRange(e, &rng)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	loc, err := s.cfg.Rating.ReportingLocation()
	if err != nil {
		return err
	}
	if *by == "carrier" || *by == "day" {
		if rng.from == "" || rng.to == "" {
			if len(s.cfg.Rating.ChannelFees) > 0 {
				return usagef("--from and --to are required with channel fees configured")
			}
		}
	}
	from, to = zoned(rng, from, to, loc)
	lines, err := summarize(ctx, s.st, s.db(), s.cfg, *by, from, to, loc)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "%s\tside\tline\tcalls\tbillable_s\tamount\tcurrency\t\n", *by)
	totals := map[string]rating.Amount{}
	for _, l := range lines {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t\n", l.Key, l.Side, l.Kind, l.Calls, l.Billable, l.Amount, l.Currency)
		addAmount(totals, l.Side+":"+l.Currency, l.Amount)
	}
	for _, k := range sortedAmountKeys(totals) {
		side, cur, _ := strings.Cut(k, ":")
		fmt.Fprintf(w, "TOTAL\t%s\t\t\t\t%s\t%s\t\n", side, totals[k], cur)
	}
	margins, err := summaryMargins(totals, s.cfg.Rating.ExchangeRates)
	for _, k := range sortedAmountKeys(margins) {
		fmt.Fprintf(w, "MARGIN\tprice - cost\t\t\t\t%s\t%s\t\n", margins[k], k)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}

// summaryMargins is price - cost per price currency; costs in another
// currency are converted with the configured exchange rates, and a missing
// rate refuses the margin rather than mixing currencies.
func summaryMargins(totals map[string]rating.Amount, fx map[string]string) (map[string]rating.Amount, error) {
	rates := map[[2]string]rating.Nano{}
	for pair, v := range fx {
		from, to, _ := strings.Cut(strings.ToUpper(pair), "/")
		r, err := rating.ParseNano(v)
		if err != nil || r == 0 {
			return nil, fmt.Errorf("rating.exchange_rates %q: %q: want a positive decimal", pair, v)
		}
		rates[[2]string{from, to}] = r
		if _, ok := rates[[2]string{to, from}]; !ok {
			rates[[2]string{to, from}] = rating.Nano((rating.NanoPerUnit*rating.NanoPerUnit + int64(r)/2) / int64(r))
		}
	}
	out := map[string]rating.Amount{}
	for k, price := range totals {
		side, cur, _ := strings.Cut(k, ":")
		if side != "price" {
			continue
		}
		m := price
		for k2, cost := range totals {
			side2, cur2, _ := strings.Cut(k2, ":")
			if side2 != "cost" {
				continue
			}
			rate := rating.Nano(rating.NanoPerUnit)
			if cur2 != cur {
				var ok bool
				if rate, ok = rates[[2]string{cur2, cur}]; !ok {
					return out, fmt.Errorf("margin in %s: costs in %s need rating.exchange_rates \"%s/%s\"; margins across currencies are refused without a rate", cur, cur2, cur2, cur)
				}
			}
			dec := max(m.Decimals, cost.Decimals)
			c, err := rating.Convert(cost, rate, dec)
			if err != nil {
				return out, err
			}
			m = rating.Amount{Units: mustRescale(m, dec).Units - c.Units, Decimals: dec}
		}
		out[cur] = m
	}
	return out, nil
}
