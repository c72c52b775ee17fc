package rtcp

import (
	"errors"
	"testing"
)

// FuzzParseRTCP checks that Parse never panics and that what it accepts
// is what LooksLikeRTCP calls RTCP (lengths adding up to the datagram),
// provided the first packet is an SR..XR. The committed seeds are in
// testdata/fuzz/FuzzParseRTCP.
func FuzzParseRTCP(f *testing.F) {
	f.Add(cat(srPacket(), sdesPacket("alice@10.0.0.1")))
	f.Add(cat(rrPacket(), xrPacket(), byePacket(4)))
	f.Add(xrPacket())
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Compound
		err := Parse(b, &c)
		if err != nil {
			if _, ok := err.(Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if c.NReports > MaxReports || c.NSenders > MaxSenders || c.NBye > MaxBye || c.NVoIP > MaxVoIP || int(c.CNAMELen) > MaxCNAME {
			t.Fatalf("counts beyond capacity: %+v", c)
		}
		first := len(b) >= 8 && b[1] >= TypeSR && b[1] <= TypeXR
		if LooksLikeRTCP(b) != first {
			t.Fatalf("Parse accepts, LooksLikeRTCP says %v", !first)
		}
	})
}

// FuzzParseJSON checks that ParseJSON never panics and returns only
// ErrJSON-wrapped errors.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{heplifySR, heplifyXR, rtpengineRR, captagentXR, hepgenSR} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Compound
		if err := ParseJSON(b, &c); err != nil && !errors.Is(err, ErrJSON) {
			t.Fatalf("error %v", err)
		}
		if c.NReports > MaxReports || c.NVoIP > MaxVoIP || int(c.CNAMELen) > MaxCNAME {
			t.Fatalf("counts beyond capacity: %+v", c)
		}
	})
}
