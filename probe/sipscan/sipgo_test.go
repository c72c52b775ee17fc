package sipscan

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/gopacket/gopacket/layers"

	"github.com/trunkscope/trunkscope/probe/packet"
	"github.com/trunkscope/trunkscope/probe/pcapfile"
)

// The collector parses every message the probe ships with sipgo's parser
// (DESIGN.md, "Probe"), and the probe routes each by what sipscan found: the
// two must agree on the fields both read, or a call's events would be keyed
// or counted differently from what the collector sees in them.
//
// Intentional differences, where sipscan follows RFC 3261 or a lenient
// stack and sipgo (v1.7.2) does not (the probe ships what a lenient stack
// accepts; the collector judges), each listed by test case name in lenient
// below; everything else must agree:
//   - Header parameter names are case-insensitive (RFC 3261 §7.3.1):
//     sipscan reads ";TAG=up" as the tag; sipgo keeps the name as sent and
//     its HeaderParams.Get("tag") is exact, so a collector must fold.
//   - LWS around ';' and '=' (RFC 3261 §25.1 SEMI and EQUAL, RFC 4475
//     §3.1.1.1 wsinv): sipgo finds no tag.
//   - Methods are case-sensitive (RFC 3261 §7.1; RFC 4475 §3.1.1.2
//     intmeth): sipgo upper-cases the Request-Line method (not the CSeq
//     method).
//   - A status line with no SP before an empty reason phrase (RFC 4475
//     §3.1.1.13 noreason, as lenient stacks take it) and bare LF line ends:
//     sipgo rejects the message.
//   - A CSeq number of 2**31 or more: RFC 3261 §8.1.1.5 says a UAC must
//     stay below 2**31 and sipgo rejects the message; sipscan takes any
//     32-bit number (the §25.1 grammar), so the message is still shipped.
//
// Content-Length is compared as the body length: when the header is absent
// a datagram's body runs to its end (RFC 3261 §18.3), which sipgo reports
// as the length and sipscan as -1.
var lenient = map[string]string{
	"mixed case names":            "case-insensitive parameter names",
	"wsinv-like folding":          "LWS around ';' and '='",
	"intmeth-like method":         "case-sensitive methods",
	"no SP before missing reason": "status line without the SP before the reason",
	"bare LF line ends":           "bare LF line ends",
	"max CSeq":                    "CSeq of 2**31 or more",
}

// view is what both parsers are compared on.
type view struct {
	callID, cseqMethod, method string
	cseq                       uint32
	status                     int
	fromTag, toTag             string
	bodyLen                    int
}

func scanView(m *Msg, b []byte) view {
	v := view{callID: string(m.CallID), cseq: m.CSeqNum, cseqMethod: string(m.CSeqMethod), method: string(m.Method),
		status: int(m.Status), fromTag: string(m.FromTag), toTag: string(m.ToTag), bodyLen: m.ContentLength}
	if v.bodyLen < 0 {
		v.bodyLen = len(b) - m.HeaderLen
	}
	return v
}

func sipgoView(msg sip.Message) (view, error) {
	v := view{bodyLen: len(msg.Body())}
	switch m := msg.(type) {
	case *sip.Request:
		v.method = string(m.Method)
	case *sip.Response:
		v.status = m.StatusCode
	}
	if h := msg.CallID(); h != nil {
		v.callID = string(*h)
	}
	if h := msg.CSeq(); h != nil {
		v.cseq, v.cseqMethod = h.SeqNo, string(h.MethodName)
	}
	if h := msg.From(); h != nil {
		v.fromTag, _ = h.Params.Get("tag")
	}
	if h := msg.To(); h != nil {
		v.toTag, _ = h.Params.Get("tag")
	}
	if h := msg.ContentLength(); h != nil {
		n, err := strconv.Atoi(h.Value())
		if err != nil {
			return v, fmt.Errorf("Content-Length %q: %w", h.Value(), err)
		}
		v.bodyLen = n
	}
	return v, nil
}

// compare scans b with both parsers and reports a disagreement.
func compare(b []byte) error {
	var m Msg
	if err := Scan(b, &m); err != nil {
		return fmt.Errorf("sipscan: %w", err)
	}
	msg, err := sip.NewParser().ParseSIP(b)
	if err != nil {
		return fmt.Errorf("sipgo: %w", err)
	}
	g, err := sipgoView(msg)
	if err != nil {
		return fmt.Errorf("sipgo: %w", err)
	}
	if s := scanView(&m, b); s != g {
		return fmt.Errorf("sipscan %+v\n  sipgo %+v", s, g)
	}
	return nil
}

func TestAgreesWithSipgo(t *testing.T) {
	for _, tc := range scanCases() {
		if tc.want.err != nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			err := compare(tc.in)
			why, ok := lenient[tc.name]
			switch {
			case ok && err == nil:
				t.Errorf("listed as an intentional difference (%s), but the parsers agree", why)
			case !ok && err != nil:
				t.Error(err)
			}
		})
	}
}

// TestAgreesWithSipgoOnCaptures compares every SIP message in the probe's
// conformance captures (UDP datagrams, and TCP streams framed per flow).
func TestAgreesWithSipgoOnCaptures(t *testing.T) {
	files := []string{"aaa.pcap", "sip_ipv4_tcp.pcap", "SIP_DTMF2.pcap", "sip-rtp-g729a.pcap",
		"poor_jitter_quality_22.pcapng", "pcmu_8k_no_jitter.pcap"}
	total := 0
	for _, file := range files {
		msgs := captureMessages(t, filepath.Join("..", "testdata", file))
		for i, b := range msgs {
			if err := compare(b); err != nil {
				t.Errorf("%s message %d: %v\n%s", file, i, err, b)
			}
		}
		total += len(msgs)
	}
	// tshark counts 81 + 7 + 29 + 6 SIP messages in these files
	// (../testdata/README.md).
	if total != 123 {
		t.Errorf("%d SIP messages in the captures, want 123", total)
	}
}

// captureMessages returns the SIP messages in a capture: each UDP payload
// that scans as SIP, and each message framed from a TCP flow's payloads
// concatenated in capture order (these captures hold no reordering).
func captureMessages(t *testing.T, path string) [][]byte {
	t.Helper()
	r, err := pcapfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	type flow struct{ src, dst netip.AddrPort }
	streams := map[flow][]byte{}
	var out [][]byte
	var p packet.Packet
	var m Msg
	for {
		data, _, lt, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if packet.Decode(lt, data, &p) != nil {
			continue
		}
		if p.Proto == layers.IPProtocolUDP {
			if Scan(p.Payload, &m) == nil {
				b := p.Payload
				if m.ContentLength >= 0 {
					b = b[:m.Len()]
				}
				out = append(out, append([]byte(nil), b...))
			}
			continue
		}
		k := flow{netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)}
		s := append(streams[k], p.Payload...)
		for {
			s = s[KeepAlive(s):]
			n, err := Frame(s)
			if err != nil || n == 0 {
				break
			}
			out = append(out, append([]byte(nil), s[:n]...))
			s = s[n:]
		}
		streams[k] = s
	}
}
