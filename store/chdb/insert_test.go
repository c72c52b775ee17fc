package chdb

import (
	"strings"
	"testing"
)

func TestInlineTSVInsert(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Query("CREATE TABLE x (a UInt32, s String, d DateTime('UTC')) ENGINE = MergeTree ORDER BY a", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Query("INSERT INTO x (a, s, d) FORMAT TabSeparated\n1\tab\\tc\\0\\n\xff\t2026-01-05 09:00:00\n2\tz\t2026-01-05 09:00:01\n", ""); err != nil {
		t.Fatal(err)
	}
	out, err := s.Query("SELECT a, hex(s), toUnixTimestamp(d) FROM x ORDER BY a", "TabSeparatedWithNamesAndTypes")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%q", out)
	if !strings.Contains(string(out), "61620963000AFF") {
		t.Fatalf("bytes mangled: %q", out)
	}
}
