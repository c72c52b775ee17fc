package rating

import (
	"fmt"
	"strings"
	"time"
)

// Segment is one part of a call priced at one row: a call crossing a band
// boundary (peak to off-peak, midnight into a weekend) has several.
type Segment struct {
	Prefix    string
	Band      string
	Start     time.Time // in the deck's zone
	Seconds   int64     // billable seconds in this segment
	PerMinute Nano
	TierFrom  int32 // the duration tier (second of the call) of the row
}

// PriceAt rates a call to number answered at startUS (Unix microseconds)
// and lasting durationMs. The row set in effect at the call's start applies
// to the whole call (a deck version change never splits a call); bands are
// evaluated in the deck's zone at one-second resolution, and a call crossing
// a band boundary is split there, each part at its band's rate, the exact
// sum rounded once. Increments, minimum duration and connect fee are those
// of the row in effect when the call starts. It does not allocate.
func (d *Deck) PriceAt(number string, startUS, durationMs int64) (Result, error) {
	return d.priceAt(number, startUS, durationMs, nil)
}

// Explain prices like PriceAt and also returns the segments the call was
// split into (for `rate quote`).
func (d *Deck) Explain(number string, startUS, durationMs int64) (Result, []Segment, error) {
	var segs []Segment
	res, err := d.priceAt(number, startUS, durationMs, func(s Segment) { segs = append(segs, s) })
	return res, segs, err
}

func (d *Deck) priceAt(number string, startUS, durationMs int64, visit func(Segment)) (Result, error) {
	startSec := startUS / 1_000_000
	if startUS < 0 && startUS%1_000_000 != 0 {
		startSec--
	}
	var rows []Rate // the prefix's rows; nil in a simple deck
	var rate *Rate
	if d.simple {
		g := d.trie.longest(strings.TrimPrefix(number, "+"))
		if g < 0 {
			return Result{}, NoRateError{Deck: d.name, Number: number}
		}
		rate = &d.rates[g]
	} else {
		rows = d.lookupAt(number, startSec)
		if rows == nil {
			return Result{}, NoRateError{Deck: d.name, Number: number}
		}
		head := 0
		if len(rows) > 1 {
			wd, tod, _ := d.clock(startSec)
			head = d.pick(rows, startSec, wd, tod, 0)
		}
		if head < 0 {
			return Result{}, fmt.Errorf("rating: deck %q: price %q at %s: %w", d.name, number, time.Unix(startSec, 0).UTC().Format(time.RFC3339), errNoBand)
		}
		rate = &rows[head]
	}
	billable := rate.BillableSeconds(durationMs)
	res := Result{Rate: *rate, BillableSeconds: billable, Currency: d.currency, DeckVersion: d.version, Band: rate.Band, Segments: 1}
	banded := false // bands or tiers: the call may need splitting
	for i := range rows {
		if (rows[i].band != 0 || rows[i].TierFrom != 0) && rows[i].effective(startSec) {
			banded = true
			break
		}
	}
	if !banded || billable == 0 {
		a, err := rate.charge(billable, d.decimals, d.rounding)
		if err != nil {
			return Result{}, fmt.Errorf("rating: deck %q: price %q for %d ms: %w", d.name, number, durationMs, err)
		}
		res.Amount = a
		if visit != nil && billable > 0 {
			visit(Segment{Prefix: rate.Prefix, Band: rate.Band, Start: time.Unix(startSec, 0).In(d.loc), Seconds: billable, PerMinute: rate.PerMinute})
		}
		return res, nil
	}

	if rate.ConnectFee < 0 {
		return Result{}, ErrNegative
	}
	var n num128
	n.addMul(uint64(rate.ConnectFee), 60)
	cur := startSec
	remaining := billable
	res.Segments = 0
	for remaining > 0 {
		wd, tod, off := d.clock(cur)
		offset := cur - startSec
		i := d.pick(rows, startSec, wd, tod, offset)
		if i < 0 {
			return Result{}, fmt.Errorf("rating: deck %q: price %q at %s: %w", d.name, number, time.Unix(cur, 0).UTC().Format(time.RFC3339), errNoBand)
		}
		nb := int32(86400)
		nextTier := remaining
		for j := range rows {
			r := &rows[j]
			if !r.effective(startSec) {
				continue
			}
			if t := int64(r.TierFrom) - offset; t > 0 && t < nextTier {
				nextTier = t
			}
			if r.band == 0 {
				continue
			}
			b := &d.bands[r.band-1]
			if b.From > tod && b.From < nb {
				nb = b.From
			}
			if b.To > tod && b.To < nb {
				nb = b.To
			}
		}
		seg := int64(nb - tod)
		if seg < remaining {
			// Boundaries are wall-clock times: across a DST change the
			// wall clock moves by more or less than the elapsed time.
			wall := cur + off + seg
			boundary := wall - off
			if _, _, off2 := d.clock(boundary); off2 != off {
				boundary = wall - off2
			}
			seg = max(boundary-cur, 1)
		}
		seg = min(seg, remaining, nextTier)
		r := &rows[i]
		if r.PerMinute < 0 {
			return Result{}, ErrNegative
		}
		n.addMul(uint64(r.PerMinute), uint64(seg))
		if visit != nil {
			visit(Segment{Prefix: r.Prefix, Band: r.Band, Start: time.Unix(cur, 0).In(d.loc), Seconds: seg, PerMinute: r.PerMinute, TierFrom: r.TierFrom})
		}
		res.Segments++
		cur += seg
		remaining -= seg
	}
	a, err := n.perMinuteUnits(d.decimals, d.rounding)
	if err != nil {
		return Result{}, fmt.Errorf("rating: deck %q: price %q for %d ms: %w", d.name, number, durationMs, err)
	}
	res.Amount = a
	return res, nil
}

