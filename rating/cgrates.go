package rating

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CGRateS tariff plans (the legacy RALs rating of CGRateS: Destinations,
// Rates, DestinationRates, Timings, RatingPlans, RatingProfiles CSVs),
// priced with CGRateS's own rules so a cost matches what cgr-engine returns:
//
//   - The call [answer, answer+usage) is split at rating-plan activation
//     times, at midnight, at timing starts (the active timing at a moment is
//     the one with the highest weight, then the latest start time, then the
//     lower price) and at GroupIntervalStart offsets from the call start.
//   - Each span is rounded up to a multiple of its RateIncrement; the
//     extension eats into the following spans (roundTimeSpansToIncrement).
//   - A span costs round(duration*Rate/RateUnit, 5, *middle), shared over
//     its increments, each increment rounded to 5 decimals (*middle) again;
//     the span is increments*incrementCost. 5 is CGRateS's default
//     general.rounding_decimals.
//   - ConnectFee is added once, from the first span's destination rate.
//   - MaxCost with *free caps the cost (the running total is compared as
//     CGRateS does); *disconnect only limits prepaid sessions and does not
//     change a completed call's cost.
//   - The total is rounded with the RoundingMethod/RoundingDecimals of the
//     span whose destination rate has the most decimals: *up, *down or
//     *middle (half up).
//
// Arithmetic is exact (math/big rationals); CGRateS uses float64, so the
// two agree wherever CGRateS's float64 results are exact at 5 decimals,
// which is what its rounding steps are for.

// zeroRat is shared by every destination rate without a MaxCost; it is
// never modified.
var zeroRat = new(big.Rat)

// CGRoundingDecimals is CGRateS's general.rounding_decimals default, used
// for the intermediate roundings.
const CGRoundingDecimals = 5

// TariffPlan is a loaded CGRateS tariff plan.
type TariffPlan struct {
	name, currency, version string
	loc                     *time.Location
	dests                   map[string][]string // prefix -> destination IDs
	plans                   map[string]*cgrPlan
	profiles                map[string][]cgrActivation // tenant:category:subject
	tenants                 []string
	maxDecimals             int
	roundDec                int // general.rounding_decimals
}

type cgrSlot struct {
	rate                        *big.Rat
	unit, increment, groupStart time.Duration
}

type cgrRating struct {
	id, ratesID string
	connectFee  *big.Rat
	method      string
	decimals    int
	maxCost     *big.Rat
	maxStrategy string
	slots       []cgrSlot // by groupStart
}

type cgrTiming struct {
	id                       string
	years, months, monthDays map[int]bool // nil: any
	weekDays                 *[7]bool     // nil: any
	start                    int32        // seconds of the day
}

type cgrInterval struct {
	timing *cgrTiming
	rating *cgrRating
	weight float64
}

type cgrPlan struct {
	id     string
	byDest map[string][]*cgrInterval
}

type cgrActivation struct {
	at       time.Time
	plan     string
	fallback []string
}

// TariffPlanOptions configures LoadTariffPlan.
type TariffPlanOptions struct {
	Name     string
	Currency string         // default EUR
	Location *time.Location // CGRateS's general.default_timezone; nil is UTC
	// RoundingDecimals is CGRateS's general.rounding_decimals, the
	// precision of its intermediate roundings: 0 selects cgr-engine's
	// default, 5 (the engine package's own tests run with 6).
	RoundingDecimals int
}

// Name returns the plan's deck name.
func (p *TariffPlan) Name() string { return p.name }

// Currency returns the plan's currency.
func (p *TariffPlan) Currency() string { return p.currency }

// Version identifies the plan's content (SHA-256 over the six files).
func (p *TariffPlan) Version() string { return p.version }

// Decimals is the most decimals any destination rate rounds to.
func (p *TariffPlan) Decimals() uint8 { return uint8(p.maxDecimals) }

// Tenants lists the tenants of the rating profiles.
func (p *TariffPlan) Tenants() []string { return append([]string(nil), p.tenants...) }

var cgrFiles = []string{"Destinations.csv", "Rates.csv", "DestinationRates.csv", "Timings.csv", "RatingPlans.csv", "RatingProfiles.csv"}

// LoadTariffPlan reads the six CSVs of a CGRateS tariff plan from dir. All
// row errors of all files are reported (file and line) and the plan is
// refused if there is any.
func LoadTariffPlan(dir fs.FS, opts TariffPlanOptions) (*TariffPlan, error) {
	p := &TariffPlan{name: opts.Name, currency: DefaultCurrency, loc: opts.Location,
		dests: map[string][]string{}, plans: map[string]*cgrPlan{}, profiles: map[string][]cgrActivation{}}
	if p.loc == nil {
		p.loc = time.UTC
	}
	p.roundDec = opts.RoundingDecimals
	if p.roundDec == 0 {
		p.roundDec = CGRoundingDecimals
	}
	if p.roundDec < 0 || p.roundDec > 9 {
		return nil, &DeckError{Deck: opts.Name, Err: fmt.Errorf("rounding decimals %d out of range 1..9", opts.RoundingDecimals)}
	}
	if opts.Currency != "" {
		if !KnownCurrency(opts.Currency) {
			return nil, &DeckError{Deck: opts.Name, Err: fmt.Errorf("currency %q is not an ISO 4217 currency", opts.Currency)}
		}
		p.currency = strings.ToUpper(opts.Currency)
	}
	h := sha256.New()
	var errs DeckErrors
	// each streams one file's records to fn (records are reused: fn
	// clones what it keeps), hashing the bytes for the plan's version.
	each := func(name string, fn func(line int, rec []string)) error {
		data, err := fs.ReadFile(dir, name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && name == "Timings.csv" {
				return nil // plans using only *any need no timings
			}
			return &DeckError{Deck: opts.Name, File: name, Err: err}
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(data))
		h.Write(data)
		cr := csv.NewReader(bytes.NewReader(data))
		cr.Comment = '#'
		cr.FieldsPerRecord = -1
		cr.TrimLeadingSpace = true
		cr.ReuseRecord = true
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				line := 0
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					line = pe.StartLine
				}
				errs = append(errs, &DeckError{Deck: opts.Name, File: name, Line: line, Err: err})
				return nil
			}
			if blankRecord(rec) {
				continue
			}
			line, _ := cr.FieldPos(0)
			for i := range rec {
				rec[i] = strings.TrimSpace(rec[i])
			}
			fn(line, rec)
		}
	}
	fail := func(file string, line int, format string, a ...any) {
		errs = append(errs, &DeckError{Deck: opts.Name, File: file, Line: line, Err: fmt.Errorf(format, a...)})
	}
	need := func(file string, line int, rec []string, n int) bool {
		if len(rec) < n {
			fail(file, line, "%d fields, want at least %d", len(rec), n)
			return false
		}
		return true
	}
	// IDs repeat across files and rows; one copy each.
	ids := map[string]string{}
	intern := func(s string) string {
		if v, ok := ids[s]; ok {
			return v
		}
		v := strings.Clone(s)
		ids[v] = v
		return v
	}

	// Destinations.
	destIDs := map[string]bool{}
	if err := each("Destinations.csv", func(line int, rec []string) {
		if !need("Destinations.csv", line, rec, 2) {
			return
		}
		prefix := strings.TrimPrefix(rec[1], "+")
		if rec[0] == "" || prefix == "" || !allDigits(prefix) || len(prefix) > maxPrefixDigits {
			fail("Destinations.csv", line, "destination %q prefix %q: want an ID and a digit prefix", rec[0], rec[1])
			return
		}
		id := intern(rec[0])
		destIDs[id] = true
		p.dests[intern(prefix)] = append(p.dests[intern(prefix)], id)
	}); err != nil {
		return nil, err
	}

	// Rates.
	rates := map[string][]cgrSlot{}
	fees := map[string]*big.Rat{}
	if err := each("Rates.csv", func(line int, rec []string) {
		if !need("Rates.csv", line, rec, 6) {
			return
		}
		fee, err1 := parseRat(rec[1], true)
		rate, err2 := parseRat(rec[2], false)
		unit, err3 := parseCGRDuration(rec[3])
		incr, err4 := parseCGRDuration(rec[4])
		group, err5 := parseCGRDuration(rec[5])
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
			fail("Rates.csv", line, "rate %q: %v", rec[0], err)
			return
		}
		if unit == 0 {
			unit = time.Second // GetRateParameters' default
		}
		if incr == 0 {
			incr = time.Second
		}
		s := cgrSlot{rate: rate, unit: unit, increment: incr, groupStart: group}
		for _, o := range rates[rec[0]] {
			if o.groupStart == group {
				fail("Rates.csv", line, "rate %q: two slots with GroupIntervalStart %s", rec[0], group)
			}
		}
		rates[rec[0]] = append(rates[rec[0]], s)
		if _, ok := fees[rec[0]]; !ok || group == 0 {
			fees[rec[0]] = fee
		}
	}); err != nil {
		return nil, err
	}
	for id := range rates {
		sort.Slice(rates[id], func(a, b int) bool { return rates[id][a].groupStart < rates[id][b].groupStart })
		if rates[id][0].groupStart != 0 {
			return nil, &DeckError{Deck: opts.Name, File: "Rates.csv", Err: fmt.Errorf("rate %q has no slot at GroupIntervalStart 0", id)}
		}
	}

	// DestinationRates.
	type destRate struct {
		dest   string
		rating *cgrRating
	}
	destRates := map[string][]destRate{}
	if err := each("DestinationRates.csv", func(line int, rec []string) {
		if !need("DestinationRates.csv", line, rec, 5) {
			return
		}
		slots, ok := rates[rec[2]]
		if !ok {
			fail("DestinationRates.csv", line, "rates %q not defined in Rates.csv", rec[2])
			return
		}
		if rec[1] != "*any" && !destIDs[rec[1]] {
			fail("DestinationRates.csv", line, "destination %q not defined in Destinations.csv", rec[1])
			return
		}
		method := rec[3]
		if method == "" {
			method = "*middle"
		}
		if method != "*up" && method != "*down" && method != "*middle" {
			fail("DestinationRates.csv", line, "rounding method %q: want *up, *down or *middle", rec[3])
			return
		}
		dec, err := strconv.Atoi(rec[4])
		if err != nil || dec < 0 || dec > 9 {
			fail("DestinationRates.csv", line, "rounding decimals %q: want 0..9", rec[4])
			return
		}
		r := &cgrRating{id: rec[0], ratesID: rec[2], connectFee: fees[rec[2]], method: method, decimals: dec, slots: slots, maxCost: zeroRat}
		if len(rec) > 5 && rec[5] != "" && rec[5] != "0" {
			if r.maxCost, err = parseRat(rec[5], true); err != nil {
				fail("DestinationRates.csv", line, "max cost: %v", err)
				return
			}
		}
		if len(rec) > 6 {
			r.maxStrategy = rec[6]
			if r.maxStrategy != "" && r.maxStrategy != "*free" && r.maxStrategy != "*disconnect" {
				fail("DestinationRates.csv", line, "max cost strategy %q: want *free or *disconnect", rec[6])
				return
			}
		}
		p.maxDecimals = max(p.maxDecimals, dec)
		r.id, r.ratesID = intern(r.id), intern(r.ratesID)
		destRates[r.id] = append(destRates[r.id], destRate{intern(rec[1]), r})
	}); err != nil {
		return nil, err
	}

	// Timings.
	timings := map[string]*cgrTiming{"*any": {id: "*any"}}
	if err := each("Timings.csv", func(line int, rec []string) {
		if !need("Timings.csv", line, rec, 6) {
			return
		}
		t, err := parseTiming(rec)
		if err != nil {
			fail("Timings.csv", line, "timing %q: %v", rec[0], err)
			return
		}
		timings[rec[0]] = t
	}); err != nil {
		return nil, err
	}

	// RatingPlans.
	if err := each("RatingPlans.csv", func(line int, rec []string) {
		if !need("RatingPlans.csv", line, rec, 4) {
			return
		}
		drs, ok := destRates[rec[1]]
		if !ok {
			fail("RatingPlans.csv", line, "destination rates %q not defined in DestinationRates.csv", rec[1])
			return
		}
		tm, ok := timings[rec[2]]
		if !ok {
			fail("RatingPlans.csv", line, "timing %q not defined in Timings.csv", rec[2])
			return
		}
		w, err := strconv.ParseFloat(rec[3], 64)
		if err != nil {
			fail("RatingPlans.csv", line, "weight %q: not a number", rec[3])
			return
		}
		pl := p.plans[rec[0]]
		if pl == nil {
			pl = &cgrPlan{id: rec[0], byDest: map[string][]*cgrInterval{}}
			p.plans[rec[0]] = pl
		}
		for _, dr := range drs {
			pl.byDest[dr.dest] = append(pl.byDest[dr.dest], &cgrInterval{timing: tm, rating: dr.rating, weight: w})
		}
	}); err != nil {
		return nil, err
	}

	// RatingProfiles: [Direction,] Tenant, Category, Subject, ActivationTime, RatingPlanId, RatesFallbackSubject.
	tenants := map[string]bool{}
	if err := each("RatingProfiles.csv", func(line int, rec []string) {
		if len(rec) > 0 && strings.HasPrefix(rec[0], "*") && (rec[0] == "*out" || rec[0] == "*in") {
			rec = rec[1:] // the Direction column of older plans
		}
		if !need("RatingProfiles.csv", line, rec, 5) {
			return
		}
		at, err := parseActivation(rec[3], p.loc)
		if err != nil {
			fail("RatingProfiles.csv", line, "activation time %q: %v", rec[3], err)
			return
		}
		if _, ok := p.plans[rec[4]]; !ok {
			fail("RatingProfiles.csv", line, "rating plan %q not defined in RatingPlans.csv", rec[4])
			return
		}
		var fb []string
		if len(rec) > 5 && rec[5] != "" {
			fb = strings.Split(rec[5], ";")
		}
		key := rec[0] + ":" + rec[1] + ":" + rec[2]
		p.profiles[key] = append(p.profiles[key], cgrActivation{at: at, plan: rec[4], fallback: fb})
		tenants[rec[0]] = true
	}); err != nil {
		return nil, err
	}
	for k := range p.profiles {
		acts := p.profiles[k]
		sort.SliceStable(acts, func(a, b int) bool { return acts[a].at.Before(acts[b].at) })
	}
	for t := range tenants {
		p.tenants = append(p.tenants, t)
	}
	sort.Strings(p.tenants)
	p.version = hex.EncodeToString(h.Sum(nil)[:8])
	if len(errs) > 0 {
		if len(errs) == 1 {
			return nil, errs[0]
		}
		return nil, errs
	}
	if len(p.profiles) == 0 {
		return nil, &DeckError{Deck: opts.Name, File: "RatingProfiles.csv", Err: errors.New("no rating profiles")}
	}
	return p, nil
}

