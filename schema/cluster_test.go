package schema_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/schema"
	"github.com/trunkscope/trunkscope/store"
	"github.com/trunkscope/trunkscope/store/chserver"
	"github.com/trunkscope/trunkscope/store/storetest"
)

// Rendering for a cluster: replicated local tables, Distributed tables
// sharded so that rows replacing each other meet on one shard.
func TestRenderCluster(t *testing.T) {
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	info := store.Info{Engine: "clickhouse", Version: "18.16.1", Major: 18, Cluster: "c1"}
	var all []string
	for _, m := range ms {
		stmts, err := m.Render("db", info)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, stmts...)
	}
	text := strings.Join(all, "\n;\n")
	for _, want := range []string{
		"CREATE TABLE IF NOT EXISTS db.cdrs_local ON CLUSTER c1 (",
		"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/cdrs_local', '{replica}', version)",
		"CREATE TABLE IF NOT EXISTS db.cdrs ON CLUSTER c1 AS db.cdrs_local ENGINE = Distributed(c1, db, cdrs_local, cityHash64(call_id))",
		"ENGINE = Distributed(c1, db, kpi_minute_local, cityHash64(minute, trunk, direction, destination))",
		"ALTER TABLE db.cdrs_local ON CLUSTER c1 ADD COLUMN caller_e164",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("cluster schema lacks %q", want)
		}
	}
	if strings.Contains(text, "ENGINE = ReplacingMergeTree") {
		t.Error("a non-replicated table in cluster mode")
	}
	// Single node: unchanged.
	info.Cluster = ""
	stmts, _ := ms[0].Render("db", info)
	if strings.Contains(strings.Join(stmts, ";"), "CLUSTER") {
		t.Error("single-node schema mentions a cluster")
	}
}

