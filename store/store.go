// Package store is trunkscope's ClickHouse access: one small interface with
// two implementations, chDB in-process (store/chdb, the embedded default) and
// a ClickHouse server or cluster over the native protocol (store/chserver).
// Both speak the same SQL: everything trunkscope sends must run on ClickHouse
// 18.16 (the Debian server) and on chDB 26.7.
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Store is what the roles need from ClickHouse.
type Store interface {
	// Exec runs a statement that returns no rows (DDL, INSERT ... SELECT).
	Exec(ctx context.Context, query string) error
	// Query runs a SELECT and returns all its rows.
	Query(ctx context.Context, query string) (*Rows, error)
	// Insert appends rows to table; each row holds one value per column,
	// of Go types matching the column types (see Value).
	Insert(ctx context.Context, table string, cols []string, rows [][]any) error
	// Info describes the engine, for version-dependent SQL.
	Info() Info
	Close() error
}

// Info describes the engine behind a Store.
type Info struct {
	Engine  string // "chdb" or "clickhouse"
	Version string // e.g. "26.7.2.1" or "18.16.1"
	Major   int
	// Cluster names the ClickHouse cluster (remote_servers) the schema
	// lives on, "" for a single node: tables are then Replicated*MergeTree
	// "_local" tables with a Distributed table of the plain name over them
	// (see schema/cluster.go).
	Cluster string
}

// ParseVersion fills Major from a dotted version string.
func ParseVersion(engine, v string) Info {
	maj, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	return Info{Engine: engine, Version: v, Major: maj}
}

// Rows is a query's result as text cells (ClickHouse's TabSeparated
// rendering), which both engines can produce exactly and which converts
// losslessly into Go values through the typed accessors.
type Rows struct {
	Columns []string
	Types   []string
	Data    [][]string
	err     error
}

// Err returns the first conversion error of the typed accessors.
func (r *Rows) Err() error { return r.err }

func (r *Rows) col(name string) int {
	for i, c := range r.Columns {
		if c == name {
			return i
		}
	}
	if r.err == nil {
		r.err = fmt.Errorf("store: no column %q in result %v", name, r.Columns)
	}
	return -1
}

// String returns the cell of row i, column name.
func (r *Rows) String(i int, name string) string {
	c := r.col(name)
	if c < 0 {
		return ""
	}
	return r.Data[i][c]
}

// Int returns the cell as int64.
func (r *Rows) Int(i int, name string) int64 {
	s := r.String(i, name)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("store: column %q row %d: %w", name, i, err)
	}
	return v
}

// Uint returns the cell as uint64.
func (r *Rows) Uint(i int, name string) uint64 {
	s := r.String(i, name)
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("store: column %q row %d: %w", name, i, err)
	}
	return v
}

// Float returns the cell as float64 (for display figures only; money is
// never carried in floats).
func (r *Rows) Float(i int, name string) float64 {
	s := r.String(i, name)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("store: column %q row %d: %w", name, i, err)
	}
	return v
}

// DateTimeLayout is how DateTime values are written and read (always UTC:
// trunkscope's DateTime columns are declared DateTime('UTC')).
const DateTimeLayout = "2006-01-02 15:04:05"

// ErrClosed is returned by a Store used after Close.
var ErrClosed = errors.New("store: closed")

// AppendTSV appends v to dst in ClickHouse TabSeparated escaping. Supported
// values: string, []byte, bool, all integer types, float64 and time.Time
// (written as a UTC DateTime).
func AppendTSV(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendEscaped(dst, x), nil
	case []byte:
		return appendEscaped(dst, string(x)), nil
	case bool:
		if x {
			return append(dst, '1'), nil
		}
		return append(dst, '0'), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case float64:
		return strconv.AppendFloat(dst, x, 'g', -1, 64), nil
	case time.Time:
		return x.UTC().AppendFormat(dst, DateTimeLayout), nil
	}
	return dst, fmt.Errorf("store: cannot encode %T", v)
}

// appendEscaped escapes per ClickHouse's TabSeparated format: backslash,
// tab, newline and NUL (the query travels as a C string) are escaped; every
// other byte passes through, so raw SIP bytes survive exactly.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case 0:
			dst = append(dst, '\\', '0')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// ParseTSV parses TabSeparatedWithNamesAndTypes output.
func ParseTSV(b []byte) (*Rows, error) {
	r := &Rows{}
	lines := strings.Split(string(b), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return r, nil
	}
	if len(lines) < 2 {
		return nil, fmt.Errorf("store: result without names and types header")
	}
	r.Columns = splitTSV(lines[0])
	r.Types = splitTSV(lines[1])
	for _, l := range lines[2:] {
		f := splitTSV(l)
		if len(f) != len(r.Columns) {
			return nil, fmt.Errorf("store: row of %d cells, want %d", len(f), len(r.Columns))
		}
		r.Data = append(r.Data, f)
	}
	return r, nil
}

func splitTSV(l string) []string {
	f := strings.Split(l, "\t")
	for i, s := range f {
		if strings.IndexByte(s, '\\') >= 0 {
			f[i] = unescape(s)
		}
	}
	return f
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case '\'':
			b.WriteByte('\'')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// Quote renders s as a ClickHouse string literal. Use it for values that
// cannot be parameters; user input in queries goes through it, never raw.
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
