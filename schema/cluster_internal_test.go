package schema

import "testing"

func TestShardingKey(t *testing.T) {
	for _, tc := range []struct{ rest, want string }{
		{"PARTITION BY toYYYYMM(ts)\nORDER BY (call_id, ts_us, event_id)", "cityHash64(call_id)"},
		{"PARTITION BY toYYYYMM(minute)\nORDER BY (minute, trunk, direction, code)", "cityHash64(minute, trunk, direction, code)"},
		{"ORDER BY (trunk, toStartOfMinute(ts), intDiv(x, 10)) SETTINGS index_granularity = 8192", "cityHash64(trunk, toStartOfMinute(ts), intDiv(x, 10))"},
		{"ORDER BY version\n", "cityHash64(version)"},
	} {
		got, err := shardingKey(tc.rest)
		if err != nil || got != tc.want {
			t.Errorf("%q: %q %v, want %q", tc.rest, got, err, tc.want)
		}
	}
	if _, err := shardingKey("PARTITION BY x"); err == nil {
		t.Error("no ORDER BY accepted")
	}
	if _, err := clusterize("CREATE MATERIALIZED VIEW db.v TO db.t AS SELECT 1", "c"); err == nil {
		t.Error("materialized view accepted in cluster mode")
	}
	if _, err := clusterize("OPTIMIZE TABLE db.t FINAL", "c"); err == nil {
		t.Error("a statement with no cluster form accepted")
	}
}
