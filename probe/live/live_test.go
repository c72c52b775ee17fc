package live

import (
	"context"
	"fmt"
	"github.com/trunkscope/trunkscope/internal/testports"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
)

const sippBin = "/usr/bin/sipp"

func freeUDPPort(t *testing.T) int { return testports.UDP(t, 1)[0] }

type counter struct {
	mu     sync.Mutex
	counts map[string]int
	calls  map[string]bool
}

func (c *counter) SIP(ev *event.SIP) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := string(ev.Method)
	if ev.Status != 0 {
		k = fmt.Sprint(ev.Status)
	}
	c.counts[k]++
	c.calls[string(ev.CallID)] = true
	return nil
}

// SIPp places calls over loopback while the probe captures on lo: every
// SIP message SIPp sent is captured exactly once, although AF_PACKET shows
// each loopback packet twice.
func TestLoopbackCaptureOfSIPpCalls(t *testing.T) {
	if _, err := os.Stat(sippBin); err != nil {
		t.Fatalf("%s missing: run ./scripts/setup --servers (Debian package sip-tester)", sippBin)
	}
	uas, uac := freeUDPPort(t), freeUDPPort(t)
	src, err := Open("lo", Options{BPF: fmt.Sprintf("udp port %d or udp port %d", uas, uac), BufferMB: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p, err := probe.New()
	if err != nil {
		t.Fatal(err)
	}
	sink := &counter{counts: map[string]int{}, calls: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, p, sink, nil) }()

	dir := t.TempDir()
	// Media ports of their own: SIPp binds four from -mp (default 6000).
	server := exec.Command(sippBin, "-sn", "uas", "-i", "127.0.0.1", "-p", fmt.Sprint(uas), "-mp", fmt.Sprint(testports.Range(t, 4)), "-nostdin")
	server.Dir = dir
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Process.Kill()
	time.Sleep(300 * time.Millisecond)
	const calls = 5
	client := exec.Command(sippBin, fmt.Sprintf("127.0.0.1:%d", uas), "-sn", "uac", "-i", "127.0.0.1", "-p", fmt.Sprint(uac),
		"-mp", fmt.Sprint(testports.Range(t, 4)),
		"-m", fmt.Sprint(calls), "-r", "10", "-d", "200", "-timeout", "30s", "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "uac.err"))
	client.Dir = dir
	if out, err := client.CombinedOutput(); err != nil {
		t.Fatalf("sipp uac: %v\n%s", err, lastLines(out))
	}
	time.Sleep(500 * time.Millisecond) // let the last packets through the ring
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// SIPp's built-in uac/uas scenarios: INVITE, 180, 200, ACK, BYE, 200 per call.
	want := map[string]int{"INVITE": calls, "180": calls, "200": 2 * calls, "ACK": calls, "BYE": calls}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if fmt.Sprint(sink.counts) != fmt.Sprint(want) || len(sink.calls) != calls {
		t.Fatalf("captured %v over %d calls, SIPp sent %v over %d", sink.counts, len(sink.calls), want, calls)
	}
	// SIP messages, not raw packets: other tests running in parallel may
	// send stray UDP (RTP on random ports) that the filter lets through.
	if st := p.Stats(); st.SIPMessages != 6*calls || st.Duplicates != 0 {
		t.Fatalf("%d SIP messages, %d duplicates; want %d and 0 (each loopback packet once)", st.SIPMessages, st.Duplicates, 6*calls)
	}
}

func lastLines(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func TestCompileFilter(t *testing.T) {
	prog, err := Compile("udp port 5060")
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) < 5 || prog[len(prog)-1].Op != 0x06 {
		t.Fatalf("unexpected program %v", prog)
	}
	if _, err := Compile("udp port nope("); err == nil {
		t.Fatal("a bad expression must be refused")
	}
	g := dropOutgoing(nil)
	if len(g) != 4 || g[0].K != 0xfffff004 || g[3].K == 0 {
		t.Fatalf("guard %v", g)
	}
}