// parseRat parses a non-negative decimal exactly.
func parseRat(s string, emptyZero bool) (*big.Rat, error) {
	if s == "" && emptyZero {
		return new(big.Rat), nil
	}
	n, err := parseNano(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	return big.NewRat(int64(n), NanoPerUnit), nil
}

// parseCGRDuration reads "60s", "1m", "0s" or a plain integer, which
// CGRateS (utils.ParseDurationWithNanosecs) takes as nanoseconds.
func parseCGRDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if allDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		return time.Duration(n), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("duration %q: want e.g. 60s, 1m or nanoseconds", s)
	}
	return d, nil
}

func parseActivation(s string, loc *time.Location) (time.Time, error) {
	if s == "" || s == "*asap" {
		return time.Unix(0, 0).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a time (want RFC 3339, e.g. 2014-01-14T00:00:00Z)")
}

func parseTiming(rec []string) (*cgrTiming, error) {
	t := &cgrTiming{id: rec[0]}
	set := func(s string, lo, hi int) (map[int]bool, error) {
		if s == "" || s == "*any" {
			return nil, nil
		}
		m := map[int]bool{}
		for _, f := range strings.Split(s, ";") {
			v, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || v < lo || v > hi {
				return nil, fmt.Errorf("%q: want *any or numbers %d..%d separated by ';'", s, lo, hi)
			}
			m[v] = true
		}
		return m, nil
	}
	var err error
	if t.years, err = set(rec[1], 1970, 9999); err != nil {
		return nil, fmt.Errorf("years %w", err)
	}
	if t.months, err = set(rec[2], 1, 12); err != nil {
		return nil, fmt.Errorf("months %w", err)
	}
	if t.monthDays, err = set(rec[3], 1, 31); err != nil {
		return nil, fmt.Errorf("month days %w", err)
	}
	wd, err := set(rec[4], 0, 7)
	if err != nil {
		return nil, fmt.Errorf("week days %w", err)
	}
	if wd != nil {
		var days [7]bool
		for d := range wd {
			days[d%7] = true // 7 and 0 are both Sunday
		}
		t.weekDays = &days
	}
	switch tm := rec[5]; tm {
	case "", "*asap", "*any":
	default:
		c, err := parseClock(tm)
		if err != nil || c >= 86400 {
			return nil, fmt.Errorf("time %q: want HH:MM:SS", tm)
		}
		t.start = c
	}
	return t, nil
}

// activeDay reports whether the timing's date parts match local date lt.
func (t *cgrTiming) activeDay(lt time.Time) bool {
	if t.years != nil && !t.years[lt.Year()] {
		return false
	}
	if t.months != nil && !t.months[int(lt.Month())] {
		return false
	}
	if t.monthDays != nil && !t.monthDays[lt.Day()] {
		return false
	}
	if t.weekDays != nil && !t.weekDays[lt.Weekday()] {
		return false
	}
	return true
}

// CGRSpan is one priced part of a call.
type CGRSpan struct {
	Start         time.Time
	Duration      time.Duration
	Plan          string
	Destination   string // destination ID
	Prefix        string
	Timing        string
	DestRate      string
	Rates         string
	Rate          string // per RateUnit
	RateUnit      time.Duration
	Increment     time.Duration
	Increments    int64
	IncrementCost string
	Cost          string // span cost without connect fee
}

// CGRCost is the cost of a call on a tariff plan.
type CGRCost struct {
	Amount      Amount
	ConnectFee  string
	Usage       time.Duration // rated usage, rounded up to the increments
	Prefix      string
	Destination string
	Plan        string
	Spans       []CGRSpan
	MaxCostHit  bool
}

type cgrSpan struct {
	start, end time.Time
	iv         *cgrInterval
	plan       string
	dest       string
	prefix     string
}

// Cost prices a call to destination answered at start and lasting usage
// for tenant/category/subject (falling back to the "*any" subject and to
// the profile's fallback subjects).
func (p *TariffPlan) Cost(tenant, category, subject, destination string, start time.Time, usage time.Duration) (CGRCost, error) {
	if tenant == "" && len(p.tenants) == 1 {
		tenant = p.tenants[0]
	}
	if category == "" {
		category = "call"
	}
	if usage < 0 {
		usage = 0
	}
	number := strings.TrimPrefix(destination, "+")
	for i := 0; i < len(number); i++ {
		if number[i] < '0' || number[i] > '9' {
			number = number[:i]
			break
		}
	}
	acts, err := p.activations(tenant, category, subject, 0)
	if err != nil {
		return CGRCost{}, err
	}
	end := start.Add(usage)
	first := -1
	for i, a := range acts {
		if !a.at.After(start) {
			first = i
		}
	}
	if first < 0 {
		return CGRCost{}, fmt.Errorf("rating: plan %q: no rating plan active at %s for %s:%s:%s", p.name, start.Format(time.RFC3339), tenant, category, subject)
	}
	var cost CGRCost
	// Split at activation times, then days and timings.
	var spans []cgrSpan
	for i := first; i < len(acts); i++ {
		from := start
		if i > first {
			from = acts[i].at
		}
		if i > first && !from.Before(end) {
			break
		}
		to := end
		if i+1 < len(acts) && acts[i+1].at.Before(end) {
			to = acts[i+1].at
		}
		plan := p.plans[acts[i].plan]
		dest, prefix, ivs := p.matchDest(plan, number)
		// RatesFallbackSubject: a plan without the destination defers to
		// the plans of the fallback subjects active at the same moment.
		for _, fb := range acts[i].fallback {
			if ivs != nil {
				break
			}
			for _, a := range p.profiles[tenant+":"+category+":"+fb] {
				if !a.at.After(from) {
					plan = p.plans[a.plan]
				}
			}
			dest, prefix, ivs = p.matchDest(plan, number)
		}
		if ivs == nil {
			return CGRCost{}, NoRateError{Deck: p.name, Number: destination}
		}
		if i == first {
			cost.Prefix, cost.Destination, cost.Plan = prefix, dest, plan.id
		}
		if usage == 0 {
			return cost, nil
		}
		cur := from
		for cur.Before(to) {
			iv, next := selectInterval(ivs, cur.In(p.loc))
			if iv == nil {
				return CGRCost{}, fmt.Errorf("rating: plan %q: no timing of %s covers %s", p.name, dest, cur.In(p.loc).Format(time.RFC3339))
			}
			if next.After(to) {
				next = to
			}
			spans = append(spans, cgrSpan{start: cur, end: next, iv: iv, plan: plan.id, dest: dest, prefix: prefix})
			cur = next
		}
	}
	if usage == 0 {
		return cost, nil
	}
	// Split at GroupIntervalStart offsets from the call start.
	for i := 0; i < len(spans); i++ {
		s := spans[i]
		off0, off1 := s.start.Sub(start), s.end.Sub(start)
		for _, sl := range s.iv.rating.slots {
			if sl.groupStart > off0 && sl.groupStart < off1 {
				cut := start.Add(sl.groupStart)
				tail := s
				tail.start = cut
				spans[i].end = cut
				spans = append(spans[:i+1], append([]cgrSpan{tail}, spans[i+1:]...)...)
				break
			}
		}
	}
	// roundTimeSpansToIncrement: extend each span to a multiple of its
	// increment, consuming the spans it now overlaps.
	for i := 0; i < len(spans); i++ {
		s := &spans[i]
		sl := s.iv.rating.slot(s.start.Sub(start))
		d := s.end.Sub(s.start)
		if r := d % sl.increment; r != 0 {
			s.end = s.start.Add(d - r + sl.increment)
			j := i + 1
			for j < len(spans) && !spans[j].end.After(s.end) {
				j++
			}
			if j < len(spans) && spans[j].start.Before(s.end) {
				spans[j].start = s.end
			}
			spans = append(spans[:i+1], spans[j:]...)
		}
	}
	// Costs, as CalculateCost/createIncrementsSlice/GetCost do.
	total := new(big.Rat)
	soFar := new(big.Rat)
	roundDec, roundMethod := -1, ""
	for i, s := range spans {
		r := s.iv.rating
		off := s.start.Sub(start)
		sl := r.slot(off)
		d := s.end.Sub(s.start)
		tsCost := new(big.Rat).Mul(big.NewRat(int64(d), int64(sl.unit)), sl.rate)
		tsCost = cgrRound(tsCost, p.roundDec, "*middle")
		nb := int64(d / sl.increment)
		incCost := cgrRound(new(big.Rat).Quo(tsCost, big.NewRat(nb, 1)), p.roundDec, "*middle")
		spanCost := new(big.Rat).Mul(incCost, big.NewRat(nb, 1))
		tsTotal := new(big.Rat).Set(spanCost)
		if i == 0 {
			tsTotal.Add(tsTotal, r.connectFee)
			cost.ConnectFee = ratString(r.connectFee)
		}
		tsTotal = cgrRound(tsTotal, p.roundDec, "*middle")
		total.Add(total, tsTotal)
		soFar.Add(soFar, total)
		if r.maxStrategy == "*free" && r.maxCost.Sign() > 0 && soFar.Cmp(r.maxCost) >= 0 {
			total.Set(r.maxCost)
			soFar.Set(r.maxCost)
			cost.MaxCostHit = true
		}
		if r.decimals > roundDec {
			roundDec, roundMethod = r.decimals, r.method
		}
		cost.Usage += d
		cost.Spans = append(cost.Spans, CGRSpan{
			Start: s.start.In(p.loc), Duration: d, Plan: s.plan, Destination: s.dest, Prefix: s.prefix,
			Timing: s.iv.timing.id, DestRate: r.id, Rates: r.ratesID, Rate: ratString(sl.rate), RateUnit: sl.unit,
			Increment: sl.increment, Increments: nb, IncrementCost: ratString(incCost), Cost: ratString(spanCost),
		})
	}
	total = cgrRound(total, roundDec, roundMethod)
	units := new(big.Rat).Mul(total, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(roundDec)), nil)))
	if !units.IsInt() || !units.Num().IsInt64() {
		return CGRCost{}, fmt.Errorf("rating: plan %q: cost %s: %w", p.name, total.FloatString(roundDec+2), ErrOverflow)
	}
	cost.Amount = Amount{Units: units.Num().Int64(), Decimals: uint8(roundDec)}
	return cost, nil
}

