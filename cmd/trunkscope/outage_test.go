package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/synth"
	"github.com/trunkscope/trunkscope/store/storetest"
)

// captureEvents reads a capture through the probe and keeps every event.
func captureEvents(t *testing.T, pcap string) []*event.SIP {
	t.Helper()
	p, err := probe.New()
	if err != nil {
		t.Fatal(err)
	}
	var evs []*event.SIP
	sink := probe.SinkFunc(func(ev *event.SIP) error {
		var c event.SIP
		if err := event.DecodeSIP(event.AppendSIP(nil, ev), &c); err != nil {
			return err
		}
		evs = append(evs, &c)
		return nil
	})
	if err := probe.ReadFile(context.Background(), pcap, p, sink, nil); err != nil {
		t.Fatal(err)
	}
	return evs
}

func publish(t *testing.T, brokers string, evs []*event.SIP) {
	t.Helper()
	prod := bus.NewProducer([]string{brokers}, bus.DefaultTopics(), bus.ProducerOptions{BatchSize: 500})
	for _, ev := range evs {
		if err := prod.SIP(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := prod.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// The ClickHouse server dies mid-stream and comes back 20 s later: the
// collector retries, commits nothing meanwhile, and catches up; every call
// is stored exactly once.
func TestClickHouseOutage(t *testing.T) {
	ch := storetest.ServerProc(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, func(s string) string {
		return strings.Replace(s, "  addrs: []            # empty: embedded chDB under the data directory", "  addrs: ["+ch.Addr+"]", 1)
	})
	pcap := filepath.Join(dir, "calls.pcap")
	mustRun(t, "gen", "--calls", "300", "--seed", "31", "--no-rtp", "--cps", "5", "--out", pcap)
	evs := captureEvents(t, pcap)

	cmd, logs, addr := startService(t, "run", "--data", filepath.Join(dir, "data"), "--config", cfg, "--stats-interval", "200ms")
	consumed := regexp.MustCompile(`msg=collector consumed=(\d+)`)
	waitConsumed := func(n int) {
		t.Helper()
		for {
			got, _ := strconv.Atoi(awaitLog(t, logs, consumed)[1])
			if got >= n {
				return
			}
		}
	}
	half := len(evs) / 2
	publish(t, addr, evs[:half])
	waitConsumed(half)

	ch.Stop()
	publish(t, addr, evs[half:])
	awaitLog(t, logs, regexp.MustCompile(`msg="storing failed; retrying"`))
	time.Sleep(20 * time.Second)
	ch.Start()
	awaitLog(t, logs, regexp.MustCompile(`msg="store reachable again; backlog flushed"`))
	waitConsumed(len(evs))
	time.Sleep(3 * time.Second) // one more flush interval for the last batch
	stopService(t, cmd)

	truth := loadTruth(t, pcap)
	got := exportCDRsWith(t, filepath.Join(dir, "data"), "--config", cfg)
	// Calls still waiting for their INVITE timeout when the service stopped
	// may be missing; no call may be missing otherwise, or stored twice.
	checkCalls(t, truth, got, func(c synth.CallTruth) bool { return c.Outcome == "timeout" })
	missing := 0
	for _, c := range truth.Calls {
		if c.Outcome != "timeout" {
			continue
		}
		missing++
	}
	if len(got) < len(truth.Calls)-missing {
		t.Fatalf("%d CDRs for %d calls", len(got), len(truth.Calls))
	}
}
