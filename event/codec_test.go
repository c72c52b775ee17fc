package event

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

func sampleSIP() *SIP {
	s := &SIP{
		Header:    Header{Version: Version, ProbeID: []byte("probe-1"), TimeUS: 1767603600123456},
		Src:       netip.MustParseAddrPort("10.0.0.10:5060"),
		Dst:       netip.MustParseAddrPort("[2001:db8::1]:5061"),
		Transport: TransportTCP,
		CallID:    []byte("a84b4c76e66710@pc33.example.com"),
		Method:    []byte("INVITE"),
		CSeqNum:   314159,
		Raw:       []byte("INVITE sip:bob@example.com SIP/2.0\r\nCall-ID: a84b4c76e66710@pc33.example.com\r\n\r\n"),
	}
	NewIDHasher().SetID(s)
	return s
}

func TestSIPRoundTrip(t *testing.T) {
	in := sampleSIP()
	in.CorrelationID = []byte("corr-7")
	in.CaptureID, in.Node, in.Flags = 2001, []byte("sbc-ams-1"), FlagRetransmission|FlagHEP
	b := AppendSIP(nil, in)
	var out SIP
	// Decode twice into the same value: stale state from the first decode
	// must not survive the second.
	for i := 0; i < 2; i++ {
		if err := DecodeSIP(b, &out); err != nil {
			t.Fatal(err)
		}
	}
	if out.ID != in.ID || out.TimeUS != in.TimeUS || out.Src != in.Src || out.Dst != in.Dst ||
		out.Transport != in.Transport || out.Status != 0 || out.CSeqNum != in.CSeqNum ||
		!bytes.Equal(out.CallID, in.CallID) || !bytes.Equal(out.Method, in.Method) ||
		!bytes.Equal(out.Raw, in.Raw) || !bytes.Equal(out.ProbeID, in.ProbeID) ||
		!bytes.Equal(out.CorrelationID, in.CorrelationID) || out.Version != Version ||
		out.CaptureID != in.CaptureID || !bytes.Equal(out.Node, in.Node) || out.Flags != in.Flags {
		t.Fatalf("round trip mismatch:\n in  %+v\n out %+v", in, out)
	}
	resp := sampleSIP()
	resp.Status, resp.Method = 486, []byte("INVITE")
	if err := DecodeSIP(AppendSIP(nil, resp), &out); err != nil {
		t.Fatal(err)
	}
	if out.Status != 486 || out.IsRequest() || len(out.CorrelationID) != 0 || out.Flags != 0 || out.CaptureID != 0 {
		t.Fatalf("response decoded as %+v", out)
	}
}

func TestIDIsContentDerived(t *testing.T) {
	a, b := sampleSIP(), sampleSIP()
	if a.ID != b.ID {
		t.Fatal("same message, different IDs")
	}
	b.TimeUS++ // a retransmission: same bytes, later
	NewIDHasher().SetID(b)
	if a.ID == b.ID {
		t.Fatal("retransmission got the same ID")
	}
}

func TestDecodeErrors(t *testing.T) {
	good := AppendSIP(nil, sampleSIP())
	future := append([]byte(nil), good...)
	future[1] = Version + 1
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"magic", []byte("XYZ"), ErrMagic},
		{"future version", future, ErrVersion},
		{"truncated field", good[:len(good)-5], ErrTruncated},
		{"wrong kind", []byte{magic, Version, 9}, ErrKind},
	} {
		var s SIP
		if err := DecodeSIP(tc.in, &s); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestUnknownFieldSkipped(t *testing.T) {
	b := AppendSIP(nil, sampleSIP())
	b = appendBytes(b, 200, []byte("from a newer probe"))
	var s SIP
	if err := DecodeSIP(b, &s); err != nil {
		t.Fatal(err)
	}
	if string(s.Method) != "INVITE" {
		t.Fatalf("method %q", s.Method)
	}
}

func TestEncodeAllocatesNothing(t *testing.T) {
	s := sampleSIP()
	buf := make([]byte, 0, 4096)
	h := NewIDHasher()
	var out SIP
	allocs := testing.AllocsPerRun(100, func() {
		h.SetID(s)
		buf = AppendSIP(buf[:0], s)
		if err := DecodeSIP(buf, &out); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per event, want 0", allocs)
	}
}

func FuzzDecodeSIP(f *testing.F) {
	f.Add(AppendSIP(nil, sampleSIP()))
	f.Add([]byte{magic, Version, byte(KindSIP), tagSrc, 3, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s SIP
		if err := DecodeSIP(b, &s); err != nil {
			return
		}
		// Whatever decodes must re-encode and decode to the same fields.
		var again SIP
		if err := DecodeSIP(AppendSIP(nil, &s), &again); err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
		if again.ID != s.ID || again.TimeUS != s.TimeUS || !bytes.Equal(again.Raw, s.Raw) {
			t.Fatal("re-encoded event differs")
		}
	})
}
