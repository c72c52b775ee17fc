package macros

import (
	"strings"
	"testing"
	"time"
)

// Expansions as the ClickHouse plugin produces them (its pkg/macros tests).
func TestExpand(t *testing.T) {
	r := TimeRange{From: time.Unix(1767603600, 0), To: time.Unix(1767607200, 0), Interval: 90 * time.Second}
	for _, tc := range []struct{ in, want string }{
		{"WHERE $__timeFilter(minute)", "WHERE minute >= toDateTime(1767603600) AND minute <= toDateTime(1767607200)"},
		{"WHERE $__timeFilter( ts )", "WHERE ts >= toDateTime(1767603600) AND ts <= toDateTime(1767607200)"},
		{"ts >= $__fromTime AND ts < $__toTime", "ts >= toDateTime(1767603600) AND ts < toDateTime(1767607200)"},
		{"ts >= $__fromTime() AND ts < $__toTime - 300", "ts >= toDateTime(1767603600) AND ts < toDateTime(1767607200) - 300"},
		{"intDiv(x, $__interval_s) * $__interval_s", "intDiv(x, 90) * 90"},
	} {
		got, err := Expand(tc.in, r)
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	// Sub-second intervals are at least 1 s, as the plugin makes them.
	if got, _ := Expand("$__interval_s", TimeRange{Interval: 200 * time.Millisecond}); got != "1" {
		t.Errorf("interval_s of 200ms: %q", got)
	}
	for _, in := range []string{"$__timeInterval(ts)", "$__fromTime_ms", "$__timeFilter_ms(ts)", "$__toTime_ms", "$__nope"} {
		if _, err := Expand(in, r); err == nil {
			t.Errorf("%s expanded; want refused", in)
		}
	}
	if _, err := Expand("$__timeFilter(a, b)", r); err == nil || !strings.Contains(err.Error(), "arguments") {
		t.Errorf("two arguments: %v", err)
	}
}

func TestVariables(t *testing.T) {
	got := ExpandVariables("trunk = ${trunk:sqlstring} AND d = '${direction}' AND x = $trunk", map[string]string{"trunk": "o'brien", "direction": "inbound"})
	if want := "trunk = 'o''brien' AND d = 'inbound' AND x = o'brien"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestInterval(t *testing.T) {
	from := time.Unix(0, 0)
	if got := Interval(from, from.Add(6*time.Hour), 500, time.Minute); got != time.Minute {
		t.Errorf("6h/500 points: %v", got)
	}
	if got := Interval(from, from.Add(7*24*time.Hour), 500, time.Minute); got != 20*time.Minute {
		t.Errorf("7d/500 points: %v", got)
	}
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"$__timeFilter(x)", "$__fromTime", "$__interval_s(", "$__timeFilter(", "$__toTime)", "$$__", "x"} {
		f.Add(s)
	}
	r := TimeRange{From: time.Unix(1, 0), To: time.Unix(2, 0), Interval: time.Second}
	f.Fuzz(func(t *testing.T, s string) {
		Expand(s, r)
		ExpandVariables(s, map[string]string{"trunk": s})
	})
}
