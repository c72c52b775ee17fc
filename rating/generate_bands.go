package rating

import (
	"bufio"
	"fmt"
	"io"
	"time"
)

// GenerateBandedDeckCSV writes a deck with every prefix of d twice: the
// off-peak row (its rate, all times) and a "peak" row at twice the rate,
// effective from 2026-01-01 (for load testing banded decks).
func GenerateBandedDeckCSV(w io.Writer, d *Deck) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintln(bw, "prefix,destination,rate,increments,band,effective_from")
	for _, r := range d.Rates() {
		fmt.Fprintf(bw, "%s,%s,%s,%d/%d,,2026-01-01\n", r.Prefix, r.Destination, r.PerMinute, r.Initial, r.Subsequent)
		fmt.Fprintf(bw, "%s,%s,%s,%d/%d,peak,2026-01-01\n", r.Prefix, r.Destination, r.PerMinute*2, r.Initial, r.Subsequent)
	}
	return bw.Flush()
}

// GenerateTariffPlan returns a CGRateS tariff plan (file name -> CSV) with
// one destination, destination rate and rating plan entry per prefix of d,
// peak and off-peak timings, 1/1 and 60/60 rates with a second group at
// 60 s, for load testing the CGRateS import.
func GenerateTariffPlan(d *Deck) map[string][]byte {
	var dst, rates, drs, rps []byte
	dst = append(dst, "#Id,Prefix\n"...)
	rates = append(rates, "#Id,ConnectFee,Rate,RateUnit,RateIncrement,GroupIntervalStart\n"...)
	drs = append(drs, "#Id,DestinationId,RatesTag,RoundingMethod,RoundingDecimals,MaxCost,MaxCostStrategy\n"...)
	rps = append(rps, "#Id,DestinationRatesId,TimingTag,Weight\n"...)
	seen := map[Nano]bool{}
	for i, r := range d.Rates() {
		rt := fmt.Sprintf("RT_%d", r.PerMinute)
		if !seen[r.PerMinute] {
			seen[r.PerMinute] = true
			rates = fmt.Appendf(rates, "%s,0.01,%s,60s,60s,0s\n%s,0,%s,60s,1s,60s\n", rt, r.PerMinute, rt, r.PerMinute/2)
			rates = fmt.Appendf(rates, "%s_OFF,0.01,%s,60s,1s,0s\n", rt, r.PerMinute/3)
		}
		dst = fmt.Appendf(dst, "D%d,%s\n", i, r.Prefix)
		drs = fmt.Appendf(drs, "DR%d,D%d,%s,*up,4,0,\nDR%d_OFF,D%d,%s_OFF,*middle,4,0,\n", i, i, rt, i, i, rt)
		rps = fmt.Appendf(rps, "RP_1,DR%d,PEAK,10\nRP_1,DR%d_OFF,OFFPEAK,10\n", i, i)
	}
	return map[string][]byte{
		"Destinations.csv":     dst,
		"Rates.csv":            rates,
		"DestinationRates.csv": drs,
		"Timings.csv":          []byte("#Tag,Years,Months,MonthDays,WeekDays,Time\nPEAK,*any,*any,*any,1;2;3;4;5,08:00:00\nOFFPEAK,*any,*any,*any,*any,00:00:00\n"),
		"RatingPlans.csv":      rps,
		"RatingProfiles.csv":   []byte("#Tenant,Category,Subject,ActivationTime,RatingPlanId,RatesFallbackSubject\nbench,call,*any," + time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339) + ",RP_1,\n"),
	}
}