// activations returns the rating plan activations for the subject, with
// CGRateS's fallbacks: the "*any" subject, then the profile's fallback
// subjects.
func (p *TariffPlan) activations(tenant, category, subject string, depth int) ([]cgrActivation, error) {
	if depth > 4 {
		return nil, fmt.Errorf("rating: plan %q: fallback subjects loop at %s", p.name, subject)
	}
	for _, s := range []string{subject, "*any"} {
		if acts, ok := p.profiles[tenant+":"+category+":"+s]; ok {
			return acts, nil
		}
	}
	return nil, fmt.Errorf("rating: plan %q: no rating profile for tenant %q category %q subject %q (nor *any)", p.name, tenant, category, subject)
}

// matchDest finds the longest prefix of number with a destination the plan
// rates, falling back to a "*any" destination rate.
func (p *TariffPlan) matchDest(plan *cgrPlan, number string) (dest, prefix string, ivs []*cgrInterval) {
	for l := min(len(number), maxPrefixDigits); l > 0; l-- {
		for _, id := range p.dests[number[:l]] {
			if ivs := plan.byDest[id]; ivs != nil {
				return id, number[:l], ivs
			}
		}
	}
	if ivs := plan.byDest["*any"]; ivs != nil {
		return "*any", "", ivs
	}
	return "", "", nil
}

