package store

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/trunkscope/trunkscope/store/chdb"
)

// Embedded is a Store on an in-process chDB engine.
type Embedded struct {
	s    *chdb.Session
	info Info

	mu    sync.Mutex
	types map[string]map[string]string // column types by table, for Insert
	// insertMu guards buf, the encoding buffer reused across inserts; the
	// engine serialises statements anyway.
	insertMu sync.Mutex
	buf      []byte
}

// OpenEmbedded starts chDB on dir. Only one can be open per process.
func OpenEmbedded(dir string) (*Embedded, error) {
	s, err := chdb.Open(dir)
	if err != nil {
		return nil, err
	}
	out, err := s.Query("SELECT version()", "TabSeparated")
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: chdb version: %w", err)
	}
	return &Embedded{s: s, info: ParseVersion("chdb", strings.TrimSpace(string(out)))}, nil
}

func (e *Embedded) Info() Info { return e.info }

func (e *Embedded) Exec(ctx context.Context, q string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := e.s.Query(q, "TabSeparated")
	return err
}

func (e *Embedded) Query(ctx context.Context, q string) (*Rows, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, err := e.s.Query(q, "TabSeparatedWithNamesAndTypes")
	if err != nil {
		return nil, err
	}
	return ParseTSV(out)
}

// Insert streams the rows in RowBinary, each value encoded as its column's
// declared type (looked up once per table), which keeps arbitrary bytes in
// raw SIP messages exact and costs the engine far less than parsing text.
func (e *Embedded) Insert(ctx context.Context, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	encs, err := e.encodings(table, cols)
	if err != nil {
		return err
	}
	e.insertMu.Lock()
	defer e.insertMu.Unlock()
	e.buf = e.buf[:0]
	for _, row := range rows {
		if len(row) != len(cols) {
			return fmt.Errorf("store: insert into %s: row of %d values for %d columns", table, len(row), len(cols))
		}
		for i, v := range row {
			if e.buf, err = appendRowBinary(e.buf, encs[i], v); err != nil {
				return fmt.Errorf("store: insert into %s column %s: %w", table, cols[i], err)
			}
		}
	}
	stmt := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ")"
	err = e.s.Insert(stmt, "RowBinary", e.buf)
	if cap(e.buf) > maxKeptBuffer {
		e.buf = nil
	}
	if err != nil {
		// A migration may have changed a column since it was looked up.
		e.mu.Lock()
		delete(e.types, table)
		e.mu.Unlock()
		return fmt.Errorf("store: insert into %s: %w", table, err)
	}
	return nil
}

// maxKeptBuffer bounds the encoding buffer kept between inserts.
const maxKeptBuffer = 64 << 20

// encodings returns the RowBinary encoding of each of cols in table.
func (e *Embedded) encodings(table string, cols []string) ([]encoding, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	types, ok := e.types[table]
	if !ok {
		db, name := splitTable(table)
		dbExpr := "currentDatabase()"
		if db != "" {
			dbExpr = Quote(db)
		}
		out, err := e.s.Query("SELECT name, type FROM system.columns WHERE database = "+dbExpr+
			" AND table = "+Quote(name), "TabSeparated")
		if err != nil {
			return nil, fmt.Errorf("store: columns of %s: %w", table, err)
		}
		types = map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if n, t, ok := strings.Cut(line, "\t"); ok {
				types[n] = t
			}
		}
		if len(types) == 0 {
			return nil, fmt.Errorf("store: insert into %s: no such table", table)
		}
		if e.types == nil {
			e.types = map[string]map[string]string{}
		}
		e.types[table] = types
	}
	encs := make([]encoding, len(cols))
	for i, c := range cols {
		t, ok := types[c]
		if !ok {
			delete(e.types, table)
			return nil, fmt.Errorf("store: insert into %s: no column %s", table, c)
		}
		enc, err := encodingOf(t)
		if err != nil {
			return nil, fmt.Errorf("store: insert into %s column %s: %w", table, c, err)
		}
		encs[i] = enc
	}
	return encs, nil
}

func (e *Embedded) Close() error { return e.s.Close() }
