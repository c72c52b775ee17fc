package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Public captures (probe/testdata, sources in its README) replay into the
// CDRs their SIP flows imply, and the SIP messages stored per method and
// response code equal tshark 4.0's `-z sip,stat` for each file.
func TestPublicCaptures(t *testing.T) {
	type cdr struct {
		callID     string
		leg        int
		outcome    string
		code       int
		flags, end string // end checked when set
	}
	for _, tc := range []struct {
		file  string
		stats string // tshark's counts, requests then responses
		cdrs  []cdr
	}{
		{"aaa.pcap", "INVITE=11 ACK=7 REGISTER=18 CANCEL=11 407=3 200=3 408=2 480=1 100=7 401=14 183=1 403=3", []cdr{
			// CANCEL sent after 100 Trying; the INVITE then ends with 408.
			{"105090259-446faf7a@192.168.1.2", 0, "cancelled", 408, "", ""},
			// 407 challenge, INVITE re-sent with credentials: one attempt.
			{"11894297-4432a9f8@192.168.1.2", 0, "no_answer", 480, "", ""},
			{"24487391-449bf2a0@192.168.1.2", 0, "rejected", 403, "", ""},
			{"85216695-42dcdb1d@192.168.1.2", 0, "rejected", 403, "", ""},
		}},
		{"sip_ipv4_tcp.pcap", "INVITE=1 ACK=1 BYE=1 200=2 180=1 100=1", []cdr{
			{"158936656982201062716@10.33.6.100", 0, "answered", 200, "", ""},
		}},
		{"SIP_DTMF2.pcap", "INVITE=3 ACK=3 REGISTER=5 603=1 200=7 180=2 100=8", []cdr{
			{"5514@192.168.105.110", 0, "rejected", 603, "", ""},
			// The capture ends during the call: no BYE was captured.
			// One Call-ID, two hops (.110 -> .105, then .105 -> .110): two
			// legs, both cut off where the capture ends (its last packet,
			// per capinfos).
			{"25672@192.168.105.110", 0, "answered", 200, "no_bye", "2005-09-09T12:04:05.367724Z"},
			{"25672@192.168.105.110", 1, "answered", 200, "no_bye", "2005-09-09T12:04:05.367724Z"},
		}},
		{"sip-rtp-g729a.pcap", "INVITE=1 ACK=1 BYE=1 200=2 100=1", []cdr{
			{"1-24411@10.0.2.20", 0, "answered", 200, "pdd_to_2xx", ""},
		}},
		{"poor_jitter_quality_22.pcapng", "", nil},
		{"pcmu_8k_no_jitter.pcap", "", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := t.TempDir()
			r := mustRun(t, "replay", filepath.Join("..", "..", "probe", "testdata", tc.file), "--data", data)
			if got, want := storedSIPStats(t, r.stdout), sortedStats(tc.stats); got != want {
				t.Errorf("stored SIP messages %q, tshark %q", got, want)
			}
			got := exportCDRs(t, data)
			if len(got) != len(tc.cdrs) {
				t.Fatalf("%d CDRs, want %d: %+v", len(got), len(tc.cdrs), got)
			}
			byID := map[string]exported{}
			for _, e := range got {
				byID[fmt.Sprint(e.CallID, "/", e.Leg)] = e
			}
			for _, w := range tc.cdrs {
				e := byID[fmt.Sprint(w.callID, "/", w.leg)]
				if e.Outcome != w.outcome || e.FinalCode != w.code || e.Flags != w.flags || (w.end != "" && e.End != w.end) {
					t.Errorf("%s: got %+v, want %+v", w.callID, e, w)
				}
			}
		})
	}
}

// storedSIPStats picks the "SIP messages:" line of the replay output, which
// is read back from the store.
func storedSIPStats(t *testing.T, out string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "SIP messages:"); ok {
			return sortedStats(rest)
		}
	}
	t.Fatalf("no SIP messages line in:\n%s", out)
	return ""
}

func sortedStats(s string) string {
	f := strings.Fields(s)
	sort.Strings(f)
	return fmt.Sprint(f)
}

