package collector

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store"
	"github.com/trunkscope/trunkscope/store/storetest"
)

// TestQualityRollup checks the audio-quality rollup and its KPI figures
// against values worked out by hand, on chDB and on the ClickHouse 18.16
// server: the leg's MOS is its lower direction's, interval reports and
// redelivered copies do not count, an answered leg without media is not a
// media leg, and a leg whose streams all flow one way is one-way audio.
func TestQualityRollup(t *testing.T) {
	storetest.EachEngine(t, testQualityRollup)
}

func testQualityRollup(t *testing.T, st store.Store, db string) {
	ctx := context.Background()
	if _, err := schema.Migrate(ctx, st, db); err != nil {
		t.Fatal(err)
	}
	minute := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	startUS := minute.UnixMicro() + 5e6
	leg := func(id string, outcome Outcome) CDR {
		c := CDR{CallID: id, Trunk: "carrier-a", Direction: "outbound", StartUS: startUS, PDDMs: -1, RingMs: -1,
			Outcome: outcome, Country: "31", Version: 1}
		if outcome == Answered {
			c.AnswerUS, c.EndUS, c.DurationMs = startUS+2e6, startUS+62e6, 60000
		} else {
			c.EndUS, c.FinalCode = startUS+1e6, 486
		}
		return c
	}
	var cdrs [][]any
	for _, c := range []CDR{leg("both", Answered), leg("oneway", Answered), leg("good", Answered),
		leg("nomedia", Answered), leg("busy", Busy)} {
		cdrs = append(cdrs, c.Row())
	}
	if err := st.Insert(ctx, db+".cdrs", schema.CDRColumns, cdrs); err != nil {
		t.Fatal(err)
	}
	n := 0
	report := func(call string, dir uint8, final bool, packets uint64, lost int64, jitterMax, mos uint32) []any {
		n++
		fin := uint8(0)
		if final {
			fin = 1
		}
		return []any{fmt.Sprintf("r%d", n), minute.Add(time.Minute), "p", call, "10.0.0.1", uint16(4000 + n), "10.0.0.2",
			uint16(5000), uint32(n), uint8(0), "PCMU", uint32(8000), fin, uint32(0), uint64(startUS + 2e6), uint64(startUS + 62e6),
			packets, packets + uint64(lost), lost, uint64(0), uint64(0), jitterMax / 2, jitterMax, uint32(20000), uint32(0),
			uint32(1000), uint64(0), uint64(0), mos, mos, mos, dir}
	}
	rtp := [][]any{
		report("both", 1, true, 3000, 0, 1000, 4410),
		report("both", 2, true, 2990, 10, 3000, 3200),
		report("both", 2, false, 500, 10, 3000, 1000), // an interval report: not the stream's figure
		report("oneway", 1, true, 2900, 0, 2000, 4100),
		report("good", 1, true, 3000, 0, 500, 4300),
		report("good", 2, true, 3000, 0, 700, 4400),
	}
	rtp = append(rtp, rtp[0]) // a redelivered copy collapses under FINAL
	if err := st.Insert(ctx, db+".rtp_reports", schema.RTPReportColumns, rtp); err != nil {
		t.Fatal(err)
	}
	if err := RecomputeRollups(ctx, st, db, minute, minute.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	ks, err := KPIs(ctx, st, db, KPIQuery{From: minute, To: minute.Add(time.Hour), By: ByTrunk})
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 1 {
		t.Fatalf("%d KPI rows, want 1: %+v", len(ks), ks)
	}
	q := ks[0].Quality
	want := Quality{MediaLegs: 3, MOSSumX1000: 3200 + 4100 + 4300, MOSLE: [9]int64{0, 0, 0, 1, 1, 1, 1, 2, 3},
		Streams: 5, Packets: 3000 + 2990 + 2900 + 3000 + 3000, Lost: 10, JitterMaxSumUS: 1000 + 3000 + 2000 + 500 + 700,
		JitterMaxUS: 3000, OneWayLegs: 1}
	if q != want {
		t.Fatalf("quality:\n got  %+v\n want %+v", q, want)
	}
	if m := q.MOSMean(); math.Abs(m-11.6/3) > 1e-9 {
		t.Errorf("MOS mean %v", m)
	}
	if p := q.MOSQuantile(0.1); p != 3.5 {
		t.Errorf("MOS p10 %v, want 3.5 (the bucket of the worst of three legs)", p)
	}
	if p := q.MOSQuantile(1); p != 4.4 {
		t.Errorf("MOS p100 %v", p)
	}
	if l := q.LossPct(); math.Abs(l-100*10.0/14900) > 1e-9 {
		t.Errorf("loss %v%%", l)
	}
	// Per destination the same legs, grouped by the callee's country.
	ds, err := KPIs(ctx, st, db, KPIQuery{From: minute, To: minute.Add(time.Hour), By: ByDestination})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Destination != "+31" || ds[0].Quality != want {
		t.Fatalf("by destination: %+v", ds)
	}
}

// TestRollupFollowsMovedLeg: a late event that changes a stored leg's
// trunk (here: a rewrite at a higher version) must move it between rollup
// groups, not count it in both.
func TestRollupFollowsMovedLeg(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, st store.Store, db string) {
		ctx := context.Background()
		if _, err := schema.Migrate(ctx, st, db); err != nil {
			t.Fatal(err)
		}
		minute := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		c := CDR{CallID: "moved", Trunk: "carrier-a", Direction: "outbound", StartUS: minute.UnixMicro() + 1e6,
			EndUS: minute.UnixMicro() + 2e6, PDDMs: -1, RingMs: -1, Outcome: Busy, FinalCode: 486, Version: 1}
		var sp span
		for i, trunk := range []string{"carrier-a", "carrier-b"} {
			c.Trunk, c.Version = trunk, uint64(i+1)
			if err := st.Insert(ctx, db+".cdrs", schema.CDRColumns, [][]any{c.Row()}); err != nil {
				t.Fatal(err)
			}
			sp.add(&c)
			if err := rollup(ctx, st, db, sp, uint64(10*(i+1))); err != nil {
				t.Fatal(err)
			}
			ks, err := KPIs(ctx, st, db, KPIQuery{From: minute, To: minute.Add(time.Hour), By: ByTrunk})
			if err != nil {
				t.Fatal(err)
			}
			if len(ks) != 1 || ks[0].Trunk != trunk || ks[0].Attempts != 1 || ks[0].Busy != 1 || len(ks[0].Codes) != 1 {
				t.Fatalf("after storing the leg on %s: %+v", trunk, ks)
			}
		}
	})
}

