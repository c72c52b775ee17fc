// Package rating prices call detail records (CDRs) against a carrier rate
// deck.
//
// # Money
//
// Money is never held in float64: a rate of 0.1 per minute is not
// representable in binary floating point, and the errors compound across
// millions of calls into invoices that do not reconcile with the carrier's.
// Rates and fees are parsed from their decimal text into [Nano], an int64
// fixed-point value with 9 decimals. Billed amounts are [Amount] values: a
// whole number of minor units at the deck's number of decimals.
//
// # Billing rules
//
// Billable seconds (implemented only in [Rate.BillableSeconds]):
//
//   - A call with a duration <= 0 ms is not billable: 0 seconds, amount 0,
//     and no connect fee.
//   - Otherwise seconds = ceil(durationMs / 1000).
//   - If seconds <= Initial, billable = Initial.
//   - Else billable = Initial + ceil((seconds - Initial) / Subsequent) * Subsequent.
//
// Amount (implemented only in [Rate.Charge]):
//
//   - amount = ConnectFee + PerMinute * billable / 60, evaluated exactly as a
//     rational number (128-bit intermediates, no float64) and rounded once to
//     the deck's decimals with the deck's [RoundingMode].
//   - A call with 0 billable seconds costs 0; the connect fee is only charged
//     for billable calls.
//
// # Effective periods and time bands
//
// A row may carry an effective period [From, Until) and a band (a weekly
// window in the deck's zone, [Band]). [Deck.PriceAt] uses only rows in
// effect when the call starts, for the whole call; a prefix whose rows are
// all out of effect falls back to a shorter prefix. A call crossing a band
// boundary is split there, each part at its band's rate, the exact sum
// rounded once; increments, minimum duration and connect fee are the ones
// of the row in force at the start. Rows with a TierFrom (duration tiers)
// split the call at that second of the call in the same way. Calls are
// never split at an effective date.
//
// # CGRateS tariff plans
//
// [LoadTariffPlan] and [TariffPlan.Cost] price with CGRateS's rules
// (activation, timing and GroupIntervalStart splits, spans rounded up to
// their increment, per-increment rounding to 5 decimals, connect fee once,
// MaxCost *free, final rounding per destination rate); see cgrates.go.
//
// # Rate lookup
//
// [Deck.Lookup] selects the rate with the longest prefix that matches the
// callee number. A single leading '+' is ignored and matching stops at the
// first non-digit, so "+4420 7946 0000" is matched on "4420". Lookup and
// [Deck.Price] do not allocate, so they can run on the CDR hot path.
package rating
