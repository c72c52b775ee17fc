package main

import (
	"bufio"
	"fmt"
	"github.com/trunkscope/trunkscope/internal/testports"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// startService starts `trunkscope ARGS...` and returns it once it logs that
// it is running, with its log lines and its broker address; the process is
// killed when the test ends.
func startService(t *testing.T, args ...string) (*exec.Cmd, <-chan string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TRUNKSCOPE_AS_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	logs := make(chan string, 10000)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case logs <- sc.Text():
			default: // never block the service on a slow test
			}
		}
		close(logs)
	}()
	m := awaitLog(t, logs, regexp.MustCompile(`msg="trunkscope running".*brokers=\[([0-9.:]+)`))
	return cmd, logs, m[1]
}

func awaitLog(t *testing.T, logs <-chan string, re *regexp.Regexp) []string {
	t.Helper()
	// A hang guard, not a timing assertion: a loaded CI machine can take
	// long to start a role (ClickHouse cluster DDL, Kafka group joins).
	deadline := time.After(3 * time.Minute)
	for {
		select {
		case l, ok := <-logs:
			if !ok {
				t.Fatalf("service exited before logging %s", re)
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-deadline:
			t.Fatalf("no log line matching %s", re)
		}
	}
}

func stopService(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("service did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("service did not stop within 30 s of SIGTERM")
	}
}

// freeUDP returns a loopback port free for a peer to bind.
func freeUDP(t *testing.T) int { return testports.UDP(t, 1)[0] }

// The service captures on lo while SIPp places calls over loopback; after
// SIGTERM every call is a CDR with the figures SIPp produced.
func TestRunCapturesLiveSIPpCalls(t *testing.T) {
	if _, err := os.Stat("/usr/bin/sipp"); err != nil {
		t.Fatal("/usr/bin/sipp missing: run ./scripts/setup --servers (Debian package sip-tester)")
	}
	dir := t.TempDir()
	uas, uac := freeUDP(t), freeUDP(t)
	cmd, _, _ := startService(t, "run", "--data", filepath.Join(dir, "data"), "--iface", "lo",
		"--bpf", fmt.Sprintf("udp port %d or udp port %d", uas, uac))

	server := exec.Command("/usr/bin/sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", fmt.Sprint(uas), "-mp", fmt.Sprint(testports.Range(t, 4)), "-nostdin")
	server.Dir = dir
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Process.Kill()
	time.Sleep(300 * time.Millisecond)
	const calls = 4
	client := exec.Command("/usr/bin/sipp", fmt.Sprintf("127.0.0.1:%d", uas), "-sn", "uac", "-i", "127.0.0.1",
		"-p", fmt.Sprint(uac), "-mp", fmt.Sprint(testports.Range(t, 4)), "-m", fmt.Sprint(calls), "-r", "10", "-d", "1500", "-timeout", "30s", "-nostdin")
	client.Dir = dir
	if out, err := client.CombinedOutput(); err != nil {
		t.Fatalf("sipp uac: %v\n%s", err, out)
	}
	time.Sleep(2 * time.Second) // flush interval: events published and stored
	stopService(t, cmd)

	got := exportCDRs(t, filepath.Join(dir, "data"))
	if len(got) != calls {
		t.Fatalf("%d CDRs, SIPp placed %d calls: %+v", len(got), calls, got)
	}
	for _, c := range got {
		// SIPp's uac pauses 1.5 s between ACK and BYE: the call lasts that
		// long give or take the loopback's scheduling.
		start, err := time.Parse("2006-01-02T15:04:05.000000Z", c.Start)
		if c.Outcome != "answered" || c.HangupBy != "caller" || c.DurationMs < 1450 || c.DurationMs > 2500 ||
			err != nil || time.Since(start) > 10*time.Minute || time.Since(start) < 0 {
			t.Errorf("CDR %+v", c)
		}
	}
}
