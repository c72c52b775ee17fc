package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"github.com/trunkscope/trunkscope/internal/testports"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/probe/packet"
	"github.com/trunkscope/trunkscope/probe/pcapfile"
	"github.com/trunkscope/trunkscope/probe/rtp"
)

const sippShare = "/usr/share/sip-tester"

// rtpPerSSRC counts the RTP packets per SSRC in a capture.
func rtpPerSSRC(t *testing.T, path string) map[uint32]int {
	t.Helper()
	r, err := pcapfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[uint32]int{}
	var p packet.Packet
	var h rtp.Header
	for {
		data, _, lt, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if packet.Decode(lt, data, &p) == nil && rtp.ParseHeader(p.Payload, &h) == nil {
			out[h.SSRC]++
		}
	}
}

// SIPp places a call on loopback and plays RTP from its g711a.pcap (and an
// RFC 2833 DTMF pcap) to an answering SIPp that sends none back; the probe
// captures on lo. Each stream's packet count equals what SIPp played, and
// the CDR carries them: media one way only, flagged.
func TestLiveSIPpCallWithRTP(t *testing.T) {
	if _, err := os.Stat(filepath.Join(sippShare, "g711a.pcap")); err != nil {
		t.Fatal("SIPp's pcaps missing: run ./scripts/setup --servers (Debian package sip-tester)")
	}
	want := map[uint32]int{}
	for _, f := range []string{"g711a.pcap", "dtmf_2833_1.pcap"} {
		for ssrc, n := range rtpPerSSRC(t, filepath.Join(sippShare, f)) {
			want[ssrc] += n
		}
	}
	dir := t.TempDir()
	os.Symlink(sippShare, filepath.Join(dir, "pcap")) // the scenario plays pcap/g711a.pcap
	uas, uac := freeUDP(t), freeUDP(t)
	uasMedia, uacMedia := testports.Range(t, 4), testports.Range(t, 4)
	filter := fmt.Sprintf("udp port %d or udp port %d or udp portrange %d-%d or udp portrange %d-%d",
		uas, uac, uasMedia, uasMedia+3, uacMedia, uacMedia+3)
	cmd, _, _ := startService(t, "run", "--data", filepath.Join(dir, "data"), "--iface", "lo", "--bpf", filter)

	server := exec.Command("/usr/bin/sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", fmt.Sprint(uas), "-mp", fmt.Sprint(uasMedia), "-nostdin")
	server.Dir = dir
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Process.Kill()
	time.Sleep(300 * time.Millisecond)
	client := exec.Command("/usr/bin/sipp", fmt.Sprintf("127.0.0.1:%d", uas), "-sn", "uac_pcap", "-i", "127.0.0.1",
		"-p", fmt.Sprint(uac), "-mp", fmt.Sprint(uacMedia), "-m", "1", "-timeout", "60s", "-nostdin")
	client.Dir = dir
	if out, err := client.CombinedOutput(); err != nil {
		t.Fatalf("sipp uac_pcap: %v\n%s", err, out)
	}
	time.Sleep(4 * time.Second) // the streams end (BYE + linger), reports are published and stored
	stopService(t, cmd)

	got := exportCDRs(t, filepath.Join(dir, "data"))
	if len(got) != 1 {
		t.Fatalf("%d CDRs, want 1", len(got))
	}
	total := 0
	for _, n := range want {
		total += n
	}
	r := mustRun(t, "cdr", "export", "--data", filepath.Join(dir, "data"))
	rows, _ := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	cdr := rows[1]
	// What SIPp played, analysed offline from its own files: the lost
	// count is RFC 3550's expected minus received, negative where the
	// RFC 4733 end-of-event packets are sent three times.
	wantLost := 0
	for _, f := range []string{"g711a.pcap", "dtmf_2833_1.pcap"} {
		s := mustRun(t, "replay", filepath.Join(sippShare, f), "--data", t.TempDir(), "--streams", "--streams-format", "csv")
		rows, err := csv.NewReader(strings.NewReader(s.stdout[strings.Index(s.stdout, "src_addr,"):])).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("%s streams: %v %v", f, rows, err)
		}
		n, _ := strconv.Atoi(rows[1][7])
		wantLost += n
	}
	if cdr[col["outcome"]] != "answered" || cdr[col["fwd_packets"]] != strconv.Itoa(total) || cdr[col["rev_packets"]] != "0" ||
		cdr[col["one_way_audio"]] != "1" || cdr[col["fwd_lost"]] != strconv.Itoa(wantLost) || cdr[col["mos"]] == "" {
		t.Fatalf("CDR media: outcome %s fwd %s lost %s rev %s one-way %s mos %s; SIPp played %d packets (%v), lost %d",
			cdr[col["outcome"]], cdr[col["fwd_packets"]], cdr[col["fwd_lost"]], cdr[col["rev_packets"]],
			cdr[col["one_way_audio"]], cdr[col["mos"]], total, want, wantLost)
	}
}
