package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trunkscope/trunkscope/probe/synth"
)

// kpiRow is one line of `kpi --format json`.
type kpiRow struct {
	Trunk, Direction, Destination string
	Attempts, Answered            int64
	ConnectedMs                   int64 `json:"connected_ms"`
	ASR, NER, SER, SEER, ISA, SCR *float64
	PDDCount                      int64 `json:"pdd_count"`
	PDDMeanMs                     int64 `json:"pdd_mean_ms"`
	C408, C503                    int64
	CPSPeak                       int64            `json:"cps_peak"`
	ConcurrentPeak                int64            `json:"concurrent_peak"`
	Codes                         map[string]int64 `json:"codes"`
	MediaLegs                     int64            `json:"media_legs"`
	OneWayLegs                    int64            `json:"one_way_legs"`
	MOSMean                       *float64         `json:"mos_mean"`
}

func kpis(t *testing.T, data, by string, extra ...string) []kpiRow {
	t.Helper()
	r := mustRun(t, append([]string{"kpi", "--data", data, "--by", by, "--format", "json"}, extra...)...)
	var out []kpiRow
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var k kpiRow
		if err := json.Unmarshal([]byte(l), &k); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, k)
	}
	return out
}

// handKPI computes, from the ground truth alone, what the rollups must say
// for a set of calls (the code sets of collector/kpi.go, written out again).
func handKPI(calls []synth.CallTruth) kpiRow {
	k := kpiRow{Codes: map[string]int64{}}
	var ner, seer, isa, scr, pddSum int64
	perSecond := map[int64]int64{}
	for _, c := range calls {
		k.Attempts++
		answered := c.Outcome == "answered"
		in := func(codes ...int) bool { return slices.Contains(codes, c.FinalCode) }
		if answered {
			k.Answered++
			k.ConnectedMs += c.DurationMs
		}
		if answered || in(486, 600, 603, 404, 484) || (in(480, 487) && c.RingUS > 0) {
			ner++
		}
		if answered || in(480, 486, 600, 603) {
			seer++
		}
		if c.Outcome == "timeout" || in(408, 500, 503, 504) {
			isa++
		}
		if answered && c.HangupBy != "" {
			scr++
		}
		if c.PDDMs >= 0 {
			k.PDDCount++
			pddSum += c.PDDMs
		}
		switch c.FinalCode {
		case 408:
			k.C408++
		case 503:
			k.C503++
		}
		k.Codes[fmt.Sprint(c.FinalCode)]++
		perSecond[c.StartUS/1e6]++
	}
	f := func(n, d int64) *float64 { v := float64(n) / float64(d); return &v }
	k.ASR, k.NER, k.SER, k.SEER = f(k.Answered, k.Attempts), f(ner, k.Attempts), f(k.Answered, k.Attempts), f(seer, k.Attempts)
	k.ISA, k.SCR = f(isa, k.Attempts), f(scr, k.Attempts)
	if k.PDDCount > 0 {
		k.PDDMeanMs = pddSum / k.PDDCount
	}
	for _, n := range perSecond {
		k.CPSPeak = max(k.CPSPeak, n)
	}
	// Peak concurrency: at each leg's start, how many legs are in progress.
	for _, a := range calls {
		n := int64(0)
		for _, b := range calls {
			if b.StartUS <= a.StartUS && b.EndUS > a.StartUS {
				n++
			}
		}
		k.ConcurrentPeak = max(k.ConcurrentPeak, n)
	}
	return k
}

func sameKPI(t *testing.T, what string, got, want kpiRow) {
	t.Helper()
	eq := func(a, b *float64) bool {
		return a != nil && b != nil && fmt.Sprintf("%.12f", *a) == fmt.Sprintf("%.12f", *b)
	}
	if got.Attempts != want.Attempts || got.Answered != want.Answered || got.ConnectedMs != want.ConnectedMs ||
		!eq(got.ASR, want.ASR) || !eq(got.NER, want.NER) || !eq(got.SER, want.SER) || !eq(got.SEER, want.SEER) ||
		!eq(got.ISA, want.ISA) || !eq(got.SCR, want.SCR) || got.PDDCount != want.PDDCount || got.PDDMeanMs != want.PDDMeanMs ||
		got.C408 != want.C408 || got.C503 != want.C503 {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// KPIs per trunk and per destination equal the values computed by hand
// from the ground truth, after a replay, and stay so after a second one.
func TestKPIsMatchGroundTruth(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "calls.pcap")
	data := filepath.Join(dir, "data")
	mustRun(t, "gen", "--calls", "400", "--seed", "21", "--no-rtp", "--cps", "3", "--out", pcap)
	truth := loadTruth(t, pcap)
	decks := loadDecks(t)
	for round := 0; round < 2; round++ {
		mustRun(t, "replay", pcap, "--data", data)
		byTrunk := map[string][]synth.CallTruth{}
		byDest := map[string][]synth.CallTruth{}
		for _, c := range truth.Calls {
			byTrunk[c.Trunk] = append(byTrunk[c.Trunk], c)
			_, dest, _ := expectedCost(decks[c.Trunk], c.Callee, c.DurationMs)
			byDest[dest] = append(byDest[dest], c)
		}
		rows := kpis(t, data, "trunk")
		if len(rows) != len(byTrunk) {
			t.Fatalf("%d trunk rows, want %d", len(rows), len(byTrunk))
		}
		for _, got := range rows {
			want := handKPI(byTrunk[got.Trunk])
			sameKPI(t, "trunk "+got.Trunk, got, want)
			if got.CPSPeak != want.CPSPeak || got.ConcurrentPeak != want.ConcurrentPeak || fmt.Sprint(got.Codes) != fmt.Sprint(want.Codes) {
				t.Errorf("trunk %s: cps %d conc %d codes %v, want %d %d %v", got.Trunk, got.CPSPeak, got.ConcurrentPeak, got.Codes,
					want.CPSPeak, want.ConcurrentPeak, want.Codes)
			}
		}
		rows = kpis(t, data, "destination")
		if len(rows) != len(byDest) {
			t.Fatalf("%d destination rows, want %d", len(rows), len(byDest))
		}
		for _, got := range rows {
			sameKPI(t, "destination "+got.Destination, got, handKPI(byDest[got.Destination]))
		}
	}
}
