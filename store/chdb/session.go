// Package chdb runs ClickHouse in-process through libchdb.so, loaded with
// purego (no cgo).
//
// It binds the handful of libchdb entry points trunkscope needs instead of
// using chdb-go's packages, for two reasons that matter to users: chdb-go
// dlopens the library in a package init() and panics when it is missing,
// which would crash every trunkscope subcommand (even `gen` and `--help`)
// before main runs; and its Session is a hidden process-wide singleton. Here
// the library is loaded on first use, a missing library is an error that says
// how to install it, and the one-engine-per-process rule is explicit.
package chdb

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// ErrSessionOpen is returned by Open while another session is open in this
// process: chDB silently aliases a second session to the first one.
var ErrSessionOpen = errors.New("chdb: a session is already open in this process")

var open struct {
	sync.Mutex
	session *Session
}

// Session is an open chDB engine on a data directory.
type Session struct {
	mu   sync.Mutex
	l    *lib
	conn *connection
	path string
}

// Open starts the engine on dir, creating it if needed.
func Open(dir string) (*Session, error) {
	l, err := load()
	if err != nil {
		return nil, err
	}
	open.Lock()
	defer open.Unlock()
	if open.session != nil {
		return nil, fmt.Errorf("%w (on %s)", ErrSessionOpen, open.session.path)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("chdb: creating %s: %w", dir, err)
	}
	if err := l.disableCrashHandlers(); err != nil {
		return nil, err
	}
	argv := []string{"clickhouse", "--path=" + dir}
	cargv := make([]*byte, len(argv))
	keep := make([][]byte, len(argv))
	for i, a := range argv {
		keep[i] = append([]byte(a), 0)
		cargv[i] = &keep[i][0]
	}
	pp := l.connect(len(cargv), cargv)
	runtime.KeepAlive(keep)
	if pp == nil || pp.internal == 0 {
		return nil, fmt.Errorf("chdb: opening engine on %s failed", dir)
	}
	s := &Session{l: l, conn: pp, path: dir}
	open.session = s
	return s, nil
}

// Path returns the session's data directory.
func (s *Session) Path() string { return s.path }

// Query runs one statement and returns its output in the given ClickHouse
// output format (e.g. "JSONEachRow", "TabSeparated"). Statements on one
// session are serialised: the engine's connection object is not documented
// as safe for concurrent use.
func (s *Session) Query(q, format string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil, errors.New("chdb: session is closed")
	}
	res := s.l.query(s.conn.internal, q, format)
	if res == 0 {
		return nil, nil
	}
	defer s.l.destroyResult(res)
	if msg := cString(s.l.resultError(res)); msg != "" {
		return nil, fmt.Errorf("chdb: %s", strings.TrimSpace(msg))
	}
	n := int(s.l.resultLength(res))
	buf := s.l.resultBuffer(res)
	if n == 0 || buf == nil {
		return nil, nil
	}
	// The result buffer belongs to libchdb and is freed with the result.
	return append([]byte(nil), unsafe.Slice(buf, n)...), nil
}

// insertChunk bounds each append: the engine copies every chunk, so a
// batch is never held twice in full.
const insertChunk = 1 << 20

// Insert runs stmt (an INSERT without FORMAT clause or data, e.g.
// "INSERT INTO db.t (a, b)") with data in the given input format, through
// chDB's streaming insert. Unlike data inline in a query string, the data is
// not lexed as part of the statement and may hold any bytes: with RowBinary
// a batch of raw SIP messages stores about three times faster than inline
// TabSeparated.
func (s *Session) Insert(stmt, format string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return errors.New("chdb: session is closed")
	}
	st := s.l.insertBegin(s.conn.internal, stmt, format)
	if st == 0 {
		return errors.New("chdb: starting insert failed")
	}
	defer s.l.insertDestroy(st)
	if msg := cString(s.l.insertError(st)); msg != "" {
		return fmt.Errorf("chdb: %s", strings.TrimSpace(msg))
	}
	for len(data) > 0 {
		n := min(insertChunk, len(data))
		if s.l.insertAppend(st, &data[0], uintptr(n)) != 0 {
			msg := cString(s.l.insertError(st))
			return fmt.Errorf("chdb: appending insert data: %s", strings.TrimSpace(msg))
		}
		data = data[n:]
	}
	res := s.l.insertDone(st)
	if res == 0 {
		if msg := cString(s.l.insertError(st)); msg != "" {
			return fmt.Errorf("chdb: %s", strings.TrimSpace(msg))
		}
		return nil
	}
	defer s.l.destroyResult(res)
	if msg := cString(s.l.resultError(res)); msg != "" {
		return fmt.Errorf("chdb: %s", strings.TrimSpace(msg))
	}
	return nil
}

// Close stops the engine. The process may open a new session afterwards.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	s.l.closeConn(s.conn)
	s.conn = nil
	open.Lock()
	open.session = nil
	open.Unlock()
	return nil
}
