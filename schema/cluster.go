package schema

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/trunkscope/trunkscope/store"
)

// Cluster mode. With store.Info.Cluster set, every migration statement is
// rewritten for a ClickHouse cluster (the migration files stay single-node
// SQL, so both modes run the same migrations):
//
//   - CREATE TABLE db.t (...) ENGINE = ReplacingMergeTree(v) ... becomes
//     db.t_local ON CLUSTER c, ENGINE = ReplicatedReplacingMergeTree(
//     '/clickhouse/tables/{shard}/db/t_local', '{replica}', v), and
//     db.t ON CLUSTER c AS db.t_local ENGINE = Distributed(c, db, t_local,
//     key). Every server needs the macros {shard} and {replica}.
//   - ALTER TABLE db.t ... is applied ON CLUSTER to db.t_local; db.t is
//     then dropped and created again (it holds no data: inserts through it
//     are synchronous) so it has the new columns.
//   - Other CREATE/DROP statements get ON CLUSTER.
//
// Writers and readers keep using db.t: inserts go through the Distributed
// table (synchronously, see store/chserver), queries read it.
//
// FINAL over a Distributed table: ClickHouse (18.16 as much as current
// versions) sends the query, FINAL included, to one replica of each shard;
// each shard collapses its own rows and the initiator merges the partial
// results. That is exact only if every version of a row lives on one shard.
// The sharding key guarantees it: cityHash64(call_id) for tables whose
// ORDER BY key contains call_id (raw events, CDRs, rated CDRs, RTP and RTCP
// reports: a call's rows stay together, so per-call joins stay on one shard
// too), otherwise cityHash64 of the whole ORDER BY key (the KPI rollups),
// so rows that replace each other always meet on the same shard. A
// replicated shard converges by replication, and rows are immutable
// versions, so any replica's FINAL is a correct (possibly older) view.

