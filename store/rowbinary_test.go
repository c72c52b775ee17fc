package store_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/store/storetest"
)

// TestEmbeddedInsertRoundTrip stores every column type the schema uses
// through the RowBinary path and reads it back: raw bytes (all 256 values,
// NUL included) exact, integers converted to the column's width, range
// errors reported instead of corrupting a row.
func TestEmbeddedInsertRoundTrip(t *testing.T) {
	st, db := storetest.Embedded(t)
	ctx := context.Background()
	if err := st.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		t.Fatal(err)
	}
	tbl := db + ".rb"
	if err := st.Exec(ctx, "CREATE TABLE "+tbl+` (s String, lc LowCardinality(String), u8 UInt8, u16 UInt16,
		u32 UInt32, u64 UInt64, i64 Int64, f Float64, ts DateTime('UTC')) ENGINE = MergeTree ORDER BY u64`); err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 256)
	for i := range raw {
		raw[i] = byte(i)
	}
	ts := time.Date(2026, 11, 24, 3, 4, 5, 0, time.UTC)
	cols := []string{"s", "lc", "u8", "u16", "u32", "u64", "i64", "f", "ts"}
	rows := [][]any{
		{raw, "carrier-a", uint8(7), 5060, uint32(1 << 31), uint64(1<<63 + 5), int64(-42), 0.25, ts},
		{"tab\there\nnewline\\", "x", true, uint16(65535), int64(7), uint64(1), int64(9), int64(3), ts.Add(time.Second)},
	}
	if err := st.Insert(ctx, tbl, cols, rows); err != nil {
		t.Fatal(err)
	}
	got, err := st.Query(ctx, "SELECT hex(s) AS h, lc, u8, u16, u32, toString(u64) AS u64, i64, f, ts FROM "+tbl+" ORDER BY u64")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 2 {
		t.Fatalf("rows: %d", len(got.Data))
	}
	want := [][]string{
		{"7461620968657265", "x", "1", "65535", "7", "1", "9", "3", "2026-11-24 03:04:06"},
		{strings.ToUpper(hex.EncodeToString(raw)), "carrier-a", "7", "5060", "2147483648", "9223372036854775813", "-42", "0.25", "2026-11-24 03:04:05"},
	}
	want[0][0] = strings.ToUpper(hex.EncodeToString([]byte("tab\there\nnewline\\")))
	for i := range want {
		for j, w := range want[i] {
			if got.Data[i][j] != w {
				t.Errorf("row %d column %s: got %q, want %q", i, got.Columns[j], got.Data[i][j], w)
			}
		}
	}
	for _, bad := range []struct {
		row  []any
		want string
	}{
		{[]any{"", "", 256, 0, 0, 0, 0, 0, ts}, "out of UInt8's range"},
		{[]any{"", "", 0, -1, 0, 0, 0, 0, ts}, "out of UInt16's range"},
		{[]any{"", "", 0, 0, 0, 0, uint64(1 << 63), 0, ts}, "overflows"},
		{[]any{1, "", 0, 0, 0, 0, 0, 0, ts}, "String column"},
		{[]any{"", "", 0, 0, 0, 0, 0, 0, "now"}, "DateTime column"},
		{[]any{"", "", 0, 0, 0, 0, 0, 0}, "row of 8 values"},
	} {
		err := st.Insert(ctx, tbl, cols, [][]any{bad.row})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("insert %v: err %v, want %q", bad.row, err, bad.want)
		}
	}
	if err := st.Insert(ctx, db+".missing", cols, rows); err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Errorf("missing table: %v", err)
	}
	if err := st.Insert(ctx, tbl, []string{"nope"}, [][]any{{1}}); err == nil || !strings.Contains(err.Error(), "no column nope") {
		t.Errorf("missing column: %v", err)
	}
	n, err := st.Query(ctx, "SELECT count() AS n FROM "+tbl)
	if err != nil || n.Int(0, "n") != 2 {
		t.Fatalf("rows after rejected inserts: %v %v", n, err)
	}
}
