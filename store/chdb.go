package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/trunkscope/trunkscope/store/chdb"
)

// Embedded is a Store on an in-process chDB engine.
type Embedded struct {
	s    *chdb.Session
	info Info
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

// Insert sends the rows inline as TabSeparated data: it keeps arbitrary
// bytes exact (JSON would replace invalid UTF-8 in raw SIP messages).
func (e *Embedded) Insert(ctx context.Context, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	buf := make([]byte, 0, 256*len(rows))
	buf = append(buf, "INSERT INTO "...)
	buf = append(buf, table...)
	buf = append(buf, " ("...)
	buf = append(buf, strings.Join(cols, ", ")...)
	buf = append(buf, ") FORMAT TabSeparated\n"...)
	var err error
	for _, row := range rows {
		if len(row) != len(cols) {
			return fmt.Errorf("store: insert into %s: row of %d values for %d columns", table, len(row), len(cols))
		}
		for i, v := range row {
			if i > 0 {
				buf = append(buf, '\t')
			}
			if buf, err = AppendTSV(buf, v); err != nil {
				return fmt.Errorf("store: insert into %s column %s: %w", table, cols[i], err)
			}
		}
		buf = append(buf, '\n')
	}
	if _, err := e.s.Query(string(buf), "TabSeparated"); err != nil {
		return fmt.Errorf("store: insert into %s: %w", table, err)
	}
	return nil
}

func (e *Embedded) Close() error { return e.s.Close() }
