package synth

import (
	"bytes"
	"testing"
	"time"
)

func TestIncidents(t *testing.T) {
	base := Options{Calls: 200, Seed: 4, MeanDuration: 3 * time.Second}
	var plain bytes.Buffer
	pt, err := Generate(&plain, base)
	if err != nil {
		t.Fatal(err)
	}
	o := base
	o.Incidents = []Incident{
		{Trunk: "carrier-a", From: 20 * time.Second, To: 60 * time.Second, Code: 503},
		{Trunk: "carrier-b", From: 20 * time.Second, To: 60 * time.Second, Loss: 0.3},
	}
	var degraded bytes.Buffer
	dt, err := Generate(&degraded, o)
	if err != nil {
		t.Fatal(err)
	}
	in := func(c CallTruth) bool {
		at := time.Duration(c.StartUS-dt.Start.UnixMicro()) * time.Microsecond
		return at >= 20*time.Second && at < 60*time.Second
	}
	burst, changed := 0, 0
	for i, c := range dt.Calls {
		p := pt.Calls[i]
		if c.CallID != p.CallID || c.StartUS != p.StartUS || c.Trunk != p.Trunk {
			t.Fatalf("call %d: incidents changed the call plan", i)
		}
		if c.Trunk == "carrier-a" && in(c) {
			burst++
			if c.FinalCode != 503 || c.Outcome != "rejected" {
				t.Errorf("call %d in the 503 burst: %s %d", i, c.Outcome, c.FinalCode)
			}
		} else if c.Outcome != p.Outcome {
			changed++
		}
	}
	if burst < 5 || changed != 0 {
		t.Fatalf("%d calls in the burst, %d changed outside it", burst, changed)
	}
	if dt.RTPPackets >= pt.RTPPackets {
		t.Fatalf("loss incident sent %d RTP packets, plain %d", dt.RTPPackets, pt.RTPPackets)
	}
	bad := o
	bad.Incidents = []Incident{{Trunk: "nope", From: 0, To: time.Second, Code: 503}}
	if _, err := Generate(&bytes.Buffer{}, bad); err == nil {
		t.Fatal("incident on an unknown trunk accepted")
	}
}