var (
	createTable = regexp.MustCompile(`(?is)^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+(\w+)\.(\w+)\s*(\(.*\))\s*ENGINE\s*=\s*(\w*)MergeTree\s*(?:\(([^)]*)\))?(.*)$`)
	orderBy     = regexp.MustCompile(`(?i)ORDER BY`)
	alterTable  = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+(\w+)\.(\w+)\s+(.*)$`)
	otherDDL    = regexp.MustCompile(`(?is)^((?:CREATE|DROP)\s+(?:TABLE|VIEW|DATABASE)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?[\w.]+)(.*)$`)
	matView     = regexp.MustCompile(`(?is)^CREATE\s+MATERIALIZED\s+VIEW`)
)

// LocalSuffix names the replicated table under each Distributed table.
const LocalSuffix = "_local"

// clusterize rewrites one rendered statement for cluster c.
func clusterize(stmt, c string) ([]string, error) {
	on := " ON CLUSTER " + c
	if m := createTable.FindStringSubmatch(stmt); m != nil {
		db, t, cols, kind, args, rest := m[1], m[2], m[3], m[4], strings.TrimSpace(m[5]), m[6]
		local := t + LocalSuffix
		rargs := fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s', '{replica}'", db, local)
		if args != "" {
			rargs += ", " + args
		}
		key, err := shardingKey(rest)
		if err != nil {
			return nil, fmt.Errorf("table %s.%s: %w", db, t, err)
		}
		return []string{
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s %s ENGINE = Replicated%sMergeTree(%s)%s", db, local, on, cols, kind, rargs, rest),
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s AS %s.%s ENGINE = Distributed(%s, %s, %s, %s)", db, t, on, db, local, c, db, local, key),
		}, nil
	}
	if m := alterTable.FindStringSubmatch(stmt); m != nil {
		// Only the local tables: a Distributed table cannot be altered ON
		// CLUSTER when the shards replicate internally (18.16 refuses:
		// "Table isn't replicated, but shard is replicated"). Migrate
		// recreates the Distributed tables of altered tables afterwards
		// (recreateDistributed).
		db, t, rest := m[1], m[2], m[3]
		return []string{fmt.Sprintf("ALTER TABLE %s.%s%s%s %s", db, t, LocalSuffix, on, rest)}, nil
	}
	if matView.MatchString(stmt) {
		// A materialized view fires on inserts into the table it reads,
		// which in a cluster are the local tables of each shard: it needs
		// its own local/Distributed pair, which this rewrite does not make.
		return nil, fmt.Errorf("materialized views are not supported in cluster mode")
	}
	if m := otherDDL.FindStringSubmatch(stmt); m != nil {
		return []string{m[1] + on + m[2]}, nil
	}
	if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(stmt)), "INSERT") {
		return []string{stmt}, nil // through the Distributed table
	}
	return nil, fmt.Errorf("no cluster form for statement %.60q", stmt)
}

// shardingKey hashes call_id when the ORDER BY key has it, else the whole
// ORDER BY key: rows that replace each other always land on one shard.
func shardingKey(rest string) (string, error) {
	loc := orderBy.FindStringIndex(rest)
	if loc == nil {
		return "", fmt.Errorf("no ORDER BY to shard by")
	}
	cols := orderByColumns(rest[loc[0]:])
	if len(cols) == 0 {
		return "", fmt.Errorf("empty ORDER BY")
	}
	for _, c := range cols {
		if c == "call_id" {
			return "cityHash64(call_id)", nil
		}
	}
	return "cityHash64(" + strings.Join(cols, ", ") + ")", nil
}

// orderByColumns splits "ORDER BY (a, f(b, c)) ..." or "ORDER BY a ..."
// into its top-level expressions.
func orderByColumns(s string) []string {
	s = strings.TrimSpace(s[len("ORDER BY"):])
	if !strings.HasPrefix(s, "(") {
		end := strings.IndexFunc(s, func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' })
		if end < 0 {
			end = len(s)
		}
		return []string{s[:end]}
	}
	var cols []string
	depth, start := 0, 1
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				if c := strings.TrimSpace(s[start:i]); c != "" {
					cols = append(cols, c)
				}
				return cols
			}
		case ',':
			if depth == 1 {
				cols = append(cols, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return nil // unbalanced
}

// alteredTables returns the base names of the local tables stmts alter.
func alteredTables(stmts []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range stmts {
		m := alterTable.FindStringSubmatch(s)
		if m == nil || !strings.HasSuffix(m[2], LocalSuffix) {
			continue
		}
		t := strings.TrimSuffix(m[2], LocalSuffix)
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// recreateDistributed drops db.t and creates it again over db.t_local,
// with the sharding key derived from the local table's ORDER BY, as the
// CREATE did. Idempotent, and safe to interrupt: it reads only the local
// table.
func recreateDistributed(ctx context.Context, st store.Store, db, t, c string) error {
	r, err := st.Query(ctx, fmt.Sprintf("SHOW CREATE TABLE %s.%s%s", db, t, LocalSuffix))
	if err != nil {
		return fmt.Errorf("reading %s.%s%s: %w", db, t, LocalSuffix, err)
	}
	if len(r.Data) != 1 || len(r.Data[0]) != 1 {
		return fmt.Errorf("SHOW CREATE TABLE %s.%s%s: %v", db, t, LocalSuffix, r.Data)
	}
	key, err := shardingKey(r.Data[0][0])
	if err != nil {
		return fmt.Errorf("table %s.%s%s: %w", db, t, LocalSuffix, err)
	}
	on := " ON CLUSTER " + c
	if err := st.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %s.%s%s", db, t, on)); err != nil {
		return err
	}
	return st.Exec(ctx, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s%s AS %s.%s%s ENGINE = Distributed(%s, %s, %s%s, %s)",
		db, t, on, db, t, LocalSuffix, c, db, t, LocalSuffix, key))
}
