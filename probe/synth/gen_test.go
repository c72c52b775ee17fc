package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestDeterministic(t *testing.T) {
	o := Options{Calls: 40, Seed: 42, MeanDuration: 3 * time.Second}
	a, ta := generate(t, o)
	b, tb := generate(t, o)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed produced different captures")
	}
	var ja, jb bytes.Buffer
	if err := ta.WriteJSON(&ja); err != nil {
		t.Fatal(err)
	}
	if err := tb.WriteJSON(&jb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ja.Bytes(), jb.Bytes()) {
		t.Fatal("same seed produced different truth")
	}
	o.Seed = 43
	if c, _ := generate(t, o); bytes.Equal(a, c) {
		t.Fatal("different seeds produced identical captures")
	}
}

func TestEveryOutcomeAndTrunk(t *testing.T) {
	for seed := range int64(20) {
		_, tr := generate(t, Options{Calls: 10, Seed: seed, NoRTP: true})
		outcomes, codes, trunks := map[string]bool{}, map[int]bool{}, map[string]bool{}
		for _, c := range tr.Calls {
			outcomes[c.Outcome], codes[c.FinalCode], trunks[c.Trunk] = true, true, true
		}
		for _, o := range []string{"answered", "busy", "no_answer", "rejected", "cancelled", "timeout"} {
			if !outcomes[o] {
				t.Errorf("seed %d: no %s call", seed, o)
			}
		}
		for _, code := range []int{0, 200, 408, 480, 486, 487, 503} {
			if !codes[code] {
				t.Errorf("seed %d: no call with final code %d", seed, code)
			}
		}
		for _, tk := range DefaultTrunks() {
			if !trunks[tk.Name] {
				t.Errorf("seed %d: trunk %s got no call", seed, tk.Name)
			}
		}
	}
}

func TestOutcomeMix(t *testing.T) {
	_, tr := generate(t, Options{Calls: 4000, Seed: 1, NoRTP: true})
	got := map[int]int{}
	for _, c := range tr.Calls {
		got[c.FinalCode]++
	}
	want := map[int]float64{200: .55, 486: .10, 503: .08, 408: .05, 480: .05, 0: .05, 487: .12}
	for code, share := range want {
		if f := float64(got[code]) / float64(len(tr.Calls)); f < share-0.03 || f > share+0.03 {
			t.Errorf("final code %d: share %.3f, want about %.2f", code, f, share)
		}
	}
}

