package collector

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store"
	"github.com/trunkscope/trunkscope/store/storetest"
)

// Active-probe results go through the embedded broker and the collector
// into options_pings and test_calls, once each however often they are
// delivered; the failover check then reads the primary's down period and
// where the calls went meanwhile.
func TestProbeResultsAndFailover(t *testing.T) {
	t.Run("chdb", func(t *testing.T) {
		st, db := storetest.Embedded(t)
		testProbeResults(t, st, db)
	})
	t.Run("clickhouse-18.16", func(t *testing.T) {
		st, db := storetest.Server(t)
		testProbeResults(t, st, db)
	})
}

func testProbeResults(t *testing.T, st store.Store, db string) {
	ctx := context.Background()
	if _, err := schema.Migrate(ctx, st, db); err != nil {
		t.Fatal(err)
	}
	b, err := bus.StartEmbedded(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	topics := bus.DefaultTopics()
	if err := bus.EnsureTopics(ctx, b.Addrs(), topics.All(), 2, 1); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC).UnixMicro()
	sec := int64(time.Second / time.Microsecond)
	ids := event.NewIDHasher()
	var pings []*event.OptionsPing
	ping := func(trunk string, at int64, st event.TrunkState, res event.PingResult, code uint16) {
		p := &event.OptionsPing{Header: event.Header{Version: event.Version, ProbeID: []byte("p1"), TimeUS: at}, Trunk: []byte(trunk),
			Target: []byte("sip:" + trunk + ":5060"), Transport: event.TransportUDP, Code: code, Result: res, State: st}
		if code != 0 {
			p.RTTUS = 1500
		}
		ids.SetOptionsPingID(p)
		pings = append(pings, p)
	}
	for i := int64(0); i < 8; i++ {
		ping("backup", t0+i*10*sec, event.StateUp, event.PingOK, 200)
	}
	ping("primary", t0, event.StateUp, event.PingOK, 200)
	ping("primary", t0+10*sec, event.StateDegraded, event.PingTimeout, 0)
	ping("primary", t0+20*sec, event.StateDegraded, event.PingTimeout, 0)
	ping("primary", t0+30*sec, event.StateDown, event.PingTimeout, 0) // down from here
	ping("primary", t0+40*sec, event.StateDown, event.PingRefused, 0)
	ping("primary", t0+50*sec, event.StateDegraded, event.PingOK, 200) // to here
	ping("primary", t0+60*sec, event.StateUp, event.PingOK, 200)
	call := &event.TestCall{Header: event.Header{Version: event.Version, ProbeID: []byte("p1"), TimeUS: t0 + 5*sec}, Trunk: []byte("backup"),
		CallID: []byte("tc1@trunkscope"), Target: []byte("sip:100@backup:5060"), Result: event.CallAnswered, Code: 200, PDDMS: 120, SetupMS: 900,
		DurationMS: 10000, TxPackets: 500, RxPackets: 490, RxLost: 10, JitterUS: 2100, MOSx1000: 4100, Detail: []byte("")}
	ids.SetTestCallID(call)

	// Published twice: a producer retry must not double the rows.
	prod := bus.NewProducer(b.Addrs(), topics, bus.ProducerOptions{})
	for range 2 {
		for _, p := range pings {
			if err := prod.OptionsPing(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := prod.TestCall(call); err != nil {
			t.Fatal(err)
		}
	}
	if err := prod.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ends, err := bus.EndOffsets(ctx, b.Addrs(), topics.Probe)
	if err != nil {
		t.Fatal(err)
	}
	want := map[TopicPartition]int64{}
	for p, end := range ends {
		want[TopicPartition{topics.Probe, p}] = end
	}
	cons, err := bus.NewConsumer(b.Addrs(), "g", topics.All())
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	pricing, err := LoadPricing(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	col := New(Options{Database: db, BatchSize: 100, FlushInterval: 100 * time.Millisecond}, cons, st, NewTrunks(nil, config.Numbering{}), pricing)
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := col.Drain(dctx, want, 0); err != nil {
		t.Fatal(err)
	}
	r, err := st.Query(ctx, "SELECT trunk, count() AS n, countIf(state = 'down') AS down, sum(rtt_us) AS rtt FROM "+db+".options_pings FINAL GROUP BY trunk ORDER BY trunk")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Data) != 2 || r.Int(0, "n") != 8 || r.Int(1, "n") != 7 || r.Int(1, "down") != 2 || r.Int(0, "rtt") != 8*1500 {
		t.Fatalf("options_pings: %v", r.Data)
	}
	r, err = st.Query(ctx, "SELECT call_id, result, code, pdd_ms, setup_ms, rx_packets, rx_lost, jitter_us, mos_x1000, tx_packets FROM "+db+".test_calls FINAL")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Data) != 1 || r.String(0, "result") != "answered" || r.Int(0, "pdd_ms") != 120 || r.Int(0, "mos_x1000") != 4100 ||
		r.Int(0, "rx_lost") != 10 || r.Int(0, "tx_packets") != 500 || r.Int(0, "jitter_us") != 2100 {
		t.Fatalf("test_calls: %v", r.Data)
	}

	// Calls during the primary's outage (t0+30s .. t0+50s) went to the
	// backup: failover verified.
	g := config.Group{Name: "nl-out", Trunks: []config.GroupMember{{Trunk: "primary", Priority: 1}, {Trunk: "backup", Priority: 2}}}
	cdr := func(id, trunk string, at int64, outcome Outcome) []any {
		c := CDR{CallID: id, Leg: 1, Trunk: trunk, Direction: "outbound", StartUS: at, EndUS: at + sec, Outcome: outcome, PDDMs: -1, RingMs: -1, Version: 1}
		return c.Row()
	}
	rows := [][]any{cdr("a", "primary", t0+5*sec, Answered), cdr("b", "backup", t0+35*sec, Answered),
		cdr("c", "backup", t0+45*sec, Answered), cdr("d", "primary", t0+55*sec, Answered)}
	if err := st.Insert(ctx, db+".cdrs", schema.CDRColumns, rows); err != nil {
		t.Fatal(err)
	}
	check := func(wantVerified bool, still int64) {
		t.Helper()
		ps, err := Failover(ctx, st, db, g, t0, t0+120*sec)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 1 {
			t.Fatalf("periods %+v", ps)
		}
		p := ps[0]
		if p.Trunk != "primary" || p.FromUS != t0+30*sec || p.ToUS != t0+50*sec || p.MovedTo != "backup" || p.Attempts["backup"] != 2 ||
			p.StillSent != still || p.Verified() != wantVerified {
			t.Fatalf("period %+v", p)
		}
	}
	check(true, 0)
	// A switch that still routes to the dead primary: not verified.
	if err := st.Insert(ctx, db+".cdrs", schema.CDRColumns, [][]any{cdr("e", "primary", t0+40*sec, Timeout)}); err != nil {
		t.Fatal(err)
	}
	check(false, 1)
}
