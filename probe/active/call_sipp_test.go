package active

import (
	"context"
	"fmt"
	"github.com/trunkscope/trunkscope/internal/testports"
	"path/filepath"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/event"
)

func TestCallSIPpEcho(t *testing.T) {
	port, mport := freePort(t), testports.Range(t, 4)
	sp := startSIPp(t, t.TempDir(), "-sn", "uas", "-i", "127.0.0.1", "-p", fmt.Sprint(port), "-mi", "127.0.0.1",
		"-mp", fmt.Sprint(mport), "-rtp_echo")
	waitListening(t, "udp", port)
	r := Call(context.Background(), Target{Trunk: "t", URI: fmt.Sprintf("sip:127.0.0.1:%d", port)},
		CallOptions{To: "31201234567", Duration: 2 * time.Second, Timeout: 2 * time.Second, RingTimeout: 5 * time.Second})
	for _, s := range r.Steps {
		t.Logf("%8v %s", s.At.Round(time.Millisecond), s.What)
	}
	t.Logf("%+v", r.RTP)
	if r.Result != event.CallAnswered || r.Code != 200 || !r.HasPDD || r.PDD > r.Setup || r.Setup <= 0 {
		t.Fatalf("result %v code %d pdd %v setup %v: %s\n%s", r.Result, r.Code, r.PDD, r.Setup, r.Detail, sp.out)
	}
	if r.Sent < 90 || r.RTP.Packets < int64(r.Sent)-2 || r.RTP.Lost != 0 || r.RTP.MOS < 4.4 {
		t.Fatalf("media: sent %d, %+v", r.Sent, r.RTP)
	}
}

func TestCallSIPpFailures(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		want     event.CallResult
		code     uint16
	}{
		{"uas_503.xml", event.CallRejected, 503},
		{"uas_silent.xml", event.CallTimeout, 0},
		{"uas_ring.xml", event.CallCancelled, 487},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			port := freePort(t)
			sf, _ := filepath.Abs(filepath.Join("testdata", tc.scenario))
			sp := startSIPp(t, t.TempDir(), "-sf", sf, "-i", "127.0.0.1", "-p", fmt.Sprint(port))
			waitListening(t, "udp", port)
			start := time.Now()
			r := Call(context.Background(), Target{Trunk: "t", URI: fmt.Sprintf("sip:127.0.0.1:%d", port)},
				CallOptions{To: "100", Duration: time.Second, Timeout: time.Second, RingTimeout: 1500 * time.Millisecond})
			took := time.Since(start)
			for _, s := range r.Steps {
				t.Logf("%8v %s", s.At.Round(time.Millisecond), s.What)
			}
			if r.Result != tc.want || r.Code != tc.code {
				t.Fatalf("got %v %d (%s), want %v %d\n%s", r.Result, r.Code, r.Detail, tc.want, tc.code, sp.out)
			}
			// The deadlines are the probe's, not Timer B's 32 s.
			if took > 5*time.Second {
				t.Fatalf("took %v", took)
			}
			if tc.want == event.CallCancelled && (!r.HasPDD || r.PDD <= 0) {
				t.Fatalf("ringing call without PDD: %+v", r)
			}
		})
	}
}
