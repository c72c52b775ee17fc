package sdp

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// crlf joins lines with CRLF, as SIP bodies carry them.
func crlf(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

// RFC 4317 §2.1, "Audio and Video 1": the offer and answer, verbatim.
var (
	rfc4317Offer = crlf(
		"v=0",
		"o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com",
		"s=",
		"c=IN IP4 host.atlanta.example.com",
		"t=0 0",
		"m=audio 49170 RTP/AVP 0 8 97",
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:97 iLBC/8000",
		"m=video 51372 RTP/AVP 31 32",
		"a=rtpmap:31 H261/90000",
		"a=rtpmap:32 MPV/90000",
	)
	rfc4317Answer = crlf(
		"v=0",
		"o=bob 2808844564 2808844564 IN IP4 host.biloxi.example.com",
		"s=",
		"c=IN IP4 host.biloxi.example.com",
		"t=0 0",
		"m=audio 49174 RTP/AVP 0",
		"a=rtpmap:0 PCMU/8000",
		"m=video 49170 RTP/AVP 32",
		"a=rtpmap:32 MPV/90000",
	)
)

// trunkOffer is what a carrier's SBC typically sends in an INVITE.
var trunkOffer = crlf(
	"v=0",
	"o=- 3912345678 3912345678 IN IP4 203.0.113.10",
	"s=SBC",
	"c=IN IP4 203.0.113.10",
	"t=0 0",
	"m=audio 30000 RTP/AVP 8 0 18 9 101 13",
	"a=rtpmap:8 PCMA/8000",
	"a=rtpmap:0 PCMU/8000",
	"a=rtpmap:18 G729/8000",
	"a=fmtp:18 annexb=no",
	"a=rtpmap:9 G722/8000",
	"a=rtpmap:101 telephone-event/8000",
	"a=fmtp:101 0-16",
	"a=ptime:20",
	"a=maxptime:40",
	"a=sendrecv",
)

// summary renders what Parse found compactly, so that table tests read as
// the SDP does.
func summary(s *Session) string {
	var b strings.Builder
	fmt.Fprintf(&b, "c=%s dir=%v", conn(&s.Conn), s.Direction)
	if s.Origin.Username != nil {
		fmt.Fprintf(&b, " o=%s/%s", s.Origin.Username, s.Origin.SessID)
	}
	if s.Truncated > 0 {
		fmt.Fprintf(&b, " trunc=%d", s.Truncated)
	}
	for i := range s.Media[:s.NumMedia] {
		m := &s.Media[i]
		fmt.Fprintf(&b, "\nm=%s %d", m.Type, m.Port)
		if m.NumPorts != 1 {
			fmt.Fprintf(&b, "/%d", m.NumPorts)
		}
		fmt.Fprintf(&b, " %s %v c=%s dir=%v", m.Proto, m.Formats[:m.NumFormats], conn(&m.Conn), m.Direction)
		if !m.IsRTP() {
			fmt.Fprintf(&b, " fmt=%q", m.FormatText)
		}
		if m.RTCPPort != 0 {
			fmt.Fprintf(&b, " rtcp=%d", m.RTCPPort)
			if m.RTCPConn.Present() {
				fmt.Fprintf(&b, "@%s", conn(&m.RTCPConn))
			}
		}
		if m.RTCPMux {
			b.WriteString(" mux")
		}
		if m.Ptime != 0 {
			fmt.Fprintf(&b, " ptime=%v", m.Ptime)
		}
		for _, r := range m.RTPMaps[:m.NumRTPMaps] {
			fmt.Fprintf(&b, " %d:%s/%d", r.PT, r.Name, r.Clock)
			if r.Channels != 0 {
				fmt.Fprintf(&b, "/%d", r.Channels)
			}
		}
	}
	return b.String()
}

func conn(c *Connection) string {
	switch {
	case !c.Present():
		return "-"
	case c.Addr.IsValid():
		return c.Addr.String()
	}
	return "(" + string(c.Raw) + ")"
}

type parseCase struct {
	name string
	in   []byte
	want string // summary, when err is nil
	err  error
}

func parseCases() []parseCase {
	return []parseCase{
		{"rfc4317 2.1 offer", rfc4317Offer, `c=(host.atlanta.example.com) dir=sendrecv o=alice/2890844526
m=audio 49170 RTP/AVP [0 8 97] c=(host.atlanta.example.com) dir=sendrecv 0:PCMU/8000 8:PCMA/8000 97:iLBC/8000
m=video 51372 RTP/AVP [31 32] c=(host.atlanta.example.com) dir=sendrecv 31:H261/90000 32:MPV/90000`, nil},
		{"rfc4317 2.1 answer", rfc4317Answer, `c=(host.biloxi.example.com) dir=sendrecv o=bob/2808844564
m=audio 49174 RTP/AVP [0] c=(host.biloxi.example.com) dir=sendrecv 0:PCMU/8000
m=video 49170 RTP/AVP [32] c=(host.biloxi.example.com) dir=sendrecv 32:MPV/90000`, nil},
		{"trunk offer", trunkOffer, `c=203.0.113.10 dir=sendrecv o=-/3912345678
m=audio 30000 RTP/AVP [8 0 18 9 101 13] c=203.0.113.10 dir=sendrecv ptime=20ms 8:PCMA/8000 0:PCMU/8000 18:G729/8000 9:G722/8000 101:telephone-event/8000`, nil},
		{"LF, trailing white space, blank lines", []byte("\nv=0 \no=- 1 1 IN IP4 10.0.0.1\t\n\nc=IN IP4 10.0.0.1  \r\nm=audio 4000 RTP/AVP 0\n\n\n"),
			`c=10.0.0.1 dir=sendrecv o=-/1
m=audio 4000 RTP/AVP [0] c=10.0.0.1 dir=sendrecv`, nil},
		{"no final line end, runs of spaces", []byte("v=0\r\nc=IN  IP4 10.0.0.1\r\nm=audio  4000  RTP/AVP  0   8"),
			`c=10.0.0.1 dir=sendrecv
m=audio 4000 RTP/AVP [0 8] c=10.0.0.1 dir=sendrecv`, nil},
		{"unknown and ignored lines", crlf("v=0", "o=x", "s=-", "i=info", "u=http://x", "e=a@b", "b=AS:64", "t=0 0", "x=whatever", "k=clear:x",
			"c=IN IP4 10.0.0.1", "m=audio 4000 RTP/AVP 0", "b=TIAS:64000", "a=fmtp:0 garbage here", "a=candidate:1 1 UDP 1 10.0.0.1 4000 typ host", "a=foo", "a=", "a=:"),
			`c=10.0.0.1 dir=sendrecv
m=audio 4000 RTP/AVP [0] c=10.0.0.1 dir=sendrecv`, nil},
		{"IPv6 and media-level c= overrides", crlf("v=0", "o=- 1 1 IN IP6 2001:db8::1", "c=IN IP6 2001:db8::1", "t=0 0",
			"m=audio 5004 RTP/AVP 0", "c=IN IP6 2001:DB8:0:0:1::2", "m=audio 5006 RTP/AVP 8", "m=video 5008 RTP/AVP 96", "c=IN IP4 192.0.2.7", "a=rtpmap:96 H264/90000"),
			`c=2001:db8::1 dir=sendrecv o=-/1
m=audio 5004 RTP/AVP [0] c=2001:db8::1:0:0:2 dir=sendrecv
m=audio 5006 RTP/AVP [8] c=2001:db8::1 dir=sendrecv
m=video 5008 RTP/AVP [96] c=192.0.2.7 dir=sendrecv 96:H264/90000`, nil},
		{"IPv4-mapped and embedded IPv4", crlf("v=0", "c=IN IP6 ::ffff:192.0.2.1", "m=audio 5004 RTP/AVP 0"),
			`c=::ffff:192.0.2.1 dir=sendrecv
m=audio 5004 RTP/AVP [0] c=::ffff:192.0.2.1 dir=sendrecv`, nil},
		// RFC 4317 §3.1 style hold: the holder marks the stream sendonly,
		// the held party answers recvonly (RFC 3264 §8.4).
		{"hold sendonly, session level", crlf("v=0", "o=alice 2890844526 2890844527 IN IP4 192.0.2.1", "c=IN IP4 192.0.2.1", "t=0 0", "a=sendonly",
			"m=audio 49170 RTP/AVP 0 97", "a=rtpmap:0 PCMU/8000", "a=rtpmap:97 iLBC/8000"),
			`c=192.0.2.1 dir=sendonly o=alice/2890844526
m=audio 49170 RTP/AVP [0 97] c=192.0.2.1 dir=sendonly 0:PCMU/8000 97:iLBC/8000`, nil},
		{"media direction wins over session", crlf("v=0", "c=IN IP4 192.0.2.1", "a=recvonly", "m=audio 49170 RTP/AVP 0", "a=inactive", "m=audio 49172 RTP/AVP 0"),
			`c=192.0.2.1 dir=recvonly
m=audio 49170 RTP/AVP [0] c=192.0.2.1 dir=inactive
m=audio 49172 RTP/AVP [0] c=192.0.2.1 dir=recvonly`, nil},
		{"old-style hold c=0.0.0.0", crlf("v=0", "c=IN IP4 0.0.0.0", "m=audio 49170 RTP/AVP 0"),
			`c=0.0.0.0 dir=sendrecv
m=audio 49170 RTP/AVP [0] c=0.0.0.0 dir=sendrecv`, nil},
		{"rtcp-mux", crlf("v=0", "c=IN IP4 192.0.2.1", "a=rtcp-mux", "m=audio 49170 RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2", "a=rtcp-mux", "m=audio 49180 RTP/AVP 0", "a=rtcp-mux-only"),
			`c=192.0.2.1 dir=sendrecv
m=audio 49170 RTP/SAVPF [111] c=192.0.2.1 dir=sendrecv mux 111:opus/48000/2
m=audio 49180 RTP/AVP [0] c=192.0.2.1 dir=sendrecv mux`, nil},
		// RFC 3605 §2.1's two examples.
		{"a=rtcp port and address", crlf("v=0", "c=IN IP4 192.0.2.1", "m=audio 49170 RTP/AVP 0", "a=rtcp:53020", "m=audio 49180 RTP/AVP 0", "a=rtcp:53020 IN IP4 126.16.64.4", "m=audio 49190 RTP/AVP 0", "a=rtcp:9 IN IP6 2001:db8::9"),
			`c=192.0.2.1 dir=sendrecv
m=audio 49170 RTP/AVP [0] c=192.0.2.1 dir=sendrecv rtcp=53020
m=audio 49180 RTP/AVP [0] c=192.0.2.1 dir=sendrecv rtcp=53020@126.16.64.4
m=audio 49190 RTP/AVP [0] c=192.0.2.1 dir=sendrecv rtcp=9@2001:db8::9`, nil},
		{"port 0 and non-RTP formats", crlf("v=0", "c=IN IP4 192.0.2.1", "m=audio 49170 RTP/AVP 0", "m=video 0 RTP/AVP 31", "m=image 0 udptl t38", "m=image 49172 udptl t38"),
			`c=192.0.2.1 dir=sendrecv
m=audio 49170 RTP/AVP [0] c=192.0.2.1 dir=sendrecv
m=video 0 RTP/AVP [31] c=192.0.2.1 dir=sendrecv
m=image 0 udptl [] c=192.0.2.1 dir=sendrecv fmt="t38"
m=image 49172 udptl [] c=192.0.2.1 dir=sendrecv fmt="t38"`, nil},
		{"more m= sections than fit: theirs are skipped", crlf("v=0", "c=IN IP4 192.0.2.1",
			"m=audio 1000 RTP/AVP 0", "m=audio 1002 RTP/AVP 0", "m=audio 1004 RTP/AVP 0", "m=audio 1006 RTP/AVP 0",
			"m=audio 1008 RTP/AVP 96", "c=IN IP4 192.0.2.9", "a=rtpmap:96 opus/48000/2", "a=sendonly", "a=rtcp-mux", "m=audio 1010 RTP/AVP 0"),
			`c=192.0.2.1 dir=sendrecv trunc=2
m=audio 1000 RTP/AVP [0] c=192.0.2.1 dir=sendrecv
m=audio 1002 RTP/AVP [0] c=192.0.2.1 dir=sendrecv
m=audio 1004 RTP/AVP [0] c=192.0.2.1 dir=sendrecv
m=audio 1006 RTP/AVP [0] c=192.0.2.1 dir=sendrecv`, nil},
		{"more formats than fit", crlf("v=0", "c=IN IP4 192.0.2.1", "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112 113"),
			`c=192.0.2.1 dir=sendrecv trunc=2
m=video 9 UDP/TLS/RTP/SAVPF [96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111] c=192.0.2.1 dir=sendrecv`, nil},
		{"number of ports, multicast, ptime fraction", crlf("v=0", "c=IN IP4 224.2.36.42/127", "m=video 49170/2 RTP/AVP 31", "a=ptime:22.5", "m=audio 49180 RTP/AVP 0", "a=ptime:x"),
			`c=224.2.36.42 dir=sendrecv
m=video 49170/2 RTP/AVP [31] c=224.2.36.42 dir=sendrecv ptime=22.5ms
m=audio 49180 RTP/AVP [0] c=224.2.36.42 dir=sendrecv`, nil},
		{"first rtpmap for a type wins; channels; odd params", crlf("v=0", "c=IN IP4 192.0.2.1", "m=audio 1000 RTP/AVP 96 97", "a=rtpmap:96 opus/48000/2", "a=rtpmap:96 PCMU/8000", "a=rtpmap:97 x-odd/8000/abc"),
			`c=192.0.2.1 dir=sendrecv
m=audio 1000 RTP/AVP [96 97] c=192.0.2.1 dir=sendrecv 96:opus/48000/2 97:x-odd/8000`, nil},
		{"no c= at all", crlf("v=0", "m=audio 1000 RTP/AVP 0"), `c=- dir=sendrecv
m=audio 1000 RTP/AVP [0] c=- dir=sendrecv`, nil},
		{"other network type kept raw", crlf("v=0", "c=TN RFC2543 +1-415-555-1212", "m=audio 1000 RTP/AVP 0"), `c=(+1-415-555-1212) dir=sendrecv
m=audio 1000 RTP/AVP [0] c=(+1-415-555-1212) dir=sendrecv`, nil},
		{"no media", crlf("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "t=0 0"), `c=- dir=sendrecv o=-/1`, nil},

		{"empty", nil, "", ErrNotSDP},
		{"blank lines only", []byte("\r\n\r\n"), "", ErrNotSDP},
		{"not SDP", []byte("hello world"), "", ErrNotSDP},
		{"version 1", crlf("v=1", "m=audio 1 RTP/AVP 0"), "", ErrNotSDP},
		{"v= not first", crlf("o=- 1 1 IN IP4 10.0.0.1", "v=0"), "", ErrNotSDP},
		{"upper-case type", crlf("V=0"), "", ErrNotSDP},
		{"RTP packet", []byte{0x80, 0x08, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4}, "", ErrNotSDP},
		{"line without =", crlf("v=0", "garbage"), "", ErrBadLine},
		{"space before =", crlf("v=0", "c =IN IP4 10.0.0.1"), "", ErrBadLine},
		{"c= too short", crlf("v=0", "c=IN IP4"), "", ErrBadConnection},
		{"c= extra field", crlf("v=0", "c=IN IP4 10.0.0.1 x"), "", ErrBadConnection},
		{"c= bad octet", crlf("v=0", "c=IN IP4 10.0.0.256"), "", ErrBadConnection},
		{"c= leading zero", crlf("v=0", "c=IN IP4 10.0.0.01"), "", ErrBadConnection},
		{"c= bad address type", crlf("v=0", "c=IN IP5 10.0.0.1"), "", ErrBadConnection},
		{"c= zone", crlf("v=0", "c=IN IP6 fe80::1%eth0"), "", ErrBadConnection},
		{"c= bad ttl", crlf("v=0", "c=IN IP4 224.2.1.1/x"), "", ErrBadConnection},
		{"media-level c= broken", crlf("v=0", "m=audio 1 RTP/AVP 0", "c=IN IP6 1:2:3"), "", ErrBadConnection},
		{"m= without proto", crlf("v=0", "m=audio 1000"), "", ErrBadMedia},
		{"m= port too big", crlf("v=0", "m=audio 65536 RTP/AVP 0"), "", ErrBadMedia},
		{"m= port not a number", crlf("v=0", "m=audio 4x RTP/AVP 0"), "", ErrBadMedia},
		{"m= zero ports", crlf("v=0", "m=audio 1000/0 RTP/AVP 0"), "", ErrBadMedia},
		{"m= payload type 128", crlf("v=0", "m=audio 1000 RTP/AVP 0 128"), "", ErrBadMedia},
		{"m= non-numeric RTP format", crlf("v=0", "m=audio 1000 RTP/AVP PCMU"), "", ErrBadMedia},
		{"m= broken after the cut", crlf("v=0", "m=a 1 RTP/AVP 0", "m=a 1 RTP/AVP 0", "m=a 1 RTP/AVP 0", "m=a 1 RTP/AVP 0", "m=a x RTP/AVP 0"), "", ErrBadMedia},
		{"rtpmap without encoding", crlf("v=0", "m=audio 1000 RTP/AVP 96", "a=rtpmap:96"), "", ErrBadRTPMap},
		{"rtpmap without clock", crlf("v=0", "m=audio 1000 RTP/AVP 96", "a=rtpmap:96 opus"), "", ErrBadRTPMap},
		{"rtpmap clock 0", crlf("v=0", "m=audio 1000 RTP/AVP 96", "a=rtpmap:96 opus/0"), "", ErrBadRTPMap},
		{"rtpmap type 200", crlf("v=0", "m=audio 1000 RTP/AVP 96", "a=rtpmap:200 opus/48000"), "", ErrBadRTPMap},
		{"rtpmap empty name", crlf("v=0", "m=audio 1000 RTP/AVP 96", "a=rtpmap:96 /8000"), "", ErrBadRTPMap},
		{"rtpmap extra field", crlf("v=0", "m=audio 1000 RTP/AVP 96", "a=rtpmap:96 opus/48000 2"), "", ErrBadRTPMap},
		{"rtcp port 0", crlf("v=0", "m=audio 1000 RTP/AVP 0", "a=rtcp:0"), "", ErrBadRTCP},
		{"rtcp not a port", crlf("v=0", "m=audio 1000 RTP/AVP 0", "a=rtcp:abc"), "", ErrBadRTCP},
		{"rtcp half an address", crlf("v=0", "m=audio 1000 RTP/AVP 0", "a=rtcp:1001 IN IP4"), "", ErrBadRTCP},
	}
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases() {
		t.Run(tc.name, func(t *testing.T) {
			var s Session
			err := Parse(tc.in, &s)
			if tc.err != nil {
				if err != tc.err {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if tc.err != ErrNotSDP && !errors.Is(err, ErrMalformed) {
					t.Errorf("%v does not match ErrMalformed", err)
				}
				if ReasonOf(err) == ReasonNone || ReasonOf(err).String() == "unknown" {
					t.Errorf("no reason for %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got := summary(&s); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestParseReuse parses every case into one Session after another and
// checks each result equals a fresh parse: no state may leak between
// descriptions.
func TestParseReuse(t *testing.T) {
	var reused Session
	cases := parseCases()
	for round := 0; round < 2; round++ {
		for _, tc := range cases {
			errReused := Parse(tc.in, &reused)
			var fresh Session
			errFresh := Parse(tc.in, &fresh)
			if errReused != errFresh {
				t.Fatalf("%s: err %v after reuse, %v fresh", tc.name, errReused, errFresh)
			}
			if errFresh == nil && !reflect.DeepEqual(reused, fresh) {
				t.Fatalf("%s: reused Session differs:\n%s\nfresh:\n%s", tc.name, summary(&reused), summary(&fresh))
			}
		}
	}
}

func TestCodec(t *testing.T) {
	var s Session
	if err := Parse(crlf("v=0", "c=IN IP4 192.0.2.1",
		"m=audio 1000 RTP/AVP 0 9 18 96 101 111 97",
		"a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=rtpmap:111 opus/48000/2", "a=rtpmap:18 G729/8000/1"), &s); err != nil {
		t.Fatal(err)
	}
	m := &s.Media[0]
	for _, tc := range []struct {
		pt    uint8
		name  string
		clock uint32
		ok    bool
	}{
		{0, "PCMU", 8000, true},
		{8, "PCMA", 8000, true},  // static, not listed: still known
		{9, "G722", 8000, true},  // RTP clock 8000 though it samples 16 kHz
		{18, "G729", 8000, true}, // rtpmap with a channel count
		{3, "GSM", 8000, true},
		{4, "G723", 8000, true},
		{13, "CN", 8000, true},
		{34, "H263", 90000, true},
		{101, "telephone-event", 8000, true},
		{111, "opus", 48000, true},
		{96, "", 0, false}, // dynamic without rtpmap
		{97, "", 0, false},
		{1, "", 0, false},  // withdrawn
		{19, "", 0, false}, // withdrawn
		{35, "", 0, false}, // unassigned
		{127, "", 0, false},
		{200, "", 0, false},
	} {
		name, clock, ok := m.Codec(tc.pt)
		if string(name) != tc.name || clock != tc.clock || ok != tc.ok {
			t.Errorf("Codec(%d) = %q, %d, %v; want %q, %d, %v", tc.pt, name, clock, ok, tc.name, tc.clock, tc.ok)
		}
	}
	if f, _ := m.Format(111); f.Channels != 2 {
		t.Errorf("opus channels = %d, want 2", f.Channels)
	}
	if f, _ := StaticFormat(10); f.Channels != 2 || f.Clock != 44100 {
		t.Errorf("static 10 = %+v, want L16/44100/2", f)
	}
}

func TestHoldAndDirection(t *testing.T) {
	for _, tc := range []struct {
		sdp      []byte
		hold     bool
		dir      Direction
		disabled bool
	}{
		{crlf("v=0", "c=IN IP4 192.0.2.1", "m=audio 1000 RTP/AVP 0"), false, SendRecv, false},
		{crlf("v=0", "c=IN IP4 192.0.2.1", "m=audio 1000 RTP/AVP 0", "a=sendonly"), true, SendOnly, false},
		{crlf("v=0", "c=IN IP4 192.0.2.1", "m=audio 1000 RTP/AVP 0", "a=inactive"), true, Inactive, false},
		{crlf("v=0", "c=IN IP4 192.0.2.1", "m=audio 1000 RTP/AVP 0", "a=recvonly"), false, RecvOnly, false},
		{crlf("v=0", "c=IN IP4 0.0.0.0", "m=audio 1000 RTP/AVP 0"), true, SendRecv, false},
		{crlf("v=0", "c=IN IP4 192.0.2.1", "m=audio 1000 RTP/AVP 0", "c=IN IP4 0.0.0.0"), true, SendRecv, false},
		{crlf("v=0", "c=IN IP6 ::", "m=audio 1000 RTP/AVP 0"), true, SendRecv, false},
		{crlf("v=0", "c=IN IP4 192.0.2.1", "m=audio 0 RTP/AVP 0"), false, SendRecv, true},
	} {
		var s Session
		if err := Parse(tc.sdp, &s); err != nil {
			t.Fatal(err)
		}
		m := &s.Media[0]
		if m.OnHold() != tc.hold || m.Direction != tc.dir || m.Disabled() != tc.disabled {
			t.Errorf("%q: hold %v dir %v disabled %v; want %v %v %v", tc.sdp, m.OnHold(), m.Direction, m.Disabled(), tc.hold, tc.dir, tc.disabled)
		}
	}
	if !SendOnly.Sends() || SendOnly.Receives() || !RecvOnly.Receives() || Inactive.Sends() || !SendRecv.Sends() {
		t.Error("Direction.Sends/Receives")
	}
}

func TestReasonOf(t *testing.T) {
	if ReasonOf(nil) != ReasonNone || ReasonOf(errors.New("x")) != ReasonNone {
		t.Error("ReasonOf of a foreign error")
	}
	if r := ReasonOf(fmt.Errorf("media: %w", ErrBadRTCP)); r != ReasonBadRTCP {
		t.Errorf("wrapped: %v", r)
	}
	if errors.Is(ErrNotSDP, ErrMalformed) {
		t.Error("ErrNotSDP matches ErrMalformed")
	}
	for r := ReasonNone; r < NumReasons; r++ {
		if r.String() == "unknown" {
			t.Errorf("reason %d has no name", r)
		}
	}
}

func TestParseAllocs(t *testing.T) {
	var s Session
	for _, in := range [][]byte{trunkOffer, rfc4317Offer, crlf("v=0", "c=IN IP6 2001:db8::1", "m=audio 1 RTP/AVP 0 8", "a=rtcp:9 IN IP6 2001:db8::2", "a=sendonly")} {
		if n := testing.AllocsPerRun(100, func() {
			if err := Parse(in, &s); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("Parse allocates %.1f times per body", n)
		}
	}
	bad := crlf("v=0", "m=audio 1000 RTP/AVP 96", "a=rtpmap:96 opus")
	if n := testing.AllocsPerRun(100, func() { _ = Parse(bad, &s) }); n != 0 {
		t.Errorf("a rejection allocates %.1f times", n)
	}
}
