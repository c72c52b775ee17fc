// Package chserver is the store.Store on a ClickHouse server or cluster over
// the native protocol (clickhouse-go). The HTTP protocol of clickhouse-go
// does not work with the 18.16 server, and batch inserts there need an
// explicit column list, which store.Store's Insert always sends.
package chserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/trunkscope/trunkscope/store"
)

// Options select the server.
type Options struct {
	Addrs    []string // host:port of the native protocol, default 127.0.0.1:9000
	Database string   // database for unqualified names, default "default"
	User     string
	Password string
	TLS      *tls.Config
	// Cluster names the cluster the schema is created on (ON CLUSTER,
	// Distributed tables); it is reported in Info. Inserts then go through
	// Distributed tables synchronously (insert_distributed_sync), so a
	// collector reads its own writes when it recomputes rollups. That also
	// needs reads and writes of a shard to pick the same replica: the
	// user's profile must set load_balancing to in_order (the native
	// protocol of 18.16 takes only numeric settings from a client, so it
	// cannot be sent from here; README "Scaling out" shows the users.xml).
	Cluster string
	// InsertQuorum, with Cluster, is the insert_quorum setting: an insert
	// returns once that many replicas have it, and reads are sequentially
	// consistent. For collectors that write to different replicas of a shard.
	InsertQuorum int
}

// Server is a store.Store on a ClickHouse server.
type Server struct {
	conn driver.Conn
	info store.Info
}

// Open connects and checks the server answers.
func Open(ctx context.Context, o Options) (*Server, error) {
	if len(o.Addrs) == 0 {
		o.Addrs = []string{"127.0.0.1:9000"}
	}
	if o.Database == "" {
		o.Database = "default"
	}
	if o.User == "" {
		o.User = "default"
	}
	settings := clickhouse.Settings{}
	if o.Cluster != "" {
		settings["insert_distributed_sync"] = 1
		if o.InsertQuorum > 0 {
			settings["insert_quorum"] = o.InsertQuorum
			settings["select_sequential_consistency"] = 1
		}
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Settings:    settings,
		Addr:        o.Addrs,
		Protocol:    clickhouse.Native,
		Auth:        clickhouse.Auth{Database: o.Database, Username: o.User, Password: o.Password},
		TLS:         o.TLS,
		DialTimeout: 5 * time.Second,
		// A statement the server cannot answer must fail, not hold a
		// collector batch (and its uncommitted offsets) for clickhouse-go's
		// default of five minutes.
		ReadTimeout: 60 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("chserver: %v: %w", o.Addrs, err)
	}
	v, err := conn.ServerVersion()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("chserver: connecting to %v: %w", o.Addrs, err)
	}
	ver := fmt.Sprintf("%d.%d.%d", v.Version.Major, v.Version.Minor, v.Version.Patch)
	info := store.ParseVersion("clickhouse", ver)
	info.Cluster = o.Cluster
	return &Server{conn: conn, info: info}, nil
}

func (s *Server) Info() store.Info { return s.info }

func (s *Server) Exec(ctx context.Context, q string) error {
	return s.conn.Exec(ctx, q)
}

func (s *Server) Query(ctx context.Context, q string) (*store.Rows, error) {
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	r := &store.Rows{Columns: rows.Columns()}
	cts := rows.ColumnTypes()
	for _, ct := range cts {
		r.Types = append(r.Types, ct.DatabaseTypeName())
	}
	for rows.Next() {
		ptrs := make([]any, len(cts))
		for i, ct := range cts {
			ptrs[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		cells := make([]string, len(ptrs))
		for i, p := range ptrs {
			cells[i] = render(reflect.ValueOf(p).Elem().Interface())
		}
		r.Data = append(r.Data, cells)
	}
	return r, rows.Err()
}

// render formats a scanned value the way ClickHouse's TabSeparated output
// does, so both stores return identical cells.
func render(v any) string {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(store.DateTimeLayout)
	case string:
		return x
	case []string:
		return "['" + strings.Join(x, "','") + "']"
	}
	return fmt.Sprint(v)
}

func (s *Server) Insert(ctx context.Context, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+")")
	if err != nil {
		return fmt.Errorf("chserver: insert into %s: %w", table, err)
	}
	for _, row := range rows {
		vals := make([]any, len(row))
		for i, v := range row {
			if bs, ok := v.([]byte); ok {
				v = string(bs) // String columns take Go strings
			}
			vals[i] = v
		}
		if err := b.Append(vals...); err != nil {
			b.Abort()
			return fmt.Errorf("chserver: insert into %s: %w", table, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("chserver: insert into %s: %w", table, err)
	}
	return nil
}

func (s *Server) Close() error { return s.conn.Close() }
