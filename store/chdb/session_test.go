package chdb

import (
	"strings"
	"testing"
)

func TestSessionPersists(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil {
		t.Fatal("second session in one process must be refused")
	}
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS t",
		"CREATE TABLE IF NOT EXISTS t.x (a UInt32, s String) ENGINE = MergeTree ORDER BY a",
		"INSERT INTO t.x (a, s) VALUES (1, 'one'), (2, 'two')",
	} {
		if _, err := s.Query(q, "TabSeparated"); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := s.Query("SELECT nope FROM t.x", "TabSeparated"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("bad query error: %v", err)
	}
	s.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Query("SELECT sum(a), groupArray(s) FROM t.x", "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "3\t['one','two']" {
		t.Fatalf("after reopen got %q", got)
	}
}

// With chDB loaded, a Go nil dereference must still be an ordinary,
// recoverable panic, not a hang in chDB's crash handler.
func TestNilDereferenceRecoverable(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recovered := func() (r any) {
		defer func() { r = recover() }()
		var p *struct{ x int }
		return p.x
	}()
	if recovered == nil {
		t.Fatal("nil dereference did not panic")
	}
}