// lookupAt returns the rows of the longest prefix of number that has a row
// in effect at Unix second t, or nil. A prefix whose rows are all outside
// their effective period falls back to the next shorter prefix.
func (d *Deck) lookupAt(number string, t int64) []Rate {
	number = strings.TrimPrefix(number, "+")
	var stack [maxPrefixDigits]int32
	n := 0
	node := int32(0)
	nodes := d.trie.nodes
	for i := 0; i < len(number) && n < len(stack); i++ {
		c := number[i] - '0'
		if c > 9 {
			break
		}
		node = nodes[node].child[c]
		if node == 0 {
			break
		}
		if nodes[node].rate != 0 {
			stack[n] = node
			n++
		}
	}
	for n > 0 {
		n--
		nd := &nodes[stack[n]]
		rows := d.rates[nd.rate-1 : nd.rate-1+nd.n]
		for i := range rows {
			if rows[i].effective(t) {
				return rows
			}
		}
	}
	return nil
}

// clock returns the weekday, the seconds since local midnight and the UTC
// offset of Unix second t in the deck's zone: one zone lookup and integer
// arithmetic instead of time.Time's calendar methods.
func (d *Deck) clock(t int64) (time.Weekday, int32, int64) {
	_, off := time.Unix(t, 0).In(d.loc).Zone()
	local := t + int64(off)
	days := local / 86400
	tod := local % 86400
	if tod < 0 {
		tod += 86400
		days--
	}
	wd := (days + 4) % 7 // 1970-01-01 was a Thursday
	if wd < 0 {
		wd += 7
	}
	return time.Weekday(wd), int32(tod), int64(off)
}

// pick returns the row of rows in effect for a call started at Unix second
// start that applies offset seconds into the call, at weekday wd, tod
// seconds after local midnight: a banded row active then, else an unbanded
// one; of those, the highest tier started by offset; -1 when none.
func (d *Deck) pick(rows []Rate, start int64, wd time.Weekday, tod int32, offset int64) int {
	best, bestBanded := -1, false
	for i := range rows {
		r := &rows[i]
		if !r.effective(start) || int64(r.TierFrom) > offset {
			continue
		}
		banded := r.band != 0
		if banded && !d.bands[r.band-1].active(wd, tod) {
			continue
		}
		switch {
		case best < 0, banded && !bestBanded:
		case banded == bestBanded && r.TierFrom > rows[best].TierFrom:
		default:
			continue
		}
		best, bestBanded = i, banded
	}
	return best
}