// TestCaptureMatchesTruth recomputes every truth field from the wire.
func TestCaptureMatchesTruth(t *testing.T) {
	o := Options{Calls: 80, Seed: 7, MeanDuration: 5 * time.Second}
	data, tr := generate(t, o)
	pkts := readCapture(t, data)

	type wire struct {
		counts                          map[string]int
		start, ring, answer, bye, final int64
		finalCode                       int
		inviteSrc, inviteDst, byeSrc    string
		from, to                        string
	}
	calls := map[string]*wire{}
	sip := 0
	for _, p := range pkts {
		m := p.sip
		if m == nil {
			continue
		}
		sip++
		id := m.headers["call-id"]
		w := calls[id]
		if w == nil {
			w = &wire{counts: map[string]int{}}
			calls[id] = w
		}
		w.counts[m.key()]++
		switch {
		case m.method == "INVITE" && w.start == 0:
			w.start, w.inviteSrc, w.inviteDst = p.us, p.src, p.dst
			w.from, w.to = m.headers["from"], m.headers["to"]
		case m.method == "BYE":
			w.bye, w.byeSrc = p.us, p.src
		case m.code == 180 || m.code == 183:
			if w.ring == 0 {
				w.ring = p.us
			}
		case m.code >= 200 && m.cseqMethod() == "INVITE":
			w.final, w.finalCode = p.us, m.code
			if m.code == 200 {
				w.answer = p.us
			}
		}
	}
	if len(pkts) != tr.Packets || sip != tr.SIPPackets || len(pkts)-sip != tr.RTPPackets {
		t.Fatalf("capture has %d packets (%d SIP), truth says %d (%d SIP, %d RTP)",
			len(pkts), sip, tr.Packets, tr.SIPPackets, tr.RTPPackets)
	}
	if len(calls) != len(tr.Calls) {
		t.Fatalf("capture has %d Call-IDs, truth %d calls", len(calls), len(tr.Calls))
	}
	trunks := map[string]Trunk{}
	for _, tk := range DefaultTrunks() {
		trunks[tk.Name] = tk
	}
	for _, c := range tr.Calls {
		w := calls[c.CallID]
		if w == nil {
			t.Fatalf("call %s not in capture", c.CallID)
		}
		if !maps.Equal(w.counts, c.SIPMessages) {
			t.Errorf("call %s: wire messages %v, truth %v", c.CallID, w.counts, c.SIPMessages)
		}
		end, pdd, dur, code, hangup := w.final, int64(-1), int64(0), w.finalCode, ""
		switch c.Outcome {
		case "answered":
			end, dur = w.bye, (w.bye-w.answer)/1000
			hangup = "callee"
			if w.byeSrc == w.inviteSrc {
				hangup = "caller"
			}
		case "timeout":
			end, code = w.start+32_000_000, 0
		}
		if w.ring != 0 {
			pdd = (w.ring - w.start) / 1000
		}
		got := [...]int64{w.start, w.ring, w.answer, end, pdd, dur, int64(code)}
		want := [...]int64{c.StartUS, c.RingUS, c.AnswerUS, c.EndUS, c.PDDMs, c.DurationMs, int64(c.FinalCode)}
		if got != want {
			t.Errorf("call %s (%s): wire start/ring/answer/end/pdd/dur/code %v, truth %v", c.CallID, c.Outcome, got, want)
		}
		if hangup != c.HangupBy {
			t.Errorf("call %s: BYE by %q, truth %q", c.CallID, hangup, c.HangupBy)
		}
		if !strings.HasPrefix(w.from, "<sip:"+c.Caller+"@") || !strings.HasPrefix(w.to, "<sip:"+c.Callee+"@") {
			t.Errorf("call %s: From %q To %q, truth caller %s callee %s", c.CallID, w.from, w.to, c.Caller, c.Callee)
		}
		trunkSide := w.inviteDst
		if c.Direction == "inbound" {
			trunkSide = w.inviteSrc
		}
		if tk := trunks[c.Trunk]; trunkSide != tk.Addr.String() || tk.Direction != c.Direction {
			t.Errorf("call %s: trunk side %s, truth trunk %s (%s)", c.CallID, trunkSide, c.Trunk, c.Direction)
		}
	}
}

func TestRTPOfAnsweredCall(t *testing.T) {
	data, tr := generate(t, Options{Calls: 12, Seed: 3, MeanDuration: 4 * time.Second})
	pkts := readCapture(t, data)
	var c CallTruth
	for _, c = range tr.Calls {
		if c.Outcome == "answered" {
			break
		}
	}
	var offer, answer string
	for _, p := range pkts {
		if p.sip == nil || p.sip.headers["call-id"] != c.CallID {
			continue
		}
		if p.sip.method == "INVITE" {
			offer = sdpMedia(t, p.sip.body)
		}
		if p.sip.code == 200 && p.sip.cseqMethod() == "INVITE" {
			answer = sdpMedia(t, p.sip.body)
		}
	}
	for _, dir := range [][2]string{{offer, answer}, {answer, offer}} {
		var stream []packet
		for _, p := range pkts {
			if p.sip == nil && p.src == dir[0] && p.dst == dir[1] {
				stream = append(stream, p)
			}
		}
		durPackets := int(c.DurationMs / 20)
		if n := len(stream); n < durPackets-2 || n > durPackets {
			t.Fatalf("%s->%s: %d RTP packets for a %d ms call", dir[0], dir[1], n, c.DurationMs)
		}
		for i, p := range stream {
			b := p.payload
			if len(b) != 12+160 || b[0] != 0x80 || b[1]&0x7f != 0 {
				t.Fatalf("packet %d: not RTP v2 PCMU with 160 bytes: % x", i, b[:min(len(b), 12)])
			}
			if marker := b[1]&0x80 != 0; marker != (i == 0) {
				t.Errorf("packet %d: marker %v", i, marker)
			}
			if bytes.Count(b[12:], b[12:13]) == 160 {
				t.Errorf("packet %d: constant payload", i)
			}
			if p.us <= c.AnswerUS || p.us >= c.EndUS {
				t.Errorf("packet %d at %d outside answer %d .. BYE %d", i, p.us, c.AnswerUS, c.EndUS)
			}
			if i == 0 {
				continue
			}
			prev := stream[i-1].payload
			seq := uint16(b[2])<<8 | uint16(b[3])
			pseq := uint16(prev[2])<<8 | uint16(prev[3])
			ts := uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
			pts := uint32(prev[4])<<24 | uint32(prev[5])<<16 | uint32(prev[6])<<8 | uint32(prev[7])
			if seq != pseq+1 || ts != pts+160 || !bytes.Equal(b[8:12], prev[8:12]) {
				t.Errorf("packet %d: seq %d ts %d after seq %d ts %d (ssrc % x / % x)", i, seq, ts, pseq, pts, b[8:12], prev[8:12])
			}
			if gap := p.us - stream[i-1].us; gap <= 18_000 || gap >= 22_000 {
				t.Errorf("packet %d: %d us after the previous one", i, gap)
			}
		}
	}
}

