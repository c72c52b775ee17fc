package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"text/tabwriter"
	"time"

	"github.com/trunkscope/trunkscope/collector"
)

func cmdKPI(e *env, args []string) error {
	fs := flagSet(e, "kpi", "[flags]", `Prints trunk KPIs from the per-minute rollups: attempts, ASR, ACD, NER, SER,
SEER, ISA, SCR, PDD (mean and 95th percentile), 408 and 503 counts, peak calls
per second and peak concurrent legs against the trunk's channels. Ratios are
computed from summed counts at query time (definitions: README, "KPIs").

Examples:
  trunkscope kpi --by trunk --step 1h --from 2026-01-05 --to 2026-01-06
  trunkscope kpi --by carrier-destination --format json`)
	var c common
	c.register(fs)
	var rng timeRange
	rng.register(fs)
	step := fs.Duration("step", 0, "bucket size (whole minutes); default: one bucket for the whole range")
	by := fs.String("by", "trunk", "trunk, destination or carrier-destination")
	trunk := fs.String("trunk", "", "only this trunk")
	format := fs.String("format", "table", "table or json")
	if err := parse(fs, args); err != nil {
		return err
	}
	f, t, err := rng.parse()
	if err != nil {
		return err
	}
	if *format != "table" && *format != "json" {
		return usagef("--format %q: want table or json", *format)
	}
	ctx := context.Background()
	s, err := c.open(ctx, e, false)
	if err != nil {
		return err
	}
	defer s.Close()
	rows, err := collector.KPIs(ctx, s.st, s.db(), collector.KPIQuery{From: f, To: t, Step: *step, By: collector.Grouping(*by), Trunk: *trunk})
	if err != nil {
		return err
	}
	channels := map[string]int{}
	for _, tr := range s.cfg.Trunks {
		channels[tr.Name] = tr.Channels
	}
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		for _, k := range rows {
			if err := enc.Encode(kpiJSON(k, channels[k.Trunk])); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "BUCKET\tTRUNK\tDIR\tDEST\tATTEMPTS\tASR\tACD\tNER\tSER\tSEER\tISA\tSCR\tPDD\tPDD95\t408\t503\tCPS\tCONC/CH\tMOS\tMOS10\tLOSS\t1WAY\tOPTIONS\t")
	for _, k := range rows {
		conc := fmt.Sprint(k.ConcurrentPeak)
		if ch := channels[k.Trunk]; ch > 0 {
			conc += fmt.Sprintf("/%d", ch)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t\n",
			k.Bucket.Format("2006-01-02 15:04"), dash(k.Trunk), dash(k.Direction), dash(k.Destination), k.Attempts,
			pct(k.ASR()), acd(k.ACD()), pct(k.NER()), pct(k.SER()), pct(k.SEER()), pct(k.ISA()), pct(k.SCR()),
			ms(k.PDDMean()), ms(k.PDDQuantile(0.95)), k.C408, k.C503, k.CPSPeak, conc,
			mos(k.MOSMean()), mos(k.MOSQuantile(0.1)), lossPct(k.LossPct()), k.OneWayLegs, reach(k.Reachability))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pct(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}

// reach renders OPTIONS availability and mean RTT, "-" without pings.
func reach(o collector.Reachability) string {
	if o.Pings == 0 {
		return "-"
	}
	return fmt.Sprintf("%s %.0fms", pct(o.Availability()), float64(o.RTT().Microseconds())/1000)
}

func mos(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.2f", f)
}

func lossPct(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", f)
}

func ms(d time.Duration) string {
	if d == time.Duration(math.MaxInt64) {
		return ">13s"
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// kpiJSON is the machine-readable KPI row; ratios are null when their
// denominator is zero.
func kpiJSON(k collector.KPI, channels int) map[string]any {
	r := func(f float64) any {
		if math.IsNaN(f) {
			return nil
		}
		return f
	}
	codes := map[string]int64{}
	for c, n := range k.Codes {
		codes[fmt.Sprint(c)] = n
	}
	return map[string]any{
		"bucket": k.Bucket.Format(time.RFC3339), "trunk": k.Trunk, "direction": k.Direction, "destination": k.Destination,
		"attempts": k.Attempts, "answered": k.Answered, "connected_ms": k.ConnectedMs,
		"asr": r(k.ASR()), "acd_ms": k.ACD().Milliseconds(), "ner": r(k.NER()), "ser": r(k.SER()), "seer": r(k.SEER()),
		"isa": r(k.ISA()), "scr": r(k.SCR()), "pdd_mean_ms": k.PDDMean().Milliseconds(), "pdd_count": k.PDDCount,
		"busy": k.Busy, "no_answer": k.NoAnswer, "cancelled": k.Cancelled, "rejected": k.Rejected, "timeout": k.Timeout,
		"c408": k.C408, "c503": k.C503, "cps_peak": k.CPSPeak, "concurrent_peak": k.ConcurrentPeak, "channels": channels,
		"codes": codes, "media_legs": k.MediaLegs, "mos_mean": r(k.MOSMean()), "mos_p10": r(k.MOSQuantile(0.1)),
		"loss_pct": r(k.LossPct()), "jitter_mean_us": k.JitterMean().Microseconds(), "jitter_max_us": k.JitterMaxUS,
		"one_way_legs": k.OneWayLegs, "streams": k.Streams,
		"options_pings": k.Pings, "options_answered": k.Reachability.Answered, "options_availability": r(k.Availability()),
		"options_rtt_ms": float64(k.RTT().Microseconds()) / 1000,
	}
}