// selectInterval returns the interval in force at local time lt and the
// moment that choice may next change (a timing start later today, or
// midnight).
func selectInterval(ivs []*cgrInterval, lt time.Time) (*cgrInterval, time.Time) {
	tod := int32(lt.Hour()*3600 + lt.Minute()*60 + lt.Second())
	var best *cgrInterval
	next := int32(86400)
	for _, iv := range ivs {
		if !iv.timing.activeDay(lt) {
			continue
		}
		if iv.timing.start > tod {
			next = min(next, iv.timing.start)
			continue
		}
		switch {
		case best == nil, iv.weight > best.weight:
			best = iv
		case iv.weight == best.weight && iv.timing.start > best.timing.start:
			best = iv
		case iv.weight == best.weight && iv.timing.start == best.timing.start &&
			iv.rating.slots[0].perNs().Cmp(best.rating.slots[0].perNs()) <= 0:
			best = iv
		}
	}
	y, m, d := lt.Date()
	boundary := time.Date(y, m, d, 0, 0, int(next), 0, lt.Location())
	if !boundary.After(lt) {
		boundary = lt.Add(time.Second)
	}
	return best, boundary
}

func (s cgrSlot) perNs() *big.Rat { return new(big.Rat).Quo(s.rate, big.NewRat(int64(s.unit), 1)) }

