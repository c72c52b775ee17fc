package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// sipView lists a capture's SIP messages as tshark dissects them, one
// "Call-ID|CSeq method|status" line per message, in order.
func sipView(t *testing.T, file string) []string {
	t.Helper()
	out, err := exec.Command("tshark", "-r", file, "-Y", "sip", "-T", "fields", "-e", "sip.Call-ID",
		"-e", "sip.CSeq.method", "-e", "sip.Status-Code", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=;").Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v (tshark is installed by ./scripts/setup)", file, err)
	}
	var msgs []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "|")
		ids, methods := strings.Split(f[0], ";"), strings.Split(f[1], ";")
		codes := strings.Split(f[2], ";")
		// A frame with several messages (TCP) lists each field per message;
		// requests have no status, so statuses pair with the responses.
		ci := 0
		for i := range ids {
			code := ""
			if i < len(methods) && ci < len(codes) && codes[ci] != "" && len(ids) == len(codes) {
				code = codes[i]
			} else if len(ids) == 1 {
				code = f[2]
			}
			m := ""
			if i < len(methods) {
				m = methods[i]
			}
			msgs = append(msgs, ids[i]+"|"+m+"|"+code)
		}
	}
	return msgs
}

func byCall(msgs []string) map[string][]string {
	out := map[string][]string{}
	for _, m := range msgs {
		id, _, _ := strings.Cut(m, "|")
		out[id] = append(out[id], m)
	}
	return out
}

// ladderArrows returns the arrow labels of a drawn ladder, in order.
func ladderArrows(out string) []string {
	var labels []string
	for _, l := range strings.Split(out, "\n") {
		if !strings.Contains(l, "->|") && !strings.Contains(l, "|<-") {
			continue
		}
		s := strings.Trim(l[strings.IndexAny(l, "|"):], "|")
		s = strings.Trim(s, "-<>|")
		s = strings.TrimSpace(s)
		labels = append(labels, s)
	}
	return labels
}

// For the shared public captures: the ladder of every call lists each of
// its SIP messages in capture order, and the call's pcap, read back with
// gopacket and with tshark, holds exactly those messages.
func TestLadderAndPcapOfCaptures(t *testing.T) {
	for _, file := range []string{"aaa.pcap", "sip_ipv4_tcp.pcap", "SIP_DTMF2.pcap"} {
		t.Run(file, func(t *testing.T) {
			capture := filepath.Join("..", "..", "probe", "testdata", file)
			data := t.TempDir()
			mustRun(t, "replay", capture, "--data", data)
			want := byCall(sipView(t, capture))
			cdrs := exportCDRs(t, data)
			if len(cdrs) == 0 {
				t.Fatal("no CDRs")
			}
			for _, c := range cdrs {
				msgs := want[c.CallID]
				lr := mustRun(t, "ladder", c.CallID, "--data", data)
				arrows := ladderArrows(lr.stdout)
				if len(arrows) != len(msgs) {
					t.Fatalf("%s: ladder has %d arrows, capture %d messages:\n%s\n%v", c.CallID, len(arrows), len(msgs), lr.stdout, msgs)
				}
				for i, m := range msgs {
					f := strings.Split(m, "|")
					label := f[2]
					if label == "" {
						label = f[1]
					}
					if !strings.HasPrefix(arrows[i], label) {
						t.Errorf("%s message %d: ladder says %q, capture %q", c.CallID, i, arrows[i], m)
					}
				}
				pcap := filepath.Join(t.TempDir(), "call.pcap")
				mustRun(t, "call", "pcap", c.CallID, "--data", data, "--out", pcap)
				if got := sipView(t, pcap); strings.Join(got, "\n") != strings.Join(msgs, "\n") {
					t.Fatalf("%s: tshark reads the call's pcap as\n%s\nwant\n%s", c.CallID, strings.Join(got, "\n"), strings.Join(msgs, "\n"))
				}
				payloads := readPayloads(t, pcap)
				if len(payloads) != len(msgs) {
					t.Fatalf("%s: gopacket reads %d payloads, want %d", c.CallID, len(payloads), len(msgs))
				}
				for i, p := range payloads {
					if !bytes.Contains(p, []byte(c.CallID)) || !(bytes.HasPrefix(p, []byte("SIP/2.0 ")) || bytes.Contains(p[:min(len(p), 200)], []byte(" SIP/2.0\r\n"))) {
						t.Fatalf("%s: frame %d is not a SIP message of the call: %.80q", c.CallID, i, p)
					}
				}
			}
		})
	}
}

// readPayloads decodes every frame of a pcap with gopacket and returns the
// UDP or TCP payloads.
func readPayloads(t *testing.T, file string) [][]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	src := gopacket.NewPacketSource(r, r.LinkType())
	for p := range src.Packets() {
		if el := p.ErrorLayer(); el != nil {
			t.Fatalf("frame %d: %v", len(out), el.Error())
		}
		switch {
		case p.Layer(layers.LayerTypeUDP) != nil:
			out = append(out, p.Layer(layers.LayerTypeUDP).LayerPayload())
		case p.Layer(layers.LayerTypeTCP) != nil:
			out = append(out, p.Layer(layers.LayerTypeTCP).LayerPayload())
		default:
			t.Fatalf("frame %d: neither UDP nor TCP", len(out))
		}
	}
	return out
}
