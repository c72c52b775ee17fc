// Package schema owns trunkscope's ClickHouse schema: the versioned
// migrations, and the column lists writers insert with, so table shape and
// writers cannot drift apart.
//
// Every statement must run on ClickHouse server 18.16 and on chDB 26.7:
// no DateTime64 (times are UInt64 microseconds beside a DateTime), no
// toStartOfInterval, no window functions, no TTL, no Nullable where a
// sentinel does. Version-dependent bits are rendered from store.Info.
package schema

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/trunkscope/trunkscope/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DefaultDatabase is the database trunkscope's tables live in.
const DefaultDatabase = "trunkscope"

// Column lists, in insert order.
var (
	SIPEventColumns = []string{"event_id", "ts", "ts_us", "probe_id", "call_id", "src_ip", "src_port",
		"dst_ip", "dst_port", "transport", "method", "status", "cseq", "raw"}
	// SIPEventRoutingColumns (migration 0013) follow SIPEventColumns in the
	// collector's rows: what trunk resolution and leg correlation use beside
	// the raw message, so a rebuild replays the event as consumed.
	SIPEventRoutingColumns = []string{"correlation_id", "capture_id", "node", "flags"}
	CDRColumns             = []string{"call_id", "leg", "trunk", "direction", "probe_id", "caller", "callee",
		"src_ip", "dst_ip", "start_time", "start_us", "ring_us", "answer_us", "end_us", "pdd_ms",
		"duration_ms", "outcome", "final_code", "hangup_by", "flags", "version",
		"caller_e164", "callee_e164", "reason_protocol", "reason_cause", "reason_text", "codecs", "correlation", "ring_ms", "country"}
	RTPReportColumns = []string{"report_id", "ts", "probe_id", "call_id", "src_ip", "src_port", "dst_ip", "dst_port",
		"ssrc", "payload_type", "codec", "clock_hz", "final", "seq", "first_us", "last_us", "packets", "expected", "lost",
		"duplicates", "reordered", "jitter_mean_us", "jitter_max_us", "max_delta_us", "loss_bursts", "burst_r_x1000",
		"late_fixed", "late_adaptive", "mos_x1000", "mos_fixed_x1000", "mos_adaptive_x1000", "direction"}
	RTCPColumns = []string{"event_id", "block", "ts", "ts_us", "call_id", "src_ip", "src_port", "dst_ip", "dst_port",
		"source", "kind", "reporter_ssrc", "ssrc", "fraction_lost", "cumulative_lost", "ext_highest_seq", "jitter", "lsr",
		"dlsr", "sender_packets", "sender_octets", "loss_rate", "discard_rate", "round_trip_ms", "r_factor", "mos_lq_x10", "mos_cq_x10"}
	RatedCDRColumns = []string{"call_id", "leg", "side", "trunk", "start_time", "deck", "deck_version",
		"prefix", "destination", "billable_s", "amount", "decimals", "currency", "version",
		"customer", "band", "status", "reason", "number", "duration_ms", "cost", "price", "margin",
		"margin_decimals", "margin_currency", "billed_from_us"}
)

// Migration is one numbered schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string // template source
}

// Migrations returns the embedded migrations in order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("schema: migration file %s: name must start with a number and '_'", name)
		}
		b, err := fs.ReadFile(migrationFiles, path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: strings.TrimSuffix(name, ".sql"), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("schema: two migrations numbered %d", ms[i].Version)
		}
	}
	return ms, nil
}

// params are what migration templates may use.
type params struct {
	DB string
	// LowCardinalityString is LowCardinality(String) where the engine has it
	// without experimental settings (19.x and later), else String.
	LowCardinalityString string
}

// Render returns a migration's statements for an engine.
func (m Migration) Render(db string, info store.Info) ([]string, error) {
	p := params{DB: db, LowCardinalityString: "String"}
	if info.Major >= 19 {
		p.LowCardinalityString = "LowCardinality(String)"
	}
	t, err := template.New(m.Name).Option("missingkey=error").Parse(m.SQL)
	if err != nil {
		return nil, fmt.Errorf("schema: %s: %w", m.Name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("schema: %s: %w", m.Name, err)
	}
	var stmts []string
	for _, s := range strings.Split(b.String(), ";\n") {
		if s = stripComments(s); s == "" {
			continue
		}
		if info.Cluster == "" {
			stmts = append(stmts, s)
			continue
		}
		cs, err := clusterize(s, info.Cluster)
		if err != nil {
			return nil, fmt.Errorf("schema: %s on cluster %s: %w", m.Name, info.Cluster, err)
		}
		stmts = append(stmts, cs...)
	}
	return stmts, nil
}

func stripComments(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
			keep = append(keep, l)
		}
	}
	return strings.TrimSuffix(strings.TrimSpace(strings.Join(keep, "\n")), ";")
}