// Two shards of two replicas (four ClickHouse 18.16 servers and a
// ZooKeeper on loopback): migrations ON CLUSTER from one server, inserts
// through the Distributed tables, replication within a shard, and FINAL
// over Distributed tables exact across shards.
func TestClusterMigrateReplicateQuery(t *testing.T) {
	c := storetest.Cluster(t, 2, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s1r1 := c.Open(t, c.Addrs[0][0])
	db := storetest.NewDatabase(t)
	applied, err := schema.Migrate(ctx, s1r1, db)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := schema.Migrations()
	if len(applied) != len(ms) {
		t.Fatalf("applied %v, want all %d", applied, len(ms))
	}
	// Every server has the tables and the migration record.
	for _, addr := range c.All() {
		st := c.Open(t, addr)
		again, err := schema.Migrate(ctx, st, db)
		if err != nil || len(again) != 0 {
			t.Fatalf("migrate again on %s applied %v, %v; want nothing", addr, again, err)
		}
		r, err := st.Query(ctx, "SELECT name, engine FROM system.tables WHERE database = "+store.Quote(db)+" AND name IN ('cdrs', 'cdrs_local') ORDER BY name")
		if err != nil || len(r.Data) != 2 || r.String(0, "engine") != "Distributed" || r.String(1, "engine") != "ReplicatedReplacingMergeTree" {
			t.Fatalf("tables on %s: %v %v", addr, r.Data, err)
		}
	}

	// 200 legs, each stored twice (a redelivery) and then once more with a
	// higher version (a late update), in separate inserts.
	const calls = 200
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	cdr := func(i int, outcome string, version uint64) []any {
		ts := start.Add(time.Duration(i) * time.Second)
		row := map[string]any{"call_id": fmt.Sprintf("call-%d", i), "leg": uint8(1), "trunk": fmt.Sprintf("t%d", i%4),
			"direction": "outbound", "start_time": ts, "start_us": uint64(ts.UnixMicro()), "outcome": outcome,
			"duration_ms": uint64(1000 * i), "version": version, "pdd_ms": int64(-1), "ring_ms": int64(-1)}
		out := make([]any, len(schema.CDRColumns))
		for j, col := range schema.CDRColumns {
			v, ok := row[col]
			if !ok {
				v = zeroOf(col)
			}
			out[j] = v
		}
		return out
	}
	for pass, outcome := range []string{"timeout", "timeout", "answered"} {
		var rows [][]any
		for i := range calls {
			rows = append(rows, cdr(i, outcome, uint64(1+pass/2)))
		}
		if err := s1r1.Insert(ctx, db+".cdrs", schema.CDRColumns, rows); err != nil {
			t.Fatal(err)
		}
	}
	var total, dur int64
	for i := range calls {
		dur += int64(1000 * i)
	}
	// Exact through the Distributed table from every server: the other
	// shard was written synchronously, the other replica catches up.
	q := "SELECT count() AS n, countIf(outcome = 'answered') AS a, sum(duration_ms) AS d FROM " + db + ".cdrs FINAL"
	for _, addr := range c.All() {
		st := c.Open(t, addr)
		deadline := time.Now().Add(60 * time.Second)
		for {
			r, err := st.Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if r.Int(0, "n") == calls && r.Int(0, "a") == calls && r.Int(0, "d") == dur {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("on %s: %v, want %d answered legs of total duration %d", addr, r.Data, calls, dur)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	// Both shards hold part of the calls, each call on one shard only, and
	// the replicas of a shard agree.
	for s, shard := range c.Addrs {
		var counts []int64
		for _, addr := range shard {
			st := c.Open(t, addr)
			deadline := time.Now().Add(60 * time.Second)
			for {
				r, err := st.Query(ctx, "SELECT count() AS n, max(version) AS v FROM "+db+".cdrs_local FINAL")
				if err != nil {
					t.Fatal(err)
				}
				if n := r.Int(0, "n"); n > 0 && (len(counts) == 0 || n == counts[0]) {
					counts = append(counts, n)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("shard %d replica %s: %v, other replica %v", s+1, addr, r.Data, counts)
				}
				time.Sleep(300 * time.Millisecond)
			}
		}
		total += counts[0]
	}
	if total != calls {
		t.Fatalf("shards hold %d legs in all, want %d (each call on exactly one shard)", total, calls)
	}
	// A join of two Distributed tables through subqueries (the readers'
	// form) is exact too.
	var rated [][]any
	for i := range calls {
		rated = append(rated, []any{fmt.Sprintf("call-%d", i), uint8(1), "cost", fmt.Sprintf("t%d", i%4), start, "d", "v1", "31", "NL",
			uint32(60), int64(100), uint8(4), "EUR", uint64(1)})
	}
	// The rated_cdrs columns the rows above give (the rest take defaults).
	ratedCols := []string{"call_id", "leg", "side", "trunk", "start_time", "deck", "deck_version",
		"prefix", "destination", "billable_s", "amount", "decimals", "currency", "version"}
	// Written from the other replica of shard 1 with insert_quorum 2 (what
	// collectors spread over replicas use), read back from s1r1 at once.
	quorum, err := chserver.Open(ctx, chserver.Options{Addrs: []string{c.Addrs[0][1]}, Cluster: c.Name, InsertQuorum: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer quorum.Close()
	if err := quorum.Insert(ctx, db+".rated_cdrs", ratedCols, rated); err != nil {
		t.Fatal(err)
	}
	r, err := s1r1.Query(ctx, `SELECT count() AS n, sum(amount) AS amount FROM (
		SELECT call_id, leg FROM `+db+`.cdrs FINAL WHERE outcome = 'answered') AS c
		ALL LEFT JOIN (SELECT call_id, leg, amount FROM `+db+`.rated_cdrs FINAL WHERE side = 'cost') AS r USING (call_id, leg)`)
	if err != nil || r.Int(0, "n") != calls || r.Int(0, "amount") != 100*calls {
		t.Fatalf("join over Distributed tables: %v %v", r.Data, err)
	}
}

// zeroOf gives a CDR column's zero value by its name's type.
func zeroOf(col string) any {
	switch col {
	case "leg":
		return uint8(0)
	case "start_us", "ring_us", "answer_us", "end_us", "duration_ms", "version":
		return uint64(0)
	case "pdd_ms", "ring_ms":
		return int64(0)
	case "final_code", "reason_cause":
		return uint16(0)
	case "start_time":
		return time.Unix(0, 0).UTC()
	}
	return ""
}
