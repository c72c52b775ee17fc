package active

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/event"
)

func TestHysteresis(t *testing.T) {
	h := Hysteresis{DownAfter: 3, UpAfter: 2}
	var got []string
	for _, ok := range []bool{true, false, false, true, false, false, false, false, true, false, true, true, true} {
		got = append(got, h.Observe(ok).String())
	}
	want := []string{"up", "degraded", "degraded", "degraded", "degraded", "degraded", "down", "down", "degraded", "down", "degraded", "up", "up"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("step %d: got %v, want %v", i, got, want)
		}
	}
}

type memSink struct {
	mu    sync.Mutex
	pings []event.OptionsPing
	calls []event.TestCall
}

func (s *memSink) OptionsPing(p *event.OptionsPing) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pings = append(s.pings, *p)
	return nil
}

func (s *memSink) TestCall(c *event.TestCall) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, *c)
	return nil
}

// Two trunks, primary and backup, each a real UAS; the primary is stopped
// mid-test. Its target goes degraded, then down after DownAfter failures,
// while the backup stays up; restarted, the primary comes back up after
// UpAfter successes.
func TestMonitorFailover(t *testing.T) {
	primary := startUAS(t, "udp", uasConfig{})
	backup := startUAS(t, "udp", uasConfig{})
	pt := Target{Trunk: "primary", URI: primary.uri()}
	bt := Target{Trunk: "backup", URI: backup.uri()}
	sink := &memSink{}
	var mu sync.Mutex
	states := map[string][]string{}
	m, err := NewMonitor([]MonitorTarget{{Target: pt}, {Target: bt}}, MonitorOptions{ProbeID: "p", Interval: 100 * time.Millisecond,
		Timeout: 150 * time.Millisecond, DownAfter: 3, UpAfter: 2, OnPing: func(t Target, p Ping, st event.TrunkState) {
			mu.Lock()
			states[t.Trunk] = append(states[t.Trunk], st.String())
			mu.Unlock()
		}}, sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s: %v", what, states)
	}
	waitFor("both up", func() bool { return primary.options.Load() >= 2 && backup.options.Load() >= 2 })
	primary.stop()
	waitFor("primary down", func() bool { return m.State(pt) == event.StateDown })
	if m.State(bt) != event.StateUp {
		t.Fatalf("backup %v", m.State(bt))
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	// The primary's path to down passes through degraded, never skipping it.
	seq := states["primary"]
	last := seq[len(seq)-1]
	if last != "down" || seq[len(seq)-2] != "degraded" || seq[len(seq)-3] != "degraded" || seq[0] != "up" {
		t.Fatalf("primary states %v", seq)
	}
	for _, s := range states["backup"] {
		if s != "up" {
			t.Fatalf("backup states %v", states["backup"])
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	var downs, timeouts int // a stopped UAS: its port is closed, ICMP says so
	for _, p := range sink.pings {
		if string(p.Trunk) == "primary" && p.State == event.StateDown {
			downs++
		}
		if string(p.Trunk) == "primary" && p.Result == event.PingRefused && p.Code == 0 {
			timeouts++
		}
		if p.Result == event.PingOK && (p.Code != 200 || p.RTTUS == 0) {
			t.Fatalf("ok ping without code or RTT: %+v", p)
		}
	}
	if downs == 0 || timeouts < 3 {
		t.Fatalf("events: %d down, %d timeouts", downs, timeouts)
	}
}
