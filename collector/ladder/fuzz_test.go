package ladder

import (
	"bytes"
	"io"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// FuzzRender draws and packs arbitrary stored messages: neither panics,
// and the pcap always reads back with one frame per message.
func FuzzRender(f *testing.F) {
	f.Add("INVITE sip:1@b SIP/2.0\r\nCall-ID: x\r\n\r\nv=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n", uint16(0), "udp", true)
	f.Add("SIP/2.0 180 Ringing\r\n\r\n", uint16(180), "tcp", false)
	f.Add("", uint16(200), "tls", true)
	f.Fuzz(func(t *testing.T, raw string, status uint16, transport string, v4 bool) {
		a, b := netip.MustParseAddrPort("192.0.2.1:5060"), netip.MustParseAddrPort("198.51.100.2:5070")
		if !v4 {
			a, b = netip.MustParseAddrPort("[2001:db8::1]:5060"), netip.MustParseAddrPort("[2001:db8::2]:5060")
		}
		msgs := []Message{{TimeUS: 1e12, Src: a, Dst: b, Transport: transport, Method: "INVITE", Status: status, Raw: raw},
			{TimeUS: 1e12 + 5, Src: b, Dst: a, Transport: transport, Method: "INVITE", Status: 200, CSeq: 1, Raw: raw},
			{TimeUS: 1e12 + 9, Src: a, Dst: a, Transport: transport, Method: "ACK", Raw: raw}}
		if err := Render(io.Discard, msgs); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WritePcap(&buf, msgs); err != nil {
			t.Fatal(err)
		}
		r, err := pcapgo.NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			if _, _, err := r.ReadPacketData(); err != nil {
				break
			}
			n++
		}
		if n != len(msgs) {
			t.Fatalf("%d frames for %d messages", n, len(msgs))
		}
	})
}
