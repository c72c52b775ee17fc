package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/synth"
)

// `run` owns its data directory, turns events that probes publish to its
// broker into CDRs, and on SIGTERM stores what it consumed and exits 0.
func TestRunService(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	pcap := filepath.Join(dir, "calls.pcap")
	mustRun(t, "gen", "--calls", "40", "--seed", "9", "--no-rtp", "--out", pcap)

	cmd := exec.Command(os.Args[0], "run", "--data", data, "--stats-interval", "100ms")
	cmd.Env = append(os.Environ(), "TRUNKSCOPE_AS_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	logs := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs <- sc.Text()
		}
		close(logs)
	}()
	await := func(re *regexp.Regexp) []string {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case l, ok := <-logs:
				if !ok {
					t.Fatal("run exited early")
				}
				if m := re.FindStringSubmatch(l); m != nil {
					return m
				}
			case <-deadline:
				t.Fatalf("no log line matching %s", re)
			}
		}
	}
	brokers := await(regexp.MustCompile(`msg="trunkscope running".*brokers=\[([0-9.:]+)\]`))[1]

	// A second process on the same data directory fails at once.
	r := trunkscope(t, nil, "cdr", "export", "--data", data)
	if want := fmt.Sprintf("in use by PID %d", cmd.Process.Pid); r.code != exitError || !strings.Contains(r.stderr, want) {
		t.Fatalf("second process: exit %d, stderr %q, want %q", r.code, r.stderr, want)
	}

	// Publish the capture as a probe would, to the service's broker.
	p, _ := probe.New()
	prod := bus.NewProducer([]string{brokers}, bus.DefaultTopics(), bus.ProducerOptions{})
	if err := probe.ReadFile(context.Background(), pcap, p, prod, nil); err != nil {
		t.Fatal(err)
	}
	if err := prod.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := prod.Sent()
	consumed := regexp.MustCompile(`msg=collector consumed=(\d+)`)
	for {
		n, _ := strconv.ParseInt(await(consumed)[1], 10, 64)
		if n >= sent {
			break
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stderr)
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("run did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop within 30 s of SIGTERM")
	}

	// Every call that ended within the capture is stored; calls still
	// waiting for their INVITE timeout when the service stopped may be
	// missing, never wrong.
	truth := loadTruth(t, pcap)
	got := exportCDRs(t, data)
	checkCalls(t, truth, got, func(c synth.CallTruth) bool { return c.Outcome == "timeout" })
	if len(got) < len(truth.Calls)*3/4 {
		t.Fatalf("only %d of %d calls stored", len(got), len(truth.Calls))
	}
}
