package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/probe/hep"
	"github.com/trunkscope/trunkscope/probe/synth"
)

// SIP messages that an SBC mirrors over HEP (v3 over UDP and over TCP)
// become the same CDRs as the capture they came from; a packet with the
// wrong auth key is rejected and counted.
func TestHEPInputMatchesCapture(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "calls.pcap")
	mustRun(t, "gen", "--calls", "60", "--seed", "41", "--no-rtp", "--out", pcap)
	evs := captureEvents(t, pcap)
	port := freeUDP(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freeUDP(t))
	cmd, logs, _ := startService(t, "run", "--data", filepath.Join(dir, "data"), "--hep-listen", addr, "--hep-auth-key", "s3cret",
		"--metrics-listen", metricsAddr)

	udp, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	tcp, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	frame := func(i int, key string) []byte {
		ev := evs[i]
		b, err := hep.Append(nil, &hep.Packet{Version: 3, IPProto: 17, ProtoType: hep.ProtoSIP, Src: ev.Src, Dst: ev.Dst,
			TimeUS: ev.TimeUS, CaptureID: 2001, AuthKey: []byte(key), Node: []byte("sbc-1"), Payload: ev.Raw})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for i := range evs {
		// Calls go whole over one transport: the Call-ID's messages stay in
		// order, as one sender's would.
		if strings.HasSuffix(string(evs[i].CallID), "0") {
			if _, err := tcp.Write(frame(i, "s3cret")); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := udp.Write(frame(i, "s3cret")); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			time.Sleep(time.Millisecond) // loopback UDP: do not overrun the socket buffer
		}
	}
	if _, err := udp.Write(frame(0, "wrong")); err != nil {
		t.Fatal(err)
	}
	// RTCP as JSON (HEP protocol type 5), its call named by the
	// correlation ID, as heplify and Kamailio send it.
	const heplifySR = `{"sender_information":{"ntp_timestamp_sec":3899284000,"ntp_timestamp_usec":2147483648,"rtp_timestamp":160000,"packets":500,"octets":80000},` +
		`"ssrc":286331153,"type":202,"report_count":1,` +
		`"report_blocks":[{"source_ssrc":572662306,"fraction_lost":12,"packets_lost":3,"highest_seq_no":65552,"ia_jitter":37,"lsr":305419896,"dlsr":65536}],` +
		`"sdes_ssrc":286331153}`
	rtcpFrame, err := hep.Append(nil, &hep.Packet{Version: 3, IPProto: 17, ProtoType: hep.ProtoRTCPJSON, Src: evs[0].Src, Dst: evs[0].Dst,
		TimeUS: evs[0].TimeUS + 5e6, AuthKey: []byte("s3cret"), CorrelationID: evs[0].CallID, Payload: []byte(heplifySR)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tcp.Write(rtcpFrame); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // published and stored
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		fmt.Sprintf("trunkscope_probe_sip_messages_total{input=\"hep\"} %d", len(evs)),
		"trunkscope_hep_rejected_auth_total 1",
		fmt.Sprintf("trunkscope_collector_events_consumed_total %d", len(evs)+1), // and the RTCP
		"trunkscope_hep_rtcp_total 1",
		"trunkscope_probe_duplicates_total{input=\"hep\"} 0",
		"trunkscope_collector_store_down 0",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	stopService(t, cmd)
	m := awaitLog(t, logs, regexp.MustCompile(`msg="HEP stopped".*received=(\d+) accepted=(\d+) sip=(\d+)`))
	if want := fmt.Sprint(len(evs) + 2); m[1] != want || m[2] != fmt.Sprint(len(evs)+1) || m[3] != fmt.Sprint(len(evs)) {
		t.Fatalf("HEP counters received=%s accepted=%s sip=%s, want %s, %d, %d", m[1], m[2], m[3], want, len(evs)+1, len(evs))
	}
	// The RTCP is stored, tied to its call: an SR and a report block.
	s := mustRun(t, "replay", pcap, "--data", filepath.Join(dir, "data"), "--streams")
	if !strings.Contains(s.stdout, "hep/rr=1 (1 calls)") || !strings.Contains(s.stdout, "hep/sr=1 (1 calls)") {
		t.Fatalf("HEP RTCP not stored:\n%s", s.stdout)
	}
	got := exportCDRs(t, filepath.Join(dir, "data"))
	checkCalls(t, loadTruth(t, pcap), got, func(c synth.CallTruth) bool { return c.Outcome == "timeout" })
	if len(got) < 50 {
		t.Fatalf("only %d CDRs from HEP", len(got))
	}
}
