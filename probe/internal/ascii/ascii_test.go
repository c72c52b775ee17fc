package ascii

import "testing"

func TestEqualFold(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"Call-ID", "call-id", true}, {"PCMA", "pcma", true}, {"pcma", "pcmu", false}, {"a", "ab", false},
		{"", "", true}, {"[", "{", false}, {"@", "`", false},
	} {
		if got := EqualFold(tc.a, tc.b); got != tc.want {
			t.Errorf("EqualFold(%q, %q) = %v", tc.a, tc.b, got)
		}
		if got := EqualFold([]byte(tc.a), tc.b); got != tc.want {
			t.Errorf("EqualFold([]byte %q, %q) = %v", tc.a, tc.b, got)
		}
	}
	if !HasPrefixFold([]byte("WebSocket, x"), "websocket") || HasPrefixFold("web", "websocket") {
		t.Fatal("HasPrefixFold")
	}
	if n := testing.AllocsPerRun(100, func() { EqualFold([]byte("Content-Length"), "content-length") }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}
