package collector

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store"
	"github.com/trunkscope/trunkscope/store/storetest"
)

var testTimers = Timers{Invite: 32e9, Proceeding: 180e9, MaxDuration: 4 * 3600e9, Linger: 32e9}

// storeCapture does what the collector does with a capture's events: raw
// events, CDRs, rated CDRs and rollups.
func storeCapture(t *testing.T, st store.Store, db string, file string, pricing *Pricing, trunks *Trunks, hep bool) int {
	t.Helper()
	ctx := context.Background()
	p, err := probe.New()
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTracker(testTimers, trunks, "X-CID")
	var rows [][]any
	var last int64
	n := int64(0)
	sink := probe.SinkFunc(func(ev *event.SIP) error {
		var c event.SIP
		if err := event.DecodeSIP(event.AppendSIP(nil, ev), &c); err != nil {
			return err
		}
		if hep { // as an SBC mirrored it over HEP
			c.CaptureID, c.Node, c.CorrelationID, c.Flags = 2001, []byte("sbc-1"), []byte("corr-"+string(c.CallID)), c.Flags|event.FlagHEP
		}
		tr.Apply(0, n, &c)
		n++
		last = max(last, c.TimeUS)
		rows = append(rows, sipRow(&c))
		return nil
	})
	if err := probe.ReadFile(ctx, file, p, sink, nil); err != nil {
		t.Fatal(err)
	}
	tr.CloseAll(last)
	cdrs := tr.TakeCDRs()
	var crow, rated [][]any
	var sp span
	for i := range cdrs {
		crow = append(crow, cdrs[i].Row())
		rs, _ := pricing.Rate(&cdrs[i], nil)
		for _, r := range rs {
			rated = append(rated, r.Row())
		}
		sp.add(&cdrs[i])
	}
	for _, ins := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{{"sip_events", sipEventColumns, rows}, {"cdrs", schema.CDRColumns, crow}, {"rated_cdrs", schema.RatedCDRColumns, rated}} {
		if err := st.Insert(ctx, db+"."+ins.table, ins.cols, ins.rows); err != nil {
			t.Fatal(err)
		}
	}
	if err := rollup(ctx, st, db, sp, 1); err != nil {
		t.Fatal(err)
	}
	return len(cdrs)
}

// Rebuild's SQL on both engines: unchanged code changes nothing; a stored
// CDR that an older build got wrong is rewritten, alone, and the rollups
// follow it.
func TestRebuildEngines(t *testing.T) {
	for _, e := range []struct {
		name string
		open func(testing.TB) (store.Store, string)
	}{{"chdb", storetest.Embedded}, {"clickhouse-18.16", storetest.Server}} {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			st, db := e.open(t)
			if _, err := schema.Migrate(ctx, st, db); err != nil {
				t.Fatal(err)
			}
			cfg := config.Default()
			pricing, err := LoadPricing(cfg)
			if err != nil {
				t.Fatal(err)
			}
			trunks := NewTrunks(cfg.Trunks, cfg.Numbering)
			legs := storeCapture(t, st, db, filepath.Join("..", "probe", "testdata", "aaa.pcap"), pricing, trunks, false)
			o := RebuildOptions{Database: db, From: timeUnix(0), To: timeUnix(1<<32 - 1), Timers: testTimers, CorrelationHeader: "X-CID", PageSize: 7}
			rep, err := Rebuild(ctx, st, trunks, pricing, o)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Legs != legs || rep.Unchanged != legs || len(rep.Changes) != 0 || rep.KPIBefore != rep.KPIAfter || rep.Events != 81 {
				t.Fatalf("unchanged rebuild: %+v", rep)
			}
			// An older build stored one leg as answered.
			r, err := st.Query(ctx, "SELECT "+strings.Join(schema.CDRColumns, ", ")+" FROM "+db+".cdrs FINAL WHERE outcome = 'rejected' ORDER BY call_id LIMIT 1")
			if err != nil || len(r.Data) != 1 {
				t.Fatalf("a rejected leg: %v", err)
			}
			id := r.String(0, "call_id")
			sel := make([]string, len(schema.CDRColumns))
			for i, c := range schema.CDRColumns {
				switch c {
				case "outcome":
					sel[i] = "'answered'"
				case "version":
					sel[i] = "version + 1"
				default:
					sel[i] = c
				}
			}
			if err := st.Exec(ctx, "INSERT INTO "+db+".cdrs ("+strings.Join(schema.CDRColumns, ", ")+") SELECT "+strings.Join(sel, ", ")+
				" FROM "+db+".cdrs FINAL WHERE call_id = "+store.Quote(id)); err != nil {
				t.Fatalf("corrupting a leg: %v", err)
			}
			if err := RecomputeRollups(ctx, st, db, timeUnix(0), timeUnix(1<<32-1)); err != nil {
				t.Fatal(err)
			}
			rep, err = Rebuild(ctx, st, trunks, pricing, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Changes) != 1 || rep.Changes[0].CallID != id || !strings.Contains(strings.Join(rep.Changes[0].Fields, ";"), `outcome: "answered" -> "rejected"`) {
				t.Fatalf("rebuild after a wrong leg: %+v", rep.Changes)
			}
			if rep.KPIBefore.Answered != rep.KPIAfter.Answered+1 || rep.KPIBefore.Rejected+1 != rep.KPIAfter.Rejected {
				t.Fatalf("KPIs before %+v after %+v", rep.KPIBefore, rep.KPIAfter)
			}
			if rep, err = Rebuild(ctx, st, trunks, pricing, o); err != nil || len(rep.Changes) != 0 {
				t.Fatalf("third rebuild: %v %+v", err, rep)
			}
		})
	}
}

func timeUnix(s int64) time.Time { return time.Unix(s, 0).UTC() }

// Events that came over HEP keep their sender's capture id, node and
// correlation id in the store, so a rebuild resolves trunks restricted to
// a HEP sender and ties legs by correlation id as the collector did.
func TestRebuildHEPRouting(t *testing.T) {
	ctx := context.Background()
	st, db := storetest.Embedded(t)
	if _, err := schema.Migrate(ctx, st, db); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	pricing, err := LoadPricing(cfg)
	if err != nil {
		t.Fatal(err)
	}
	trunks := NewTrunks(append(cfg.Trunks, config.Trunk{Name: "sbc-carrier", Addresses: []string{"200.68.120.81/32"},
		Prefixes: []netip.Prefix{netip.MustParsePrefix("200.68.120.81/32")}, HEPCaptureIDs: []uint32{2001}}), cfg.Numbering)
	legs := storeCapture(t, st, db, filepath.Join("..", "probe", "testdata", "aaa.pcap"), pricing, trunks, true)
	r, err := st.Query(ctx, "SELECT countIf(trunk = 'sbc-carrier') AS n, countIf(correlation LIKE 'corr-%') AS c FROM "+db+".cdrs FINAL")
	if err != nil || r.Int(0, "n") == 0 || r.Int(0, "c") != int64(legs) {
		t.Fatalf("setup: %v %v", r.Data, err)
	}
	rep, err := Rebuild(ctx, st, trunks, pricing, RebuildOptions{Database: db, From: timeUnix(0), To: timeUnix(1<<32 - 1), Timers: testTimers})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Legs != legs || len(rep.Changes) != 0 {
		t.Fatalf("rebuild of HEP events changed legs: %+v", rep.Changes)
	}
}
