package sdp

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

var errZone = errors.New("zone")

func TestParseAddr(t *testing.T) {
	for _, in := range []string{
		"0.0.0.0", "192.0.2.1", "255.255.255.255", "::", "::1", "1::", "2001:db8::1", "2001:DB8:0:0:8:800:200C:417A",
		"::ffff:192.0.2.1", "64:ff9b::192.0.2.1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "fe80::1",
		// rejected
		"", "1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.256", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.-4", "a.b.c.d",
		":", ":::", "1:::2", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
		"1:2:3:4:5:1.2.3.4", "1.2.3.4::", "::1.2.3", "fe80::1%eth0", "::g", "1:", ":1",
	} {
		want, werr := netip.ParseAddr(in)
		if want.Zone() != "" {
			want, werr = netip.Addr{}, errZone // SDP has no zones
		}
		got, ok := parseAddr([]byte(in))
		if ok != (werr == nil) || got != want {
			t.Errorf("parseAddr(%q) = %v, %v; netip says %v, %v", in, got, ok, want, werr)
		}
	}
}

// FuzzParseAddr checks parseAddr against netip.ParseAddr, which it
// replaces to avoid allocations.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "2001:db8::1", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "01.1.1.1", "::"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.IndexByte(b, '%') >= 0 {
			return // zones: SDP has none, netip accepts them
		}
		want, werr := netip.ParseAddr(string(b))
		got, ok := parseAddr(b)
		if ok != (werr == nil) || got != want {
			t.Fatalf("parseAddr(%q) = %v, %v; netip says %v, %v", b, got, ok, want, werr)
		}
	})
}
