package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing/fstest"
	"time"

	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/rating"
	"github.com/trunkscope/trunkscope/store"
)

// Rating's store side: deck imports as versioned events, re-rating as a
// projection rewrite, closed periods and their adjustment lines.

var deckImportColumns = []string{"deck", "version", "format", "file", "imported_at", "currency", "decimals", "options", "content", "ver"}

var adjustmentColumns = []string{"period", "call_id", "leg", "side", "trunk", "customer", "start_time", "deck",
	"old_version", "new_version", "old_amount", "new_amount", "delta", "decimals", "currency", "reason", "created", "ver"}

// deckFiles reads a deck's files: one CSV, or the CSVs of a CGRateS plan
// directory.
func deckFiles(path, format string) (map[string][]byte, error) {
	out := map[string][]byte{}
	if format == "cgrates" {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".csv") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(path, e.Name()))
			if err != nil {
				return nil, err
			}
			out[e.Name()] = b
		}
		return out, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out[filepath.Base(path)] = b
	return out, nil
}

// loadPricer builds a deck from its files and configuration.
func loadPricer(d config.Deck, files map[string][]byte, skipInvalid bool, progress func(done, total int64)) (collector.Pricer, []*rating.DeckError, error) {
	if d.Format == "cgrates" {
		loc, err := d.DeckLocation()
		if err != nil {
			return nil, nil, err
		}
		m := fstest.MapFS{}
		for name, b := range files {
			m[name] = &fstest.MapFile{Data: b}
		}
		p, err := rating.LoadTariffPlan(m, rating.TariffPlanOptions{Name: d.Name, Currency: d.Currency, Location: loc, RoundingDecimals: collector.CGRDecimals(d)})
		if err != nil {
			return nil, nil, err
		}
		return collector.PlanPricer{P: p, Tenant: d.Tenant, Category: d.Category, Subject: d.Subject}, nil, nil
	}
	opts, err := collector.DeckOptions(d)
	if err != nil {
		return nil, nil, err
	}
	opts.SkipInvalid, opts.Progress = skipInvalid, progress
	if len(files) != 1 {
		return nil, nil, fmt.Errorf("deck %q: a carrier deck is one CSV file", d.Name)
	}
	for _, b := range files {
		deck, err := rating.LoadDeck(strings.NewReader(string(b)), opts)
		if err != nil {
			return nil, nil, err
		}
		return collector.DeckPricer{D: deck}, deck.Skipped(), nil
	}
	return nil, nil, nil
}

// storeImport records an import event: the deck's exact files and the
// options it was loaded with.
func storeImport(ctx context.Context, st store.Store, db string, d config.Deck, p collector.Pricer, files map[string][]byte, at time.Time) error {
	d.File = ""
	opts, err := json.Marshal(d)
	if err != nil {
		return err
	}
	dec := uint8(0)
	switch v := p.(type) {
	case collector.DeckPricer:
		dec = v.D.Decimals()
	case collector.PlanPricer:
		dec = v.P.Decimals()
	}
	format := d.Format
	if format == "" {
		format = "carrier"
	}
	var rows [][]any
	for name, b := range files {
		rows = append(rows, []any{d.Name, p.Version(), format, name, at.UTC(), p.Currency(), dec, string(opts), string(b), uint64(at.UnixMicro())})
	}
	return st.Insert(ctx, db+".deck_imports", deckImportColumns, rows)
}

