package schema_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store"
	"github.com/trunkscope/trunkscope/store/storetest"
)

// The same migrations and the same reads must work on both engines.
func TestMigrateBothEngines(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, st store.Store, db string) {
		ctx := context.Background()
		applied, err := schema.Migrate(ctx, st, db)
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := schema.Migrations()
		if len(applied) != len(ms) {
			t.Fatalf("applied %v, want all %d", applied, len(ms))
		}
		again, err := schema.Migrate(ctx, st, db)
		if err != nil || len(again) != 0 {
			t.Fatalf("second migrate applied %v, %v; want nothing", again, err)
		}
		testRoundTrip(t, st, db)
		want := "LowCardinality(String)"
		if st.Info().Major < 19 {
			want = "String"
		}
		r, err := st.Query(ctx, "SELECT type FROM system.columns WHERE database = '"+db+"' AND table = 'cdrs' AND name = 'outcome'")
		if err != nil || len(r.Data) != 1 || r.String(0, "type") != want {
			t.Fatalf("cdrs.outcome on %s: %v %v, want %s", st.Info().Version, r.Data, err, want)
		}
		err = schema.ApplyRetention(ctx, st, db, 90)
		if st.Info().Major < 19 {
			if !errors.Is(err, schema.ErrNoTTL) {
				t.Fatalf("retention on %s: %v, want ErrNoTTL", st.Info().Version, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		r, err = st.Query(ctx, "SELECT create_table_query AS q FROM system.tables WHERE database = '"+db+"' AND name = 'cdrs'")
		if err != nil || !strings.Contains(r.String(0, "q"), "TTL start_time + toIntervalDay(90)") {
			t.Fatalf("cdrs has no TTL: %v %v", r.Data, err)
		}
	})
}

func testRoundTrip(t *testing.T, st store.Store, db string) {
	ctx := context.Background()
	ts := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	row := func(ver uint64) []any {
		return []any{"e1", ts, uint64(ts.UnixMicro()), "p", "call-1", "10.0.0.1", uint16(5060),
			"10.0.0.2", uint16(5060), "udp", "INVITE", uint16(0), uint32(1), []byte("INVITE\t\x00\xff\r\n")}
	}
	for i := 0; i < 2; i++ { // the same event twice: a redelivery
		if err := st.Insert(ctx, db+".sip_events", schema.SIPEventColumns, [][]any{row(1)}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := st.Query(ctx, "SELECT count() AS n, any(hex(raw)) AS raw, any(ts) AS ts FROM "+db+".sip_events FINAL")
	if err != nil {
		t.Fatal(err)
	}
	if r.Int(0, "n") != 1 || r.String(0, "raw") != "494E56495445090FF0D0A"[:0]+"494E5649544509"+"00FF0D0A" || r.String(0, "ts") != "2026-01-05 09:00:00" {
		t.Fatalf("got %v", r.Data)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
}

// Collectors starting together migrate at once: every one succeeds.
func TestConcurrentMigrate(t *testing.T) {
	st, db := storetest.Server(t)
	ctx := context.Background()
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := schema.Migrate(ctx, st, db)
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	applied, err := schema.Applied(ctx, st, db)
	ms, _ := schema.Migrations()
	if err != nil || len(applied) != len(ms) {
		t.Fatalf("applied %v, %v", applied, err)
	}
}