// --realtime paces the replay at the recorded speed and stores the same
// CDRs as a fast replay.
func TestRealtimeReplay(t *testing.T) {
	capture := filepath.Join("..", "..", "probe", "testdata", "sip_ipv4_tcp.pcap") // SIP spans 6.5 s
	fast := exportAfter(t, "replay", capture)
	start := time.Now()
	paced := exportAfter(t, "replay", capture, "--realtime")
	if el := time.Since(start); el < 6*time.Second {
		t.Fatalf("realtime replay of a 6.5 s capture took %s", el)
	}
	if fmt.Sprint(fast) != fmt.Sprint(paced) {
		t.Fatalf("realtime replay stored %+v, fast replay %+v", paced, fast)
	}
}

func exportAfter(t *testing.T, args ...string) []exported {
	t.Helper()
	data := t.TempDir()
	mustRun(t, append(args, "--data", data)...)
	return exportCDRs(t, data)
}

// Every RTP stream tshark lists for the public captures, as the whole
// pipeline stores it (replay --streams reads the final reports back from
// ClickHouse): packets and lost equal tshark's -z rtp,streams exactly,
// jitter within 5% or 0.01 ms. The DTMF stream of SIP_DTMF2 reports RFC
// 3550 jitter with RFC 4733 events excluded (tshark's 1.522/15.767 ms come
// from the events; probe/rtp's conformance test holds both).
func TestStreamsMatchTshark(t *testing.T) {
	type stream struct {
		src             string
		packets, lost   int
		mean, max       float64
		callIDSubstring string
	}
	for _, tc := range []struct {
		file    string
		streams []stream
	}{
		{"SIP_DTMF2.pcap", []stream{{"192.168.105.110:4374", 665, 2, 0.010, 0.019, "25672@"}, {"192.168.105.172:4376", 666, 0, 0.008, 0.015, "25672@"}}},
		{"sip-rtp-g729a.pcap", []stream{{"10.0.2.15:28120", 425, 0, 0.085, 0.143, "1-24411@"}}},
		{"sip_ipv4_tcp.pcap", []stream{{"10.33.6.100:6000", 24, 0, 0.039, 0.069, "158936656982201062716@"}, {"10.33.6.101:6050", 42, 0, 2.304, 3.063, "158936656982201062716@"}}},
		{"poor_jitter_quality_22.pcapng", []stream{{"91.121.209.194:51616", 1771, 163, 2.764, 4.989, ""}}},
		{"pcmu_8k_no_jitter.pcap", []stream{{"192.168.0.201:8090", 2524, 0, 0.800, 11.493, ""}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := mustRun(t, "replay", filepath.Join("..", "..", "probe", "testdata", tc.file), "--data", t.TempDir(),
				"--streams", "--streams-format", "csv")
			rows, err := csv.NewReader(strings.NewReader(r.stdout[strings.Index(r.stdout, "src_addr,"):])).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, row := range rows[1:] {
				got[row[0]+":"+row[1]] = row
			}
			if len(got) != len(tc.streams) {
				t.Fatalf("%d streams, tshark lists %d:\n%s", len(got), len(tc.streams), r.stdout)
			}
			near := func(a string, b float64) bool {
				v, _ := strconv.ParseFloat(a, 64)
				return math.Abs(v-b) <= math.Max(0.05*b, 0.01)
			}
			for _, w := range tc.streams {
				g := got[w.src]
				if g == nil {
					t.Errorf("no stream from %s", w.src)
					continue
				}
				// columns: src_addr,src_port,dst_addr,dst_port,ssrc,payload,packets,lost,lost_percent,
				// max_delta_ms,max_jitter_ms,mean_jitter_ms,mos,call_id
				if g[6] != strconv.Itoa(w.packets) || g[7] != strconv.Itoa(w.lost) || !near(g[11], w.mean) || !near(g[10], w.max) ||
					!strings.Contains(g[13], w.callIDSubstring) || (w.callIDSubstring == "" && g[13] != "") {
					t.Errorf("stream from %s: got %v, tshark %+v", w.src, g, w)
				}
			}
		})
	}
}

// RTCP seen in a capture is stored and tied to its call through the SDP's
// RTCP port: aaa.pcap's one compound (SR, SDES, BYE) belongs to the call
// whose 183 carried the SDP.
func TestCapturedRTCPTiedToCall(t *testing.T) {
	r := mustRun(t, "replay", filepath.Join("..", "..", "probe", "testdata", "aaa.pcap"), "--data", t.TempDir(), "--streams")
	if !strings.Contains(r.stdout, "RTCP blocks stored: capture/sr=1 (1 calls)") {
		t.Fatalf("captured RTCP not stored with its call:\n%s", r.stdout)
	}
}