// TestKPIReachability: OPTIONS pings give each trunk row its availability
// and mean RTT, and an idle trunk that was only pinged still gets a row.
func TestKPIReachability(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, st store.Store, db string) {
		ctx := context.Background()
		if _, err := schema.Migrate(ctx, st, db); err != nil {
			t.Fatal(err)
		}
		minute := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
		c := CDR{CallID: "c1", Trunk: "primary", Direction: "outbound", StartUS: minute.UnixMicro() + 1e6,
			EndUS: minute.UnixMicro() + 2e6, PDDMs: -1, RingMs: -1, Outcome: Busy, FinalCode: 486, Version: 1}
		if err := st.Insert(ctx, db+".cdrs", schema.CDRColumns, [][]any{c.Row()}); err != nil {
			t.Fatal(err)
		}
		var pings [][]any
		ping := func(trunk string, sec int, result string, rttUS uint32) {
			ts := minute.Add(time.Duration(sec) * time.Second)
			pings = append(pings, []any{fmt.Sprintf("%s-%d", trunk, sec), ts, uint64(ts.UnixMicro()), trunk, "sip:x", "udp",
				uint16(200), rttUS, result, "up", "p", ""})
		}
		ping("primary", 1, "ok", 1000)
		ping("primary", 2, "ok", 3000)
		ping("primary", 3, "ok", 2000)
		ping("primary", 4, "timeout", 0)
		ping("backup", 5, "ok", 500)
		pings = append(pings, pings[0]) // a redelivered event collapses
		if err := st.Insert(ctx, db+".options_pings", schema.OptionsPingColumns, pings); err != nil {
			t.Fatal(err)
		}
		if err := RecomputeRollups(ctx, st, db, minute, minute.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		ks, err := KPIs(ctx, st, db, KPIQuery{From: minute, To: minute.Add(time.Hour), By: ByTrunk})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]Reachability{}
		for _, k := range ks {
			got[k.Trunk] = k.Reachability
		}
		if len(ks) != 2 || got["primary"] != (Reachability{4, 3, 6000}) || got["backup"] != (Reachability{1, 1, 500}) {
			t.Fatalf("KPI rows %+v", ks)
		}
		if a, r := got["primary"].Availability(), got["primary"].RTT(); a != 0.75 || r != 2*time.Millisecond {
			t.Fatalf("primary: availability %v, RTT %v", a, r)
		}
	})
}