// Migrate brings db up to the newest migration and returns the names of the
// migrations it applied. It is idempotent: every statement is itself
// idempotent (IF NOT EXISTS), so a migration interrupted half-way is simply
// applied again, and applied versions are recorded only after success.
func Migrate(ctx context.Context, st store.Store, db string) ([]string, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	on, engine := "", "MergeTree"
	if c := st.Info().Cluster; c != "" {
		// One migration record for the whole cluster: replicated to every
		// server (one ZooKeeper path for all shards), so whichever server
		// a later Migrate connects to knows what was applied.
		on = " ON CLUSTER " + c
		engine = fmt.Sprintf("ReplicatedMergeTree('/clickhouse/tables/all/%s/schema_migrations', '{shard}-{replica}')", db)
	}
	if err := st.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db+on); err != nil {
		return nil, fmt.Errorf("schema: creating database %s: %w", db, err)
	}
	if err := st.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+db+".schema_migrations"+on+" "+
		"(version UInt32, name String, checksum String, applied_at DateTime('UTC')) "+
		"ENGINE = "+engine+" ORDER BY version"); err != nil {
		return nil, fmt.Errorf("schema: creating schema_migrations: %w", err)
	}
	done, err := Applied(ctx, st, db)
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range ms {
		if _, ok := done[m.Version]; ok {
			continue
		}
		stmts, err := m.Render(db, st.Info())
		if err != nil {
			return applied, err
		}
		for _, s := range stmts {
			if skip, err := columnExists(ctx, st, s); err != nil {
				return applied, fmt.Errorf("schema: migration %s: %w", m.Name, err)
			} else if skip {
				continue
			}
			if err := st.Exec(ctx, s); err != nil {
				// Two processes migrating at once (collectors starting
				// together) race on ADD COLUMN: the loser's column exists.
				if skip, cerr := columnExists(ctx, st, s); cerr == nil && skip {
					continue
				}
				return applied, fmt.Errorf("schema: migration %s: %w", m.Name, err)
			}
		}
		if c := st.Info().Cluster; c != "" {
			for _, t := range alteredTables(stmts) {
				if err := recreateDistributed(ctx, st, db, t, c); err != nil {
					return applied, fmt.Errorf("schema: migration %s: %w", m.Name, err)
				}
			}
		}
		sum := sha256.Sum256([]byte(m.SQL))
		rec := []any{uint32(m.Version), m.Name, fmt.Sprintf("%x", sum[:8]), time.Now()}
		if err := st.Insert(ctx, db+".schema_migrations", []string{"version", "name", "checksum", "applied_at"}, [][]any{rec}); err != nil {
			return applied, fmt.Errorf("schema: recording migration %s: %w", m.Name, err)
		}
		applied = append(applied, m.Name)
	}
	return applied, nil
}

// Applied returns the applied migration versions and names.
func Applied(ctx context.Context, st store.Store, db string) (map[int]string, error) {
	r, err := st.Query(ctx, "SELECT DISTINCT version, name FROM "+db+".schema_migrations ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("schema: reading applied migrations: %w", err)
	}
	done := make(map[int]string, len(r.Data))
	for i := range r.Data {
		done[int(r.Int(i, "version"))] = r.String(i, "name")
	}
	return done, r.Err()
}

var addColumn = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+(\w+)\.(\w+)\s+(?:ON\s+CLUSTER\s+\w+\s+)?ADD\s+COLUMN\s+(\w+)\s`)

// columnExists reports whether stmt is an ALTER TABLE db.t ADD COLUMN c whose
// column is already there. ClickHouse 18.16 has no ADD COLUMN IF NOT
// EXISTS, and a migration interrupted after some of its ALTERs must be able
// to run again.
func columnExists(ctx context.Context, st store.Store, stmt string) (bool, error) {
	m := addColumn.FindStringSubmatch(stmt)
	if m == nil {
		return false, nil
	}
	r, err := st.Query(ctx, fmt.Sprintf("SELECT count() AS n FROM system.columns WHERE database = %s AND table = %s AND name = %s",
		store.Quote(m[1]), store.Quote(m[2]), store.Quote(m[3])))
	if err != nil {
		return false, err
	}
	return r.Int(0, "n") > 0, r.Err()
}

// retentionColumns is each table's time column, for TTL.
var retentionColumns = [][2]string{
	{"sip_events", "ts"}, {"cdrs", "start_time"}, {"rated_cdrs", "start_time"}, {"rtp_reports", "ts"},
	{"kpi_minute", "minute"}, {"kpi_codes_minute", "minute"}, {"kpi_concurrency_minute", "minute"},
	{"kpi_quality_minute", "minute"}, {"options_pings", "ts"}, {"test_calls", "ts"},
}

// ErrNoTTL says the engine cannot expire rows (ClickHouse before 19.6).
var ErrNoTTL = errors.New("schema: this ClickHouse version has no TTL; rows are kept")

// ApplyRetention sets (or changes) every table's TTL to days; idempotent.
// ClickHouse 18.16 has no TTL: it returns ErrNoTTL and changes nothing.
func ApplyRetention(ctx context.Context, st store.Store, db string, days int) error {
	if days <= 0 {
		return nil
	}
	if info := st.Info(); info.Engine == "clickhouse" && (info.Major < 19 || (info.Major == 19 && minorOf(info.Version) < 6)) {
		return fmt.Errorf("%w (server %s)", ErrNoTTL, info.Version)
	}
	for _, tc := range retentionColumns {
		table := tc[0]
		if c := st.Info().Cluster; c != "" {
			table += LocalSuffix + " ON CLUSTER " + c // TTL is the local tables' business
		}
		q := fmt.Sprintf("ALTER TABLE %s.%s MODIFY TTL %s + toIntervalDay(%d)", db, table, tc[1], days)
		if err := st.Exec(ctx, q); err != nil {
			return fmt.Errorf("schema: retention on %s: %w", tc[0], err)
		}
	}
	return nil
}

func minorOf(v string) int {
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(parts[1])
	return n
}