// slot returns the rate slot in force at a call offset (GetRateParameters).
func (r *cgrRating) slot(offset time.Duration) cgrSlot {
	s := r.slots[0]
	for _, o := range r.slots {
		if o.groupStart <= offset {
			s = o
		}
	}
	return s
}

// cgrRound is utils.Round on an exact value: *up rounds up any fraction of
// at least 1e-max(7,prec) (CGRateS ignores smaller ones as float noise),
// *down truncates, *middle rounds half up.
func cgrRound(x *big.Rat, prec int, method string) *big.Rat {
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(prec)), nil)
	scaled := new(big.Rat).Mul(x, new(big.Rat).SetInt(pow))
	floor := new(big.Int).Quo(scaled.Num(), scaled.Denom()) // non-negative values
	frac := new(big.Rat).Sub(scaled, new(big.Rat).SetInt(floor))
	up := false
	switch method {
	case "*up":
		maxPrec := max(7, prec)
		eps := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(maxPrec)), nil))
		up = frac.Cmp(eps) >= 0
	case "*down":
	case "*middle":
		up = frac.Cmp(big.NewRat(1, 2)) >= 0
	default:
		return x
	}
	if up {
		floor.Add(floor, big.NewInt(1))
	}
	return new(big.Rat).SetFrac(floor, pow)
}

func ratString(r *big.Rat) string {
	s := r.FloatString(9)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