// importedDecks loads the latest imported version of every deck.
func importedDecks(ctx context.Context, st store.Store, db string) (map[string]collector.Pricer, error) {
	r, err := st.Query(ctx, `SELECT deck, version, max(imported_at) AS at, any(options) AS options FROM `+db+`.deck_imports FINAL GROUP BY deck, version ORDER BY deck, at`)
	if err != nil {
		return nil, fmt.Errorf("deck imports: %w", err)
	}
	latest := map[string][2]string{}
	for i := range r.Data {
		latest[r.String(i, "deck")] = [2]string{r.String(i, "version"), r.String(i, "options")}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	out := map[string]collector.Pricer{}
	for name, v := range latest {
		var d config.Deck
		if err := json.Unmarshal([]byte(v[1]), &d); err != nil {
			return nil, fmt.Errorf("deck %q version %s: options: %w", name, v[0], err)
		}
		c, err := st.Query(ctx, `SELECT file, content FROM `+db+`.deck_imports FINAL WHERE deck = `+store.Quote(name)+` AND version = `+store.Quote(v[0]))
		if err != nil {
			return nil, err
		}
		files := map[string][]byte{}
		for i := range c.Data {
			files[c.String(i, "file")] = []byte(c.String(i, "content"))
		}
		p, _, err := loadPricer(d, files, true, nil)
		if err != nil {
			return nil, fmt.Errorf("deck %q version %s: %w", name, v[0], err)
		}
		out[name] = p
	}
	return out, nil
}

// currentPricing is the configured decks overlaid with the latest imports.
func currentPricing(ctx context.Context, cfg *config.Config, st store.Store, db string) (*collector.Pricing, error) {
	decks := map[string]collector.Pricer{}
	for _, d := range cfg.Decks {
		p, err := collector.LoadDeck(cfg, d)
		if err != nil {
			return nil, err
		}
		decks[d.Name] = p
	}
	imported, err := importedDecks(ctx, st, db)
	if err != nil {
		return nil, err
	}
	for name, p := range imported {
		decks[name] = p
	}
	return collector.NewPricing(cfg, decks)
}

// period is the billing month of a time in the reporting zone.
func period(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01") }

func closedPeriods(ctx context.Context, st store.Store, db string) (map[string]bool, error) {
	r, err := st.Query(ctx, `SELECT period, state FROM `+db+`.rating_periods FINAL`)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for i := range r.Data {
		if r.String(i, "state") == "closed" {
			out[r.String(i, "period")] = true
		}
	}
	return out, r.Err()
}

// rerateDiff is what a re-rating changed.
type rerateDiff struct {
	Calls, Changed, Adjusted int
	// Totals per "side:trunk-or-customer:currency", old and new, at the
	// largest decimals seen.
	Old, New map[string]rating.Amount
}

type ratedKey struct {
	call string
	leg  uint8
	side string
}

type ratedCur struct {
	amount  rating.Amount
	version string
	status  string
	ver     uint64
	fromAdj bool
}

// rerate re-prices the CDRs that started in [from, to) (only rows of deck
// when set), rewriting open periods' rows at a higher version and writing
// adjustment lines for closed periods. Unchanged rows are not written, so
// running it twice changes nothing.
func rerate(ctx context.Context, st store.Store, db string, p *collector.Pricing, loc *time.Location, from, to time.Time, deck, reason string, now time.Time) (*rerateDiff, error) {
	return rerateProgress(ctx, st, db, p, loc, from, to, deck, reason, now, nil)
}

// rerateProgress is rerate reporting each finished day (for the CLI).
func rerateProgress(ctx context.Context, st store.Store, db string, p *collector.Pricing, loc *time.Location, from, to time.Time, deck, reason string, now time.Time, progress func(day time.Time, calls int)) (*rerateDiff, error) {
	// Work a day at a time so a month of CDRs is never all in memory;
	// start at the first stored CDR (an open --from is 1970).
	r, err := st.Query(ctx, fmt.Sprintf(`SELECT toUnixTimestamp(min(start_time)) AS lo, toUnixTimestamp(max(start_time)) AS hi, count() AS n
		FROM %s.cdrs WHERE start_time >= toDateTime(%d) AND start_time < toDateTime(%d)`, db, from.Unix(), to.Unix()))
	if err != nil {
		return nil, fmt.Errorf("rerate: %w", err)
	}
	d := &rerateDiff{Old: map[string]rating.Amount{}, New: map[string]rating.Amount{}}
	if len(r.Data) == 0 || r.Int(0, "n") == 0 {
		return d, r.Err()
	}
	lo, hi := time.Unix(r.Int(0, "lo"), 0), time.Unix(r.Int(0, "hi"), 0)
	if lo.After(from) {
		from = lo
	}
	if hi.Before(to) {
		to = hi.Add(time.Second)
	}
	for day := from; day.Before(to); {
		next := day.Add(24 * time.Hour)
		if next.After(to) {
			next = to
		}
		if err := rerateChunk(ctx, st, db, p, loc, day, next, deck, reason, now, d); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(day, d.Calls)
		}
		day = next
	}
	return d, nil
}

func rerateChunk(ctx context.Context, st store.Store, db string, p *collector.Pricing, loc *time.Location, from, to time.Time, deck, reason string, now time.Time, d *rerateDiff) error {
	rng := fmt.Sprintf("start_time >= toDateTime(%d) AND start_time < toDateTime(%d)", from.Unix(), to.Unix())
	cd, err := st.Query(ctx, `SELECT call_id, leg, trunk, caller, callee, caller_e164, callee_e164, start_us, answer_us, duration_ms, version FROM `+db+`.cdrs FINAL WHERE `+rng)
	if err != nil {
		return fmt.Errorf("rerate: cdrs: %w", err)
	}
	old, err := st.Query(ctx, `SELECT call_id, leg, side, amount, decimals, deck_version, status, version FROM `+db+`.rated_cdrs FINAL WHERE `+rng)
	if err != nil {
		return fmt.Errorf("rerate: rated cdrs: %w", err)
	}
	cur := map[ratedKey]ratedCur{}
	for i := range old.Data {
		cur[ratedKey{old.String(i, "call_id"), uint8(old.Int(i, "leg")), old.String(i, "side")}] = ratedCur{
			amount:  rating.Amount{Units: old.Int(i, "amount"), Decimals: uint8(old.Int(i, "decimals"))},
			version: old.String(i, "deck_version"), status: old.String(i, "status"), ver: old.Uint(i, "version")}
	}
	adj, err := st.Query(ctx, `SELECT call_id, leg, side, new_amount, decimals, new_version, ver FROM `+db+`.rating_adjustments FINAL WHERE `+rng+` ORDER BY ver`)
	if err != nil {
		return fmt.Errorf("rerate: adjustments: %w", err)
	}
	for i := range adj.Data {
		k := ratedKey{adj.String(i, "call_id"), uint8(adj.Int(i, "leg")), adj.String(i, "side")}
		c := cur[k]
		c.amount = rating.Amount{Units: adj.Int(i, "new_amount"), Decimals: uint8(adj.Int(i, "decimals"))}
		c.version, c.fromAdj = adj.String(i, "new_version"), true
		cur[k] = c
	}
	closed, err := closedPeriods(ctx, st, db)
	if err != nil {
		return err
	}
	var rows, adjRows [][]any
	for i := range cd.Data {
		c := collector.CDR{CallID: cd.String(i, "call_id"), Leg: uint8(cd.Int(i, "leg")), Trunk: cd.String(i, "trunk"),
			Caller: cd.String(i, "caller"), Callee: cd.String(i, "callee"), CallerE164: cd.String(i, "caller_e164"),
			CalleeE164: cd.String(i, "callee_e164"), StartUS: int64(cd.Uint(i, "start_us")), AnswerUS: int64(cd.Uint(i, "answer_us")),
			DurationMs: int64(cd.Uint(i, "duration_ms")), Version: cd.Uint(i, "version")}
		rs, _ := p.Rate(&c, nil)
		d.Calls++
		changed := false
		for _, r := range rs {
			if deck != "" && r.Deck != deck {
				continue
			}
			k := ratedKey{r.CallID, r.Leg, r.Side}
			o, had := cur[k]
			label := r.Side + ":" + r.Trunk
			if r.Side == "price" {
				label = r.Side + ":" + r.Customer
			}
			label += ":" + r.Currency
			if had {
				addAmount(d.Old, label, o.amount)
			}
			addAmount(d.New, label, r.Amount)
			if had && o.amount == r.Amount && o.version == r.DeckVersion && o.status == r.Status {
				continue
			}
			per := period(time.UnixMicro(r.StartUS), loc)
			if had && closed[per] && o.amount == r.Amount && o.status == r.Status {
				// Only the deck version changed: the money did not, and a
				// closed period needs no line for that.
				continue
			}
			changed = true
			if had && closed[per] {
				why := reason
				if why == "" {
					why = fmt.Sprintf("re-rated on deck %s version %s (was %s)", r.Deck, r.DeckVersion, o.version)
				}
				delta := rating.Amount{Units: r.Amount.Units - mustRescale(o.amount, r.Amount.Decimals).Units, Decimals: r.Amount.Decimals}
				adjRows = append(adjRows, []any{per, r.CallID, r.Leg, r.Side, r.Trunk, r.Customer, time.UnixMicro(r.StartUS).UTC(), r.Deck,
					o.version, r.DeckVersion, mustRescale(o.amount, r.Amount.Decimals).Units, r.Amount.Units, delta.Units, r.Amount.Decimals,
					r.Currency, why, now.UTC(), uint64(now.UnixMicro())})
				continue
			}
			r.Version = max(r.Version, o.ver+1)
			rows = append(rows, r.Row())
		}
		if changed {
			d.Changed++
		}
	}
	d.Adjusted += len(adjRows)
	if err := st.Insert(ctx, db+".rated_cdrs", ratedColumns(), rows); err != nil {
		return fmt.Errorf("rerate: storing %d rows: %w", len(rows), err)
	}
	if err := st.Insert(ctx, db+".rating_adjustments", adjustmentColumns, adjRows); err != nil {
		return fmt.Errorf("rerate: storing %d adjustments: %w", len(adjRows), err)
	}
	return nil
}

func mustRescale(a rating.Amount, dec uint8) rating.Amount {
	r, err := rating.Rescale(a, dec)
	if err != nil {
		return a
	}
	return r
}

// addAmount adds a into m[k], keeping the larger number of decimals.
func addAmount(m map[string]rating.Amount, k string, a rating.Amount) {
	cur := m[k]
	dec := max(cur.Decimals, a.Decimals)
	x, y := mustRescale(cur, dec), mustRescale(a, dec)
	m[k] = rating.Amount{Units: x.Units + y.Units, Decimals: dec}
}

func sortedAmountKeys(m map[string]rating.Amount) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

var _ fs.FS = fstest.MapFS{}
