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
	var g int
	if d.simple {
		g = d.trie.longest(strings.TrimPrefix(number, "+"))
	} else {
		g = d.lookupAt(number, startSec)
	}
	if g < 0 {
		return Result{}, NoRateError{Deck: d.name, Number: number}
	}
	var rows []int32
	head := g
	if !d.simple {
		rows = d.group(g)
		head = -1
		if len(rows) == 1 {
			head = int(rows[0])
		} else {
			lt := time.Unix(startSec, 0).In(d.loc)
			head = d.pick(rows, startSec, lt)
		}
		if head < 0 {
			return Result{}, fmt.Errorf("rating: deck %q: price %q at %s: %w", d.name, number, time.Unix(startSec, 0).UTC().Format(time.RFC3339), errNoBand)
		}
	}
	rate := &d.rates[head]
	billable := rate.BillableSeconds(durationMs)
	res := Result{Rate: *rate, BillableSeconds: billable, Currency: d.currency, DeckVersion: d.version, Band: rate.Band, Segments: 1}
	banded := false
	for _, i := range rows {
		if d.rates[i].band != 0 && d.rates[i].effective(startSec) {
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
	cur := time.Unix(startSec, 0)
	remaining := billable
	res.Segments = 0
	for remaining > 0 {
		lt := cur.In(d.loc)
		i := d.pick(rows, startSec, lt)
		if i < 0 {
			return Result{}, fmt.Errorf("rating: deck %q: price %q at %s: %w", d.name, number, cur.UTC().Format(time.RFC3339), errNoBand)
		}
		tod := int32(lt.Hour()*3600 + lt.Minute()*60 + lt.Second())
		nb := int32(86400)
		for _, j := range rows {
			r := &d.rates[j]
			if r.band == 0 || !r.effective(startSec) {
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
		y, m, day := lt.Date()
		// Boundaries are wall-clock times: on a DST change day the local
		// day is 23 or 25 hours long, and time.Date resolves that.
		boundary := time.Date(y, m, day, 0, 0, int(nb), 0, d.loc)
		seg := int64(boundary.Sub(cur) / time.Second)
		if seg <= 0 {
			seg = 1
		}
		seg = min(seg, remaining)
		r := &d.rates[i]
		if r.PerMinute < 0 {
			return Result{}, ErrNegative
		}
		n.addMul(uint64(r.PerMinute), uint64(seg))
		if visit != nil {
			visit(Segment{Prefix: r.Prefix, Band: r.Band, Start: lt, Seconds: seg, PerMinute: r.PerMinute})
		}
		res.Segments++
		cur = cur.Add(time.Duration(seg) * time.Second)
		remaining -= seg
	}
	a, err := n.perMinuteUnits(d.decimals, d.rounding)
	if err != nil {
		return Result{}, fmt.Errorf("rating: deck %q: price %q for %d ms: %w", d.name, number, durationMs, err)
	}
	res.Amount = a
	return res, nil
}

// lookupAt returns the group with the longest prefix of number that has a
// row in effect at Unix second t, or -1. A prefix whose rows are all
// outside their effective period falls back to the next shorter prefix.
func (d *Deck) lookupAt(number string, t int64) int {
	number = strings.TrimPrefix(number, "+")
	var stack [maxPrefixDigits]int32
	n := 0
	node := int32(0)
	for i := 0; i < len(number) && n < len(stack); i++ {
		c := number[i] - '0'
		if c > 9 {
			break
		}
		node = d.trie.nodes[node].child[c]
		if node == 0 {
			break
		}
		if r := d.trie.nodes[node].rate; r != 0 {
			stack[n] = r - 1
			n++
		}
	}
	for n > 0 {
		n--
		g := int(stack[n])
		for _, i := range d.group(g) {
			if d.rates[i].effective(t) {
				return g
			}
		}
	}
	return -1
}

// pick returns the row of rows in effect for a call started at Unix second
// start that applies at local time lt: a banded row active then, else the
// unbanded row; -1 when none.
func (d *Deck) pick(rows []int32, start int64, lt time.Time) int {
	wd := lt.Weekday()
	tod := int32(lt.Hour()*3600 + lt.Minute()*60 + lt.Second())
	best := -1
	for _, i := range rows {
		r := &d.rates[i]
		if !r.effective(start) {
			continue
		}
		if r.band == 0 {
			if best < 0 {
				best = int(i)
			}
			continue
		}
		if d.bands[r.band-1].active(wd, tod) {
			return int(i)
		}
	}
	return best
}
