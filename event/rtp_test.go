package event

import (
	"net/netip"
	"testing"
)

func TestRTPReportRoundTrip(t *testing.T) {
	in := &RTPReport{
		Header: Header{Version: Version, ProbeID: []byte("p1"), TimeUS: 1767603610000000},
		CallID: []byte("abc@host"), Src: netip.MustParseAddrPort("10.0.0.1:10000"), Dst: netip.MustParseAddrPort("[2001:db8::2]:20000"),
		SSRC: 0xdeadbeef, PayloadType: 8, Codec: []byte("PCMA"), ClockHz: 8000, Final: true, Seq: 7,
		FirstUS: 1767603600000000, LastUS: 1767603610000000, Packets: 500, Expected: 498, Lost: -2, Duplicates: 2,
		Reordered: 1, JitterMeanUS: 1522, JitterMaxUS: 15767, MaxDeltaUS: 60002, LossBursts: 3, BurstRx1000: 1250,
		LateFixed: 4, LateAdaptive: 1, MOSx1000: 4410, MOSFixedx1000: 4300, MOSAdaptivex1000: 4390, Direction: DirToCaller,
	}
	NewIDHasher().SetRTPID(in)
	var out RTPReport
	if err := DecodeRTPReport(AppendRTPReport(nil, in), &out); err != nil {
		t.Fatal(err)
	}
	if string(out.CallID) != "abc@host" || string(out.Codec) != "PCMA" || string(out.ProbeID) != "p1" {
		t.Fatalf("slices: %+v", out)
	}
	out.CallID, out.Codec, out.ProbeID = in.CallID, in.Codec, in.ProbeID
	if got := out; got.ID != in.ID || got.Lost != -2 || got.Src != in.Src || got.Dst != in.Dst || got.MOSAdaptivex1000 != 4390 ||
		!got.Final || got.Seq != 7 || got.Direction != DirToCaller || got.TimeUS != in.TimeUS || got.JitterMaxUS != 15767 || got.LastUS != in.LastUS {
		t.Fatalf("round trip:\n in  %+v\n out %+v", in, out)
	}
	var s SIP
	if err := DecodeSIP(AppendRTPReport(nil, in), &s); err == nil {
		t.Fatal("an RTP report must not decode as SIP")
	}
}

func FuzzDecodeRTPReport(f *testing.F) {
	f.Add(AppendRTPReport(nil, &RTPReport{SSRC: 1, Lost: -5, Codec: []byte("PCMU")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r RTPReport
		if DecodeRTPReport(b, &r) != nil {
			return
		}
		var again RTPReport
		if err := DecodeRTPReport(AppendRTPReport(nil, &r), &again); err != nil || again.Lost != r.Lost || again.SSRC != r.SSRC {
			t.Fatalf("re-encoded report differs: %v", err)
		}
	})
}
