package api

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzFilter feeds arbitrary query strings to the filter and cursor
// parsers: they never panic, and what they accept renders to SQL in which
// every free-text value is a quoted literal (no quote escapes its string).
func FuzzFilter(f *testing.F) {
	for _, s := range []string{"", "trunk=carrier-a", "trunk=%27%20OR%201%3D1%20--", "caller=%2B3120&callee=0044",
		"from=2026-01-01&to=2026-01-02", "final_code=503&mos_below=3.5", "outcome=busy&direction=inbound",
		"cursor=MTAwADAAYUBi", "trunk=a%5C%27b", "limit=10&cursor=%21"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := parseFilter(q, "cursor", "limit")
		if err != nil {
			return
		}
		cur, err := parseCursor(q.Get("cursor"))
		if err != nil {
			return
		}
		sql := flt.where("db") + " AND " + cur.after()
		if !balancedQuotes(sql) {
			t.Fatalf("unbalanced quotes in %q", sql)
		}
	})
}

// balancedQuotes reports whether every ' opens and closes a literal,
// honouring backslash escapes inside literals.
func balancedQuotes(s string) bool {
	in := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case in && c == '\\':
			i++
		case c == '\'':
			in = !in
		case !in && strings.ContainsRune(";", rune(c)):
			return false // a statement separator outside a literal
		}
	}
	return !in
}