// TestSIPDialogs checks the RFC 3261 details a real parser relies on.
func TestSIPDialogs(t *testing.T) {
	data, tr := generate(t, Options{Calls: 40, Seed: 11, NoRTP: true})
	pkts := readCapture(t, data)
	invites := map[string]*sipMsg{}
	for _, p := range pkts {
		m := p.sip
		id := m.headers["call-id"]
		// gopacket's decoder is an independent opinion on well-formedness.
		gs := layers.NewSIP()
		if err := gs.DecodeFromBytes(p.payload, gopacket.NilDecodeFeedback); err != nil ||
			gs.GetCallID() != id || gs.IsResponse != (m.method == "") ||
			gs.IsResponse && gs.ResponseCode != m.code || !gs.IsResponse && gs.Method.String() != m.method {
			t.Fatalf("%s %s: gopacket decodes %+v: %v", id, m.key(), gs, err)
		}
		for _, h := range []string{"via", "from", "to", "call-id", "cseq", "content-length"} {
			if m.headers[h] == "" {
				t.Fatalf("%s %s: no %s header", id, m.key(), h)
			}
		}
		if !strings.Contains(m.headers["via"], ";branch=z9hG4bK") || !strings.Contains(m.headers["from"], ";tag=") {
			t.Errorf("%s %s: Via %q From %q", id, m.key(), m.headers["via"], m.headers["from"])
		}
		if m.method != "" && m.headers["max-forwards"] != "70" {
			t.Errorf("%s %s: Max-Forwards %q", id, m.key(), m.headers["max-forwards"])
		}
		if hasTag := strings.Contains(m.headers["to"], ";tag="); m.method == "" && hasTag != (m.code != 100) {
			t.Errorf("%s %d: To %q", id, m.code, m.headers["to"])
		}
		if m.body != "" && m.headers["content-type"] != "application/sdp" {
			t.Errorf("%s %s: body with Content-Type %q", id, m.key(), m.headers["content-type"])
		}
		inv := invites[id]
		switch {
		case m.method == "INVITE":
			if inv != nil {
				if inv.headers["via"] != m.headers["via"] {
					t.Errorf("%s: retransmission changed Via", id)
				}
				break
			}
			invites[id] = m
			if m.headers["cseq"] != "1 INVITE" || m.headers["contact"] == "" || m.headers["user-agent"] == "" {
				t.Errorf("%s: INVITE headers %v", id, m.headers)
			}
			checkSDP(t, id, m.body)
		case m.method == "CANCEL":
			if m.headers["via"] != inv.headers["via"] || m.uri != inv.uri || m.headers["cseq"] != "1 CANCEL" {
				t.Errorf("%s: CANCEL %v does not match INVITE %v", id, m.headers, inv.headers)
			}
		case m.method == "ACK":
			sameBranch := m.headers["via"] == inv.headers["via"]
			if m.headers["cseq"] != "1 ACK" || !strings.Contains(m.headers["to"], ";tag=") {
				t.Errorf("%s: ACK headers %v", id, m.headers)
			}
			var c CallTruth
			for _, c = range tr.Calls {
				if c.CallID == id {
					break
				}
			}
			if answered := c.Outcome == "answered"; sameBranch == answered {
				t.Errorf("%s: ACK for %d reuses INVITE branch: %v", id, c.FinalCode, sameBranch)
			}
		case m.code == 183 || m.code == 200 && m.cseqMethod() == "INVITE":
			checkSDP(t, id, m.body)
		}
	}
}

