package event

import "testing"

func TestOptionsPingRoundTrip(t *testing.T) {
	in := &OptionsPing{Header: Header{Version: Version, ProbeID: []byte("p1"), TimeUS: 1767603610000000},
		Trunk: []byte("carrier-a"), Target: []byte("sip:198.51.100.10:5060"), Transport: TransportTLS, Code: 200,
		RTTUS: 12345, Result: PingOK, State: StateDegraded, Detail: []byte("x")}
	x := NewIDHasher()
	x.SetOptionsPingID(in)
	var out OptionsPing
	if err := DecodeOptionsPing(AppendOptionsPing(nil, in), &out); err != nil {
		t.Fatal(err)
	}
	if out.ID != in.ID || string(out.Trunk) != "carrier-a" || string(out.Target) != string(in.Target) || out.Transport != TransportTLS ||
		out.Code != 200 || out.RTTUS != 12345 || out.Result != PingOK || out.State != StateDegraded || out.TimeUS != in.TimeUS ||
		string(out.Detail) != "x" || string(out.ProbeID) != "p1" {
		t.Fatalf("round trip:\n in  %+v\n out %+v", in, out)
	}
	if out.Result.String() != "ok" || out.State.String() != "degraded" || KindOptionsPing.String() != "options-ping" {
		t.Fatal("names")
	}
	other := *in
	other.TimeUS++
	x.SetOptionsPingID(&other)
	if other.ID == in.ID {
		t.Fatal("two pings at different times share an ID")
	}
	var c TestCall
	if err := DecodeTestCall(AppendOptionsPing(nil, in), &c); err == nil {
		t.Fatal("a ping must not decode as a test call")
	}
}

func TestTestCallRoundTrip(t *testing.T) {
	in := &TestCall{Header: Header{Version: Version, ProbeID: []byte("p1"), TimeUS: 42}, Trunk: []byte("t"),
		CallID: []byte("abc@h"), Target: []byte("sip:123@h"), Result: CallOneWayAudio, Code: 200, PDDMS: 120, SetupMS: 900,
		DurationMS: 10000, TxPackets: 500, RxPackets: 0, RxLost: -3, JitterUS: 2100, MOSx1000: 4410, Detail: []byte("no RTP")}
	NewIDHasher().SetTestCallID(in)
	var out TestCall
	if err := DecodeTestCall(AppendTestCall(nil, in), &out); err != nil {
		t.Fatal(err)
	}
	out.ProbeID, out.Trunk, out.CallID, out.Target, out.Detail = in.ProbeID, in.Trunk, in.CallID, in.Target, in.Detail
	if out.Header.ID != in.ID || out.Result != in.Result || out.RxLost != -3 || out.PDDMS != 120 || out.SetupMS != 900 ||
		out.DurationMS != 10000 || out.TxPackets != 500 || out.JitterUS != 2100 || out.MOSx1000 != 4410 || out.Code != 200 {
		t.Fatalf("round trip:\n in  %+v\n out %+v", in, out)
	}
	if CallOneWayAudio.String() != "one_way_audio" || CallResult(99).String() != "result(99)" {
		t.Fatal("names")
	}
}

func FuzzDecodeOptionsPing(f *testing.F) {
	f.Add(AppendOptionsPing(nil, &OptionsPing{Trunk: []byte("t"), Code: 503, Result: PingOK, State: StateUp}))
	f.Add([]byte{magic, Version, byte(KindOptionsPing), pingTagCode, 9, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p OptionsPing
		if DecodeOptionsPing(b, &p) != nil {
			return
		}
		var again OptionsPing
		if err := DecodeOptionsPing(AppendOptionsPing(nil, &p), &again); err != nil || again.Code != p.Code ||
			again.RTTUS != p.RTTUS || string(again.Trunk) != string(p.Trunk) || again.State != p.State {
			t.Fatalf("re-encoded ping differs: %v", err)
		}
	})
}

func FuzzDecodeTestCall(f *testing.F) {
	f.Add(AppendTestCall(nil, &TestCall{CallID: []byte("c"), RxLost: -1, MOSx1000: 4400, Result: CallAnswered}))
	f.Add([]byte{magic, Version, byte(KindTestCall), callTagLost, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c TestCall
		if DecodeTestCall(b, &c) != nil {
			return
		}
		var again TestCall
		if err := DecodeTestCall(AppendTestCall(nil, &c), &again); err != nil || again.RxLost != c.RxLost ||
			string(again.CallID) != string(c.CallID) || again.PDDMS != c.PDDMS {
			t.Fatalf("re-encoded test call differs: %v", err)
		}
	})
}
