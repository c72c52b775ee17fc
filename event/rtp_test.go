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

func TestRTCPRoundTrip(t *testing.T) {
	in := &RTCP{Header: Header{Version: Version, ProbeID: []byte("p"), TimeUS: 42}, CallID: []byte("c@h"),
		Src: netip.MustParseAddrPort("10.0.0.1:10001"), Dst: netip.MustParseAddrPort("10.0.0.2:20001"), Format: RTCPJSON,
		Raw: []byte(`{"type":200}`)}
	NewIDHasher().SetRTCPID(in)
	var out RTCP
	if err := DecodeRTCP(AppendRTCP(nil, in), &out); err != nil {
		t.Fatal(err)
	}
	if out.ID != in.ID || string(out.Raw) != string(in.Raw) || out.Format != RTCPJSON || out.Src != in.Src || string(out.CallID) != "c@h" || out.TimeUS != 42 {
		t.Fatalf("round trip %+v", out)
	}
}

func FuzzDecodeRTCP(f *testing.F) {
	f.Add(AppendRTCP(nil, &RTCP{Format: RTCPBinary, Raw: []byte{0x80, 200, 0, 6}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r RTCP
		if DecodeRTCP(b, &r) != nil {
			return
		}
		var again RTCP
		if err := DecodeRTCP(AppendRTCP(nil, &r), &again); err != nil || string(again.Raw) != string(r.Raw) {
			t.Fatalf("re-encoded RTCP differs: %v", err)
		}
	})
}
