package media

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/probe/sdp"
)

// After RFC 4317 §2.1, with documentation addresses for its FQDNs, which a
// monitor cannot resolve.
var (
	offerAV = crlf(
		"v=0",
		"o=alice 2890844526 2890844526 IN IP4 192.0.2.10",
		"s=",
		"c=IN IP4 192.0.2.10",
		"t=0 0",
		"m=audio 49170 RTP/AVP 0 8 97",
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:8 PCMA/8000",
		"a=rtpmap:97 iLBC/8000",
		"m=video 51372 RTP/AVP 31 32",
		"a=rtpmap:31 H261/90000",
		"a=rtpmap:32 MPV/90000",
	)
	answerAV = crlf(
		"v=0",
		"o=bob 2808844564 2808844564 IN IP4 198.51.100.20",
		"s=",
		"c=IN IP4 198.51.100.20",
		"t=0 0",
		"m=audio 49174 RTP/AVP 0",
		"a=rtpmap:0 PCMU/8000",
		"m=video 49170 RTP/AVP 32",
		"a=rtpmap:32 MPV/90000",
	)
)

// audio builds a one-stream description; extra lines go in the m= section.
func audio(origin, addr string, port int, fmts string, extra ...string) []byte {
	// The o= address stays put when the media address moves, as RFC 3264
	// §8 has it.
	lines := []string{"v=0", "o=" + origin + " IN IP4 198.18.0.1", "s=-", "c=IN IP4 " + addr, "t=0 0",
		"m=audio " + itoa(port) + " RTP/AVP " + fmts}
	return crlf(append(lines, extra...)...)
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

const (
	alice = "alice 2890844526 2890844526"
	bob   = "bob 2808844564 2808844564"
)

func TestOfferAnswer(t *testing.T) {
	tb := newTable(t)
	learn(t, tb, 1_000_000, "call-1", true, offerAV, "192.0.2.10")
	learn(t, tb, 2_000_000, "call-1", false, answerAV, "198.51.100.20")

	a := mustLookup(t, tb, "192.0.2.10:49170", "call-1", 0, false)
	if !a.FromOffer() || a.OnHold() || a.Direction() != sdp.SendRecv || !a.IsRTP() || a.RTCPMux() {
		t.Errorf("offerer's audio: offer %v hold %v dir %v rtp %v mux %v", a.FromOffer(), a.OnHold(), a.Direction(), a.IsRTP(), a.RTCPMux())
	}
	if got := codecs(a); got != "0:PCMU/8000 8:PCMA/8000 97:iLBC/8000" {
		t.Errorf("offerer's codecs %s", got)
	}
	if a.RTP() != ap("192.0.2.10:49170") || a.RTCP() != ap("192.0.2.10:49171") {
		t.Errorf("offerer RTP %v RTCP %v", a.RTP(), a.RTCP())
	}
	mustLookup(t, tb, "192.0.2.10:49171", "call-1", 0, true)
	mustLookup(t, tb, "192.0.2.10:51372", "call-1", 1, false)
	mustLookup(t, tb, "192.0.2.10:51373", "call-1", 1, true)

	b := mustLookup(t, tb, "198.51.100.20:49174", "call-1", 0, false)
	if b.FromOffer() || codecs(b) != "0:PCMU/8000" {
		t.Errorf("answerer: offer %v codecs %s", b.FromOffer(), codecs(b))
	}
	mustLookup(t, tb, "198.51.100.20:49175", "call-1", 0, true)
	v := mustLookup(t, tb, "198.51.100.20:49170", "call-1", 1, false)
	if c, ok := v.Codec(32); !ok || c.Name != "MPV" || c.Clock != 90000 {
		t.Errorf("video codec 32 = %+v, %v", c, ok)
	}
	mustMiss(t, tb, "198.51.100.20:49172")
	mustMiss(t, tb, "192.0.2.11:49170")

	if p, ok := tb.Peer(a); !ok || p.RTP() != ap("198.51.100.20:49174") {
		t.Errorf("Peer(offerer audio) = %v, %v", p, ok)
	}
	if p, ok := tb.Peer(v); !ok || p.RTP() != ap("192.0.2.10:51372") {
		t.Errorf("Peer(answerer video) = %v, %v", p, ok)
	}

	// Destination first; the source when the destination is unknown, as
	// when the receiver is behind NAT.
	e, rtcp, bySrc, ok := tb.LookupPair(ap("192.0.2.10:49170"), ap("198.51.100.20:49174"))
	if !ok || bySrc || rtcp || e.RTP() != ap("198.51.100.20:49174") {
		t.Errorf("LookupPair by dst: %v %v %v", ok, bySrc, rtcp)
	}
	e, rtcp, bySrc, ok = tb.LookupPair(ap("198.51.100.20:49175"), ap("203.0.113.99:40001"))
	if !ok || !bySrc || !rtcp || e.RTP() != ap("198.51.100.20:49174") {
		t.Errorf("LookupPair by src: %v %v %v", ok, bySrc, rtcp)
	}
	if _, _, _, ok := tb.LookupPair(ap("203.0.113.1:1"), ap("203.0.113.2:2")); ok {
		t.Error("LookupPair matched strangers")
	}

	st := tb.Stats()
	if st.Entries != 4 || st.Calls != 1 || st.Learned != 4 || st.Learns != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestHoldAndResume follows RFC 4317 §3.1: Alice holds (sendonly), Bob
// answers recvonly, Alice resumes. Then Bob, the callee, holds the old way
// (c=0.0.0.0): his re-offer must update his own entries, not Alice's.
func TestHoldAndResume(t *testing.T) {
	tb := newTable(t)
	learn(t, tb, 1, "c", true, audio(alice, "192.0.2.10", 49170, "0 97", "a=rtpmap:97 iLBC/8000"), "")
	learn(t, tb, 2, "c", false, audio(bob, "198.51.100.20", 49172, "0 97", "a=rtpmap:97 iLBC/8000"), "")

	learn(t, tb, 3, "c", true, audio("alice 2890844526 2890844527", "192.0.2.10", 49170, "0 97", "a=rtpmap:97 iLBC/8000", "a=sendonly"), "")
	learn(t, tb, 4, "c", false, audio("bob 2808844564 2808844565", "198.51.100.20", 49172, "0 97", "a=rtpmap:97 iLBC/8000", "a=recvonly"), "")
	a := mustLookup(t, tb, "192.0.2.10:49170", "c", 0, false)
	b := mustLookup(t, tb, "198.51.100.20:49172", "c", 0, false)
	if !a.OnHold() || a.Direction() != sdp.SendOnly || b.OnHold() || b.Direction() != sdp.RecvOnly {
		t.Errorf("held: alice %v %v, bob %v %v", a.OnHold(), a.Direction(), b.OnHold(), b.Direction())
	}

	learn(t, tb, 5, "c", true, audio("alice 2890844526 2890844528", "192.0.2.10", 49170, "0 97", "a=rtpmap:97 iLBC/8000", "a=sendrecv"), "")
	if a := mustLookup(t, tb, "192.0.2.10:49170", "c", 0, false); a.OnHold() || a.Direction() != sdp.SendRecv {
		t.Errorf("resumed: alice %v %v", a.OnHold(), a.Direction())
	}

	// Bob re-offers with c=0.0.0.0: held, still at his address.
	learn(t, tb, 6, "c", true, audio("bob 2808844564 2808844566", "0.0.0.0", 49172, "0"), "")
	b = mustLookup(t, tb, "198.51.100.20:49172", "c", 0, false)
	if !b.OnHold() || !b.FromOffer() {
		t.Errorf("bob 0.0.0.0: hold %v offer %v", b.OnHold(), b.FromOffer())
	}
	if a := mustLookup(t, tb, "192.0.2.10:49170", "c", 0, false); a.OnHold() {
		t.Error("bob's re-offer held alice's entry")
	}
	mustMiss(t, tb, "0.0.0.0:49172")
	learn(t, tb, 7, "c", false, audio("alice 2890844526 2890844529", "192.0.2.10", 49170, "0"), "")
	learn(t, tb, 8, "c", true, audio("bob 2808844564 2808844567", "198.51.100.20", 49172, "0"), "")
	if b := mustLookup(t, tb, "198.51.100.20:49172", "c", 0, false); b.OnHold() {
		t.Error("bob still held after resuming")
	}
	if st := tb.Stats(); st.Entries != 2 || st.Learned != 2 || st.Moved != 0 {
		t.Errorf("stats %+v", st)
	}

	// Inactive holds too (RFC 3264 §8.4, a held recvonly stream).
	learn(t, tb, 9, "c", true, audio("alice 2890844526 2890844530", "192.0.2.10", 49170, "0", "a=inactive"), "")
	if a := mustLookup(t, tb, "192.0.2.10:49170", "c", 0, false); !a.OnHold() || a.Direction() != sdp.Inactive {
		t.Errorf("inactive: %v %v", a.OnHold(), a.Direction())
	}

	// An initial offer with 0.0.0.0 has no address to map.
	learn(t, tb, 10, "d", true, audio("carol 1 1", "0.0.0.0", 4000, "0"), "")
	mustMiss(t, tb, "0.0.0.0:4000")
	if st := tb.Stats(); st.Unmappable != 1 {
		t.Errorf("Unmappable %d", st.Unmappable)
	}
}

func TestCodecChange(t *testing.T) {
	tb := newTable(t)
	learn(t, tb, 1, "c", true, audio(alice, "192.0.2.10", 5000, "111 9 101", "a=rtpmap:111 opus/48000/2", "a=rtpmap:101 telephone-event/48000"), "")
	e := mustLookup(t, tb, "192.0.2.10:5000", "c", 0, false)
	if got := codecs(e); got != "111:opus/48000 9:G722/8000 101:telephone-event/48000" {
		t.Fatalf("codecs %s", got)
	}
	if c, _ := e.Codec(111); c.Channels != 2 {
		t.Errorf("opus channels %d", c.Channels)
	}
	// G.722's RTP clock is 8000 (RFC 3551 §4.5.2), with or without rtpmap.
	if c, ok := e.Codec(9); !ok || c.Clock != 8000 {
		t.Errorf("G722 = %+v", c)
	}
	// Re-offer: the dynamic type now means something else, and the list
	// is replaced whole.
	learn(t, tb, 2, "c", true, audio("alice 2890844526 2890844527", "192.0.2.10", 5000, "111 8", "a=rtpmap:111 AMR-WB/16000"), "")
	e = mustLookup(t, tb, "192.0.2.10:5000", "c", 0, false)
	if got := codecs(e); got != "111:AMR-WB/16000 8:PCMA/8000" {
		t.Errorf("after re-offer: %s", got)
	}
	if _, ok := e.Codec(101); ok {
		t.Error("telephone-event survived the re-offer")
	}
	// Static types resolve even unlisted: comfort noise arrives unannounced.
	if c, ok := e.Codec(13); !ok || c.Name != "CN" || c.Clock != 8000 {
		t.Errorf("CN = %+v, %v", c, ok)
	}
	if _, ok := e.Codec(96); ok {
		t.Error("unmapped dynamic type resolved")
	}
	// Names compare case-insensitively, and keep the first spelling.
	learn(t, tb, 3, "d", true, audio("dave 1 1", "192.0.2.11", 5000, "96", "a=rtpmap:96 OPUS/48000/2"), "")
	if c, _ := mustLookup(t, tb, "192.0.2.11:5000", "d", 0, false).Codec(96); c.Name != "opus" {
		t.Errorf("interned name %q", c.Name)
	}
}

func TestPortChange(t *testing.T) {
	tb := newTable(t)
	learn(t, tb, 1, "c", true, audio(alice, "192.0.2.10", 5000, "0"), "")
	learn(t, tb, 2, "c", false, audio(bob, "198.51.100.20", 6000, "0"), "")
	// Bob re-offers (the callee sends the re-INVITE) from a new port and
	// address; his entry moves, Alice's stays.
	learn(t, tb, 3, "c", true, audio("bob 2808844564 2808844565", "198.51.100.21", 6002, "0"), "")
	mustMiss(t, tb, "198.51.100.20:6000")
	mustMiss(t, tb, "198.51.100.20:6001")
	mustLookup(t, tb, "198.51.100.21:6002", "c", 0, false)
	mustLookup(t, tb, "198.51.100.21:6003", "c", 0, true)
	mustLookup(t, tb, "192.0.2.10:5000", "c", 0, false)
	if st := tb.Stats(); st.Entries != 2 || st.Moved != 1 || st.Learned != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestRTCP(t *testing.T) {
	tb := newTable(t)
	// RFC 3605 §2.1: a=rtcp with a port, and with an address.
	learn(t, tb, 1, "c", true, audio(alice, "192.0.2.10", 49170, "0", "a=rtcp:53020"), "")
	mustLookup(t, tb, "192.0.2.10:53020", "c", 0, true)
	mustMiss(t, tb, "192.0.2.10:49171")
	learn(t, tb, 2, "c", false, audio(bob, "198.51.100.20", 49170, "0", "a=rtcp:53020 IN IP4 126.16.64.4"), "")
	e := mustLookup(t, tb, "126.16.64.4:53020", "c", 0, true)
	if e.RTP() != ap("198.51.100.20:49170") || e.RTCP() != ap("126.16.64.4:53020") {
		t.Errorf("RTP %v RTCP %v", e.RTP(), e.RTCP())
	}

	// rtcp-mux offered and accepted: both multiplex (RFC 5761 §5.1.1).
	learn(t, tb, 3, "m", true, audio("x 1 1", "192.0.2.30", 7000, "0", "a=rtcp-mux"), "")
	learn(t, tb, 4, "m", false, audio("y 1 1", "192.0.2.31", 7100, "0", "a=rtcp-mux"), "")
	for _, dst := range []string{"192.0.2.30:7000", "192.0.2.31:7100"} {
		e := mustLookup(t, tb, dst, "m", 0, false)
		if !e.RTCPMux() || e.RTCP() != e.RTP() {
			t.Errorf("%s: mux %v RTCP %v", dst, e.RTCPMux(), e.RTCP())
		}
	}
	// Offered, refused: the offerer sends and receives RTCP on port + 1.
	learn(t, tb, 5, "n", true, audio("x 2 2", "192.0.2.40", 8000, "0", "a=rtcp-mux"), "")
	learn(t, tb, 6, "n", false, audio("y 2 2", "192.0.2.41", 8100, "0"), "")
	o := mustLookup(t, tb, "192.0.2.40:8000", "n", 0, false)
	if o.RTCPMux() || o.RTCP() != ap("192.0.2.40:8001") {
		t.Errorf("refused mux: %v %v", o.RTCPMux(), o.RTCP())
	}
	mustLookup(t, tb, "192.0.2.40:8001", "n", 0, true)
	// a=rtcp naming the RTP port is multiplexing too.
	learn(t, tb, 7, "p", true, audio("x 3 3", "192.0.2.50", 9000, "0", "a=rtcp:9000"), "")
	if e := mustLookup(t, tb, "192.0.2.50:9000", "p", 0, false); !e.RTCPMux() || e.RTCP() != e.RTP() {
		t.Errorf("a=rtcp on the RTP port: mux %v", e.RTCPMux())
	}
	// T.38 over udptl has no RTCP.
	learn(t, tb, 8, "f", true, crlf("v=0", "o=f 1 1 IN IP4 192.0.2.60", "c=IN IP4 192.0.2.60", "m=image 9100 udptl t38"), "")
	if e := mustLookup(t, tb, "192.0.2.60:9100", "f", 0, false); e.IsRTP() || e.RTCP().IsValid() {
		t.Errorf("udptl: rtp %v rtcp %v", e.IsRTP(), e.RTCP())
	}
	mustMiss(t, tb, "192.0.2.60:9101")
}

// An address belongs to the stream described last; an RTP address beats a
// guessed RTCP one.
func TestClaims(t *testing.T) {
	tb := newTable(t)
	learn(t, tb, 1, "old", true, audio("a 1 1", "192.0.2.10", 5000, "0"), "")
	learn(t, tb, 2, "new", true, audio("b 1 1", "192.0.2.10", 5000, "8"), "")
	mustLookup(t, tb, "192.0.2.10:5000", "new", 0, false)
	if st := tb.Stats(); st.Removed[RemovedReplaced] != 1 || st.Entries != 1 || st.Calls != 1 {
		t.Errorf("stats %+v", st)
	}
	// "odd" receives RTP on 5011 with mux; "even" on 5010 would guess
	// RTCP at 5011 and must not take it.
	learn(t, tb, 3, "odd", true, audio("c 1 1", "192.0.2.10", 5011, "0", "a=rtcp-mux"), "")
	learn(t, tb, 4, "even", true, audio("d 1 1", "192.0.2.10", 5010, "0"), "")
	mustLookup(t, tb, "192.0.2.10:5011", "odd", 0, false)
	mustLookup(t, tb, "192.0.2.10:5010", "even", 0, false)
	// An explicit a=rtcp beats the port + 1 guess, and is beaten by RTP.
	learn(t, tb, 5, "x", true, audio("x 1 1", "192.0.2.10", 7000, "0", "a=rtcp:5021"), "")
	learn(t, tb, 6, "y", true, audio("y 1 1", "192.0.2.10", 5020, "0"), "")
	mustLookup(t, tb, "192.0.2.10:5021", "x", 0, true)
	learn(t, tb, 7, "z", true, audio("z 1 1", "192.0.2.10", 8000, "0", "a=rtcp:5021"), "")
	mustLookup(t, tb, "192.0.2.10:5021", "z", 0, true)
	if e := mustLookup(t, tb, "192.0.2.10:7000", "x", 0, false); e.RTCP().IsValid() && e.flags&flagRTCPKey != 0 {
		t.Error("x kept its RTCP key")
	}
	learn(t, tb, 8, "w", true, audio("w 1 1", "192.0.2.10", 5021, "0"), "")
	mustLookup(t, tb, "192.0.2.10:5021", "w", 0, false)
	// The other way round: an RTP claim takes an RTCP address.
	learn(t, tb, 9, "e2", true, audio("e 1 1", "192.0.2.10", 6000, "0"), "")
	learn(t, tb, 10, "o2", true, audio("f 1 1", "192.0.2.10", 6001, "0", "a=rtcp-mux"), "")
	mustLookup(t, tb, "192.0.2.10:6001", "o2", 0, false)
	mustLookup(t, tb, "192.0.2.10:6000", "e2", 0, false)
}

func TestPortZero(t *testing.T) {
	tb := newTable(t)
	learn(t, tb, 1, "c", true, offerAV, "")
	// RFC 4317 §2.2 style: the answer rejects the video stream.
	learn(t, tb, 2, "c", false, crlf("v=0", "o=bob 1 1 IN IP4 198.51.100.20", "c=IN IP4 198.51.100.20",
		"m=audio 49174 RTP/AVP 0", "m=video 0 RTP/AVP 31"), "")
	mustMiss(t, tb, "198.51.100.20:0")
	if st := tb.Stats(); st.Entries != 3 {
		t.Errorf("entries %d, want 3", st.Entries)
	}
	// Alice's re-offer disables video (RFC 3264 §8.2): her entry goes.
	learn(t, tb, 3, "c", true, crlf("v=0", "o=alice 2890844526 2890844527 IN IP4 192.0.2.10", "c=IN IP4 192.0.2.10",
		"m=audio 49170 RTP/AVP 0", "m=video 0 RTP/AVP 31"), "")
	mustMiss(t, tb, "192.0.2.10:51372")
	mustLookup(t, tb, "192.0.2.10:49170", "c", 0, false)
	// A re-offer that drops the m= line altogether does the same.
	learn(t, tb, 4, "c", false, crlf("v=0", "o=bob 1 2 IN IP4 198.51.100.20", "c=IN IP4 198.51.100.20"), "")
	mustMiss(t, tb, "198.51.100.20:49174")
	if st := tb.Stats(); st.Removed[RemovedDisabled] != 2 || st.Entries != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestAddresses(t *testing.T) {
	tb := newTable(t)
	// No c= at all: the SIP sender's address.
	learn(t, tb, 1, "c", true, crlf("v=0", "o=a 1 1 IN IP4 x", "m=audio 5000 RTP/AVP 0"), "192.0.2.10")
	mustLookup(t, tb, "192.0.2.10:5000", "c", 0, false)
	// An FQDN cannot be mapped, nor a missing c= without a sender.
	learn(t, tb, 2, "d", true, crlf("v=0", "o=a 2 2 IN IP4 x", "c=IN IP4 host.example.com", "m=audio 5000 RTP/AVP 0"), "192.0.2.10")
	learn(t, tb, 3, "d", true, crlf("v=0", "o=a 3 3 IN IP4 x", "m=audio 5002 RTP/AVP 0"), "")
	if st := tb.Stats(); st.Unmappable != 2 || st.Entries != 1 {
		t.Errorf("stats %+v", st)
	}
	// IPv6, and a packet address in IPv4-mapped form.
	learn(t, tb, 4, "v6", true, crlf("v=0", "o=a 4 4 IN IP6 2001:db8::1", "c=IN IP6 2001:db8::1", "m=audio 5004 RTP/AVP 0"), "")
	mustLookup(t, tb, "[2001:db8::1]:5004", "v6", 0, false)
	mustLookup(t, tb, "[2001:db8::1]:5005", "v6", 0, true)
	mustLookup(t, tb, "[::ffff:192.0.2.10]:5000", "c", 0, false)
	learn(t, tb, 5, "m4", true, crlf("v=0", "o=a 5 5 IN IP6 x", "c=IN IP6 ::ffff:192.0.2.77", "m=audio 5006 RTP/AVP 0"), "")
	if e := mustLookup(t, tb, "192.0.2.77:5006", "m4", 0, false); e.RTP() != ap("192.0.2.77:5006") {
		t.Errorf("mapped address kept as %v", e.RTP())
	}
}

func TestNoOrigin(t *testing.T) {
	// Without o=, the offer's side and the answer's side are the parties.
	tb := newTable(t)
	learn(t, tb, 1, "c", true, crlf("v=0", "c=IN IP4 192.0.2.10", "m=audio 5000 RTP/AVP 0"), "")
	learn(t, tb, 2, "c", false, crlf("v=0", "c=IN IP4 192.0.2.20", "m=audio 6000 RTP/AVP 0"), "")
	learn(t, tb, 3, "c", true, crlf("v=0", "c=IN IP4 192.0.2.10", "m=audio 5002 RTP/AVP 0"), "")
	mustMiss(t, tb, "192.0.2.10:5000")
	mustLookup(t, tb, "192.0.2.10:5002", "c", 0, false)
	mustLookup(t, tb, "192.0.2.20:6000", "c", 0, false)
}

func TestEndAndLinger(t *testing.T) {
	tb := newTable(t, Linger(5*time.Second))
	learn(t, tb, 10_000_000, "c", true, offerAV, "")
	learn(t, tb, 10_100_000, "c", false, answerAV, "")
	learn(t, tb, 10_200_000, "other", true, audio("z 1 1", "192.0.2.99", 4000, "0"), "")
	tb.End(20_000_000, []byte("c"))
	if err := check(tb); err != nil {
		t.Fatal(err)
	}
	e := mustLookup(t, tb, "192.0.2.10:49170", "c", 0, false)
	if !e.Ended() {
		t.Error("not marked ended")
	}
	// A late answer retransmission is not learnt again.
	if err := tb.Learn(21_000_000, []byte("c"), false, audio(bob, "198.51.100.20", 7000, "0"), netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	mustMiss(t, tb, "198.51.100.20:7000")
	tb.Touch(e, 24_000_000) // no effect on an ended entry
	tb.Advance(24_999_999)
	mustLookup(t, tb, "198.51.100.20:49174", "c", 0, false)
	tb.Advance(25_000_000)
	mustMiss(t, tb, "198.51.100.20:49174")
	mustMiss(t, tb, "192.0.2.10:49171")
	mustLookup(t, tb, "192.0.2.99:4000", "other", 0, false)
	if err := check(tb); err != nil {
		t.Fatal(err)
	}
	st := tb.Stats()
	if st.Ended != 1 || st.Removed[RemovedEnded] != 4 || st.LateLearns != 1 || st.Entries != 1 || st.Calls != 1 {
		t.Errorf("stats %+v", st)
	}
	// Unknown and repeated Ends are harmless; Linger 0 removes at once.
	tb.End(26_000_000, []byte("c"))
	tb.End(26_000_000, []byte("nope"))
	tb0 := newTable(t, Linger(0))
	learn(t, tb0, 1, "c", true, offerAV, "")
	tb0.End(2, []byte("c"))
	mustMiss(t, tb0, "192.0.2.10:49170")
	if err := check(tb0); err != nil {
		t.Fatal(err)
	}
}

func TestTTLAndTouch(t *testing.T) {
	const hour = int64(time.Hour / time.Microsecond)
	tb := newTable(t, TTL(time.Hour))
	learn(t, tb, 0, "idle", true, audio("a 1 1", "192.0.2.1", 4000, "0"), "")
	learn(t, tb, 0, "busy", true, audio("b 1 1", "192.0.2.2", 4000, "0"), "")
	busy := mustLookup(t, tb, "192.0.2.2:4000", "busy", 0, false)
	tb.Touch(busy, hour/2)
	tb.Advance(hour - 1)
	mustLookup(t, tb, "192.0.2.1:4000", "idle", 0, false)
	tb.Advance(hour)
	mustMiss(t, tb, "192.0.2.1:4000")
	mustLookup(t, tb, "192.0.2.2:4000", "busy", 0, false)
	tb.Advance(hour + hour/2)
	mustMiss(t, tb, "192.0.2.2:4000")
	if err := check(tb); err != nil {
		t.Fatal(err)
	}
	if st := tb.Stats(); st.Removed[RemovedExpired] != 2 || st.Entries != 0 || st.Calls != 0 {
		t.Errorf("stats %+v", st)
	}
	// The clock never goes back.
	tb.Advance(0)
	if tb.nowUS != hour+hour/2 {
		t.Errorf("clock went back to %d", tb.nowUS)
	}
}

func TestLRUEviction(t *testing.T) {
	tb := newTable(t, MaxEntries(2))
	learn(t, tb, 1, "a", true, audio("a 1 1", "192.0.2.1", 4000, "0"), "")
	learn(t, tb, 2, "b", true, audio("b 1 1", "192.0.2.2", 4000, "0"), "")
	a := mustLookup(t, tb, "192.0.2.1:4000", "a", 0, false)
	tb.Touch(a, 3_000_000) // a is busier than b now
	learn(t, tb, 3_000_001, "c", true, audio("c 1 1", "192.0.2.3", 4000, "0"), "")
	mustMiss(t, tb, "192.0.2.2:4000")
	mustLookup(t, tb, "192.0.2.1:4000", "a", 0, false)
	mustLookup(t, tb, "192.0.2.3:4000", "c", 0, false)
	// Ended calls go before live ones.
	tb.End(3_000_002, []byte("c"))
	learn(t, tb, 3_000_003, "d", true, audio("d 1 1", "192.0.2.4", 4000, "0"), "")
	mustMiss(t, tb, "192.0.2.3:4000")
	mustLookup(t, tb, "192.0.2.1:4000", "a", 0, false)
	if st := tb.Stats(); st.Removed[RemovedCapacity] != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestCallCap(t *testing.T) {
	tb := newTable(t)
	// One Call-ID, ever new parties: the call keeps its newest maxPerCall.
	for i := 0; i < 3*maxPerCall; i++ {
		learn(t, tb, int64(i), "c", false, audio("p "+itoa(i)+" 1", "192.0.2.1", 2000+2*i, "0"), "")
	}
	if st := tb.Stats(); st.Entries != maxPerCall || st.Removed[RemovedCallCap] != 2*maxPerCall {
		t.Errorf("stats %+v", st)
	}
	mustLookup(t, tb, "192.0.2.1:"+itoa(2000+2*(3*maxPerCall-1)), "c", 0, false)
	mustMiss(t, tb, "192.0.2.1:2000")
}

// TestFlood learns a million calls into a table of 1,000 entries: memory
// must stay bounded (entries, slab, keys, calls, codecs) and every
// eviction counted.
func TestFlood(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	const max = 1000
	tb := newTable(t, MaxEntries(max))
	var body, id []byte
	for i := 0; i < n; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		body = append(body[:0], "v=0\r\no=- "...)
		body = appendInt(body, i)
		body = append(body, " 1 IN IP4 x\r\nc=IN IP4 "...)
		body = a.AppendTo(body)
		body = append(body, "\r\nm=audio 4000 RTP/AVP 0 96\r\na=rtpmap:96 x-codec-"...)
		body = appendInt(body, i)
		body = append(body, "/8000\r\n"...)
		id = appendInt(append(id[:0], "flood-"...), i)
		if err := tb.Learn(int64(i), id, true, body, netip.Addr{}); err != nil {
			t.Fatal(err)
		}
	}
	st := tb.Stats()
	if st.Entries != max || st.Calls != max || tb.keys.len() > 2*max || cap(tb.entries) > max {
		t.Errorf("entries %d calls %d keys %d slab %d", st.Entries, st.Calls, tb.keys.len(), cap(tb.entries))
	}
	if st.Learned != uint64(n) || st.Removed[RemovedCapacity] != uint64(n-max) {
		t.Errorf("learned %d evicted %d", st.Learned, st.Removed[RemovedCapacity])
	}
	if len(tb.pool.list) > maxCodecs || st.CodecsDropped == 0 {
		t.Errorf("codec pool %d, dropped %d", len(tb.pool.list), st.CodecsDropped)
	}
	if err := check(tb); err != nil {
		t.Fatal(err)
	}
	// The seeded codecs survive the flood.
	learn(t, tb, int64(n), "after", true, audio("z 1 1", "192.0.2.1", 4000, "0 101", "a=rtpmap:101 telephone-event/8000"), "")
	if c, ok := mustLookup(t, tb, "192.0.2.1:4000", "after", 0, false).Codec(101); !ok || c.Name != "telephone-event" {
		t.Errorf("telephone-event after the flood: %+v %v", c, ok)
	}
}

func TestLearnErrors(t *testing.T) {
	tb := newTable(t)
	if err := tb.Learn(1, nil, true, offerAV, netip.Addr{}); err != ErrCallID {
		t.Errorf("empty Call-ID: %v", err)
	}
	if err := tb.Learn(1, make([]byte, MaxCallIDLen+1), true, offerAV, netip.Addr{}); err != ErrCallID {
		t.Errorf("long Call-ID: %v", err)
	}
	err := tb.Learn(1, []byte("c"), true, []byte("not sdp"), netip.Addr{})
	if !errors.Is(err, sdp.ErrNotSDP) {
		t.Errorf("not SDP: %v", err)
	}
	err = tb.Learn(1, []byte("c"), true, crlf("v=0", "m=audio x RTP/AVP 0"), netip.Addr{})
	if !errors.Is(err, sdp.ErrMalformed) {
		t.Errorf("bad m=: %v", err)
	}
	st := tb.Stats()
	if st.BadCallIDs != 2 || st.ParseErrors[sdp.ReasonNotSDP] != 1 || st.ParseErrors[sdp.ReasonBadMedia] != 1 || st.Entries != 0 {
		t.Errorf("stats %+v", st)
	}
	names := map[string]bool{}
	for _, c := range st.Counters() {
		if names[c.Name] || c.Name == "" {
			t.Errorf("counter name %q repeated", c.Name)
		}
		names[c.Name] = true
	}
	if names["removed_unknown"] || names["sdp_unknown"] {
		t.Error("a reason without a name")
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		opts []Opt
		ok   bool
	}{
		{nil, true},
		{[]Opt{MaxEntries(1), TTL(time.Second), Linger(0)}, true},
		{[]Opt{MaxEntries(0)}, false},
		{[]Opt{MaxEntries(maxMaxEntries + 1)}, false},
		{[]Opt{TTL(0)}, false},
		{[]Opt{TTL(time.Millisecond)}, false},
		{[]Opt{Linger(-time.Second)}, false},
		{[]Opt{TTL(time.Minute), Linger(time.Hour)}, false},
	} {
		_, err := New(tc.opts...)
		if (err == nil) != tc.ok {
			t.Errorf("New(%d opts) = %v, want ok %v", len(tc.opts), err, tc.ok)
		}
	}
	tb := newTable(t)
	if tb.maxEntries != 200_000 || tb.ttlUS != int64(2*time.Hour/time.Microsecond) || tb.lingerUS != 5_000_000 {
		t.Errorf("defaults: %d %d %d", tb.maxEntries, tb.ttlUS, tb.lingerUS)
	}
}

func TestAllocs(t *testing.T) {
	tb := newTable(t)
	learn(t, tb, 1, "c", true, offerAV, "")
	learn(t, tb, 2, "c", false, answerAV, "")
	hit, miss, src := ap("192.0.2.10:49170"), ap("203.0.113.1:9"), ap("198.51.100.20:49175")
	var sink int
	if n := testing.AllocsPerRun(1000, func() {
		e, _, ok := tb.Lookup(hit)
		if !ok {
			t.Fatal("miss")
		}
		c, _ := e.Codec(8)
		sink += int(c.Clock)
		if _, _, ok := tb.Lookup(miss); ok {
			t.Fatal("hit")
		}
		if _, _, _, ok := tb.LookupPair(src, miss); !ok {
			t.Fatal("pair")
		}
		tb.Touch(e, 3)
		_, _ = tb.Peer(e)
	}); n != 0 {
		t.Errorf("Lookup, LookupPair, Codec, Touch, Peer allocate %.1f times", n)
	}
	// Re-learning a known call (a retransmitted INVITE, a re-INVITE on the
	// same ports) allocates nothing either.
	ts := int64(10)
	if n := testing.AllocsPerRun(100, func() {
		ts++
		if err := tb.Learn(ts, []byte("c"), true, offerAV, netip.Addr{}); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("re-Learn allocates %.1f times", n)
	}
	_ = sink
}
