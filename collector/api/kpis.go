package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/trunkscope/trunkscope/collector"
)

// KPI is one row of /api/v1/kpis: the summed counts of a bucket and group
// and the ratios computed from them (null where the denominator is 0).
type KPI struct {
	Bucket         string           `json:"bucket"`
	Trunk          string           `json:"trunk,omitempty"`
	Direction      string           `json:"direction,omitempty"`
	Destination    string           `json:"destination,omitempty"`
	Attempts       int64            `json:"attempts"`
	Answered       int64            `json:"answered"`
	ConnectedMs    int64            `json:"connected_ms"`
	ASR            *float64         `json:"asr"`
	NER            *float64         `json:"ner"`
	SER            *float64         `json:"ser"`
	SEER           *float64         `json:"seer"`
	ISA            *float64         `json:"isa"`
	SCR            *float64         `json:"scr"`
	ACDs           float64          `json:"acd_s"`
	PDDMeanMs      int64            `json:"pdd_mean_ms"`
	Busy           int64            `json:"busy"`
	NoAnswer       int64            `json:"no_answer"`
	Cancelled      int64            `json:"cancelled"`
	Rejected       int64            `json:"rejected"`
	Timeout        int64            `json:"timeout"`
	C408           int64            `json:"c408"`
	C503           int64            `json:"c503"`
	CPSPeak        int64            `json:"cps_peak"`
	ConcurrentPeak int64            `json:"concurrent_peak"`
	Codes          map[string]int64 `json:"codes,omitempty"`
	MediaLegs      int64            `json:"media_legs"`
	MOSMean        *float64         `json:"mos_mean"`
	MOSP10         *float64         `json:"mos_p10"`
	LossPct        *float64         `json:"loss_pct"`
	OneWayLegs     int64            `json:"one_way_legs"`
	OptionsPings   int64            `json:"options_pings"`
	Availability   *float64         `json:"options_availability"`
	OptionsRTTMs   float64          `json:"options_rtt_ms"`
}

func ratioPtr(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// kpis answers the rollups for a range, step and grouping:
// by=trunk (default), destination or carrier-destination.
func (s *server) kpis(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k, v := range q {
		switch k {
		case "from", "to", "step", "by", "trunk":
		default:
			s.fail(w, r, badRequest{fmt.Sprintf("unknown parameter %q (from, to, step, by, trunk)", k)})
			return
		}
		if len(v) > 1 {
			s.fail(w, r, badRequest{fmt.Sprintf("parameter %q given %d times", k, len(v))})
			return
		}
	}
	var kq collector.KPIQuery
	var err error
	if kq.From, err = parseTime(q.Get("from"), time.Unix(0, 0).UTC()); err != nil {
		s.fail(w, r, badRequest{"from: " + err.Error()})
		return
	}
	if kq.To, err = parseTime(q.Get("to"), time.Now().UTC().Truncate(time.Minute).Add(time.Minute)); err != nil {
		s.fail(w, r, badRequest{"to: " + err.Error()})
		return
	}
	if !kq.To.After(kq.From) {
		s.fail(w, r, badRequest{"to must be after from"})
		return
	}
	if v := q.Get("step"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			if n, nerr := strconv.Atoi(v); nerr == nil {
				d, err = time.Duration(n)*time.Second, nil
			}
		}
		if err != nil || d < time.Minute || d > 366*24*time.Hour {
			s.fail(w, r, badRequest{"step: want a duration from 1m to 366 days (e.g. 5m, 1h, or seconds)"})
			return
		}
		kq.Step = d
	}
	switch by := collector.Grouping(q.Get("by")); by {
	case "", collector.ByTrunk, collector.ByDestination, collector.ByTrunkDestination:
		kq.By = by
	default:
		s.fail(w, r, badRequest{"by: want trunk, destination or carrier-destination"})
		return
	}
	if kq.Trunk = q.Get("trunk"); len(kq.Trunk) > 128 {
		s.fail(w, r, badRequest{"trunk: not a trunk name"})
		return
	}
	ks, err := collector.KPIs(r.Context(), s.o.Store, s.o.Database, kq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]KPI, 0, len(ks))
	for _, k := range ks {
		o := KPI{Bucket: k.Bucket.Format(time.RFC3339), Trunk: k.Trunk, Direction: k.Direction, Destination: k.Destination,
			Attempts: k.Attempts, Answered: k.Answered, ConnectedMs: k.ConnectedMs,
			ASR: ratioPtr(k.ASR()), NER: ratioPtr(k.NER()), SER: ratioPtr(k.SER()), SEER: ratioPtr(k.SEER()),
			ISA: ratioPtr(k.ISA()), SCR: ratioPtr(k.SCR()), ACDs: k.ACD().Seconds(), PDDMeanMs: k.PDDMean().Milliseconds(),
			Busy: k.Busy, NoAnswer: k.NoAnswer, Cancelled: k.Cancelled, Rejected: k.Rejected, Timeout: k.Timeout,
			C408: k.C408, C503: k.C503, CPSPeak: k.CPSPeak, ConcurrentPeak: k.ConcurrentPeak,
			MediaLegs: k.MediaLegs, MOSMean: ratioPtr(k.MOSMean()), MOSP10: ratioPtr(k.MOSQuantile(0.1)),
			LossPct: ratioPtr(k.LossPct()), OneWayLegs: k.OneWayLegs, OptionsPings: k.Pings,
			Availability: ratioPtr(k.Availability()), OptionsRTTMs: float64(k.RTT().Microseconds()) / 1000}
		if len(k.Codes) > 0 {
			o.Codes = map[string]int64{}
			for c, n := range k.Codes {
				o.Codes[strconv.Itoa(int(c))] = n
			}
		}
		out = append(out, o)
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": kq.From.Format(time.RFC3339), "to": kq.To.Format(time.RFC3339),
		"by": string(kq.By), "kpis": out})
}
