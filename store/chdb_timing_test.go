package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store/storetest"
)

// BenchmarkInsertSIPEvents measures storing a collector batch of raw SIP
// events (5,000 rows of about 500 bytes) in chDB.
func BenchmarkInsertSIPEvents(b *testing.B) {
	st, db := storetest.Embedded(b)
	ctx := context.Background()
	if _, err := schema.Migrate(ctx, st, db); err != nil {
		b.Fatal(err)
	}
	raw := make([]byte, 480)
	for i := range raw {
		raw[i] = 'a' + byte(i%26)
	}
	ts := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	rows := make([][]any, 5000)
	for i := range rows {
		rows[i] = []any{fmt.Sprintf("%032x", i), ts, uint64(ts.UnixMicro() + int64(i)), "p", fmt.Sprintf("call-%d", i/6),
			"10.0.0.1", uint16(5060), "10.0.0.2", uint16(5060), "udp", "INVITE", uint16(0), uint32(1), raw}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(rows)))
	for b.Loop() {
		if err := st.Insert(ctx, db+".sip_events", schema.SIPEventColumns, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
