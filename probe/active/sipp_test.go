package active

import (
	"bytes"
	"context"
	"fmt"
	"github.com/trunkscope/trunkscope/internal/testports"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const sippBin = "/usr/bin/sipp"

// freePort returns a loopback port free for UDP and TCP, for a peer to bind.
func freePort(t *testing.T) int { return testports.UDP(t, 1)[0] }

// sipp runs SIPp (Debian's sip-tester) with args until the test ends and
// returns its output buffer.
type sippProc struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

func startSIPp(t *testing.T, dir string, args ...string) *sippProc {
	t.Helper()
	if _, err := os.Stat(sippBin); err != nil {
		t.Fatalf("%s missing: run ./scripts/setup --servers (Debian package sip-tester)", sippBin)
	}
	// SIPp binds four media ports from -mp (default 6000) and a control
	// port (default 8888): defaults would collide with other tests' SIPp.
	if !slices.Contains(args, "-mp") {
		args = append(args, "-mp", fmt.Sprint(testports.Range(t, 4)))
	}
	if !slices.Contains(args, "-cp") {
		args = append(args, "-cp", fmt.Sprint(freePort(t)))
	}
	cmd := exec.Command(sippBin, append(args, "-nostdin")...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &sippProc{cmd: cmd, out: &out}
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *sippProc) stop() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

// waitUDP waits until something answers on a UDP port (SIPp binds before
// it is ready; a ping that is lost is a timeout, so wait for the port).
func waitListening(t *testing.T, network string, port int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if network == "tcp" {
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				c.Close()
				return
			}
		} else if c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err != nil {
			return // bound by someone: SIPp is up
		} else {
			c.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s port %d", network, port)
}

func TestOptionsAgainstSIPp(t *testing.T) {
	for _, tr := range []string{"udp", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			port := freePort(t)
			args := []string{"-sn", "uas", "-aa", "-i", "127.0.0.1", "-p", fmt.Sprint(port)}
			if tr == "tcp" {
				args = append(args, "-t", "t1")
			}
			startSIPp(t, t.TempDir(), args...)
			waitListening(t, tr, port)
			pg, err := NewPinger(Target{Trunk: "t", URI: fmt.Sprintf("sip:127.0.0.1:%d", port), Transport: tr}, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer pg.Close()
			for i := range 3 {
				r := pg.Ping(context.Background())
				if !r.OK() || r.Code != 200 || r.RTT <= 0 || r.RTT > 2*time.Second {
					t.Fatalf("ping %d: %+v", i, r)
				}
			}
		})
	}
}

func TestOptionsFaults(t *testing.T) {
	closed := freePort(t)
	silent, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	garbage := garbagePeer(t, "SIP/2.0 200 OK\r\nthis is not a header\r\n\r\n")
	for _, tc := range []struct {
		name, uri, transport string
		want                 string
	}{
		{"refused tcp", fmt.Sprintf("sip:127.0.0.1:%d", closed), "tcp", "refused"},
		{"closed udp port", fmt.Sprintf("sip:127.0.0.1:%d", closed), "udp", "refused"},
		{"silent udp", "sip:" + silent.LocalAddr().String(), "udp", "timeout"},
		{"unresolvable", "sip:no-such-host.invalid:5060", "udp", "unresolvable"},
		{"malformed response", "sip:" + garbage.LocalAddr().String(), "udp", "bad_response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pg, err := NewPinger(Target{Trunk: "t", URI: tc.uri, Transport: tc.transport}, 700*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			defer pg.Close()
			start := time.Now()
			r := pg.Ping(context.Background())
			took := time.Since(start)
			if r.Result.String() != tc.want || r.Code != 0 {
				t.Fatalf("got %v (%s), want %s", r.Result, r.Detail, tc.want)
			}
			// Returned at the deadline, not after Timer F (32 s).
			if took > 5*time.Second {
				t.Fatalf("took %v", took)
			}
			if strings.TrimSpace(r.Detail) == "" {
				t.Fatal("no detail")
			}
			t.Logf("%s: %s in %v", r.Result, r.Detail, took.Round(time.Millisecond))
		})
	}
}

// garbagePeer is a UDP peer on loopback that answers every datagram with
// reply (a malformed SIP response); closed at the end of the test.
func garbagePeer(t *testing.T, reply string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			_, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			c.WriteTo([]byte(reply), from)
		}
	}()
	return c
}