func checkSDP(t *testing.T, id, body string) {
	t.Helper()
	var port int
	for _, l := range []string{"v=0", "c=IN IP4 ", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000"} {
		if !strings.Contains(body, l) {
			t.Errorf("%s: SDP lacks %q", id, l)
		}
	}
	i := strings.Index(body, "m=audio ")
	if i < 0 {
		t.Fatalf("%s: SDP without m=audio", id)
	}
	if _, err := fmt.Sscanf(body[i:], "m=audio %d", &port); err != nil || port%2 != 0 || port < 10000 || port > 60000 {
		t.Errorf("%s: bad media port %d (%v)", id, port, err)
	}
}

func TestTimeoutRetransmits(t *testing.T) {
	data, tr := generate(t, Options{Calls: 10, Seed: 5, NoRTP: true})
	pkts := readCapture(t, data)
	for _, c := range tr.Calls {
		if c.Outcome != "timeout" {
			continue
		}
		var offs []int64
		for _, p := range pkts {
			if p.sip.headers["call-id"] == c.CallID {
				offs = append(offs, (p.us-c.StartUS)/1000)
			}
		}
		want := []int64{0, 500, 1500, 3500, 7500, 15500, 31500}
		if !slices.Equal(offs, want) || c.EndUS != c.StartUS+32_000_000 || c.SIPMessages["INVITE"] != 7 {
			t.Errorf("timeout call: INVITEs at %v ms, end +%d us, truth %v", offs, c.EndUS-c.StartUS, c.SIPMessages)
		}
		return
	}
	t.Fatal("no timeout call")
}

func TestNoRTP(t *testing.T) {
	data, tr := generate(t, Options{Calls: 20, Seed: 9, NoRTP: true})
	if tr.RTPPackets != 0 || tr.Packets != tr.SIPPackets || len(readCapture(t, data)) != tr.Packets {
		t.Fatalf("NoRTP capture: %d packets, %d SIP, %d RTP", tr.Packets, tr.SIPPackets, tr.RTPPackets)
	}
}

func TestTruthJSON(t *testing.T) {
	_, tr := generate(t, Options{Calls: 8, Seed: 2, NoRTP: true})
	var buf bytes.Buffer
	if err := tr.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Seed  int64            `json:"seed"`
		Calls []map[string]any `json:"calls"`
	}
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	want := []string{"call_id", "trunk", "direction", "caller", "callee", "outcome", "final_code",
		"start_us", "ring_us", "answer_us", "end_us", "pdd_ms", "duration_ms", "hangup_by", "sip_messages"}
	for _, k := range want {
		if _, ok := raw.Calls[0][k]; !ok {
			t.Errorf("truth JSON lacks %q", k)
		}
	}
	if raw.Seed != 2 || len(raw.Calls[0]) != len(want) {
		t.Errorf("seed %d, call keys %v", raw.Seed, raw.Calls[0])
	}
}

func TestTruthPath(t *testing.T) {
	for in, want := range map[string]string{
		"x/calls.pcap": "x/calls.truth.json",
		"calls":        "calls.truth.json",
		"a.b/c.pcapng": "a.b/c.truth.json",
	} {
		if got := TruthPath(in); got != want {
			t.Errorf("TruthPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	bad := map[string]Options{
		"ipv6 trunk":  {Trunks: []Trunk{{Name: "v6", Direction: "outbound", Addr: netip.MustParseAddrPort("[2001:db8::1]:5060"), Prefixes: []string{"44"}}}},
		"direction":   {Trunks: []Trunk{{Name: "x", Direction: "sideways", Addr: netip.MustParseAddrPort("192.0.2.1:5060"), Prefixes: []string{"44"}}}},
		"prefix":      {Trunks: []Trunk{{Name: "x", Direction: "outbound", Addr: netip.MustParseAddrPort("192.0.2.1:5060"), Prefixes: []string{"+44"}}}},
		"platform":    {Platform: netip.MustParseAddrPort("[::1]:5060")},
		"negative":    {Calls: -1},
		"shared addr": {Platform: netip.MustParseAddrPort("192.0.2.80:5060")},
	}
	for name, o := range bad {
		if _, err := Generate(io.Discard, o); err == nil || !strings.HasPrefix(err.Error(), "synth: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func BenchmarkGenerateNoRTP(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Generate(io.Discard, Options{Calls: 1000, Seed: 1, NoRTP: true}); err != nil {
			b.Fatal(err)
		}
	}
}
