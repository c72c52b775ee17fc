package sipscan

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// crlf joins lines with CRLF; "" makes the blank line that ends the headers.
func crlf(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n")) }

const sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n"

// invite is a plain, well-formed INVITE with an SDP body.
var invite = crlf(
	"INVITE sip:+441234567890@trunk.example.net;user=phone SIP/2.0",
	"Via: SIP/2.0/UDP 10.0.0.10:5060;branch=z9hG4bK776asdhds",
	"Max-Forwards: 70",
	`To: "Bob" <sip:+441234567890@trunk.example.net>`,
	`From: "Alice" <sip:alice@pbx.example.com>;tag=1928301774`,
	"Call-ID: a84b4c76e66710@pbx.example.com",
	"CSeq: 314159 INVITE",
	"Contact: <sip:alice@10.0.0.10:5060>",
	"Content-Type: application/sdp",
	fmt.Sprintf("Content-Length: %d", len(sdp)),
	"",
	sdp)

// want is what a table case expects Scan to find; zero fields are not checked
// except where noted.
type want struct {
	err        error
	request    bool
	method     string
	uri        string
	status     uint16
	callID     string
	cseq       uint32
	cseqMethod string
	fromTag    string
	toTag      string
	clen       int // checked always when err == nil
	headerLen  int // checked when non-zero
}

type scanCase struct {
	name string
	in   []byte
	want want
}

// scanCases are TestScan's table; the fuzz targets take their inputs as seeds.
func scanCases() []scanCase {
	return []scanCase{
		{"invite", invite, want{request: true, method: "INVITE", uri: "sip:+441234567890@trunk.example.net;user=phone",
			callID: "a84b4c76e66710@pbx.example.com", cseq: 314159, cseqMethod: "INVITE", fromTag: "1928301774", clen: len(sdp),
			headerLen: len(invite) - len(sdp)}},
		{"response 200", crlf(
			"SIP/2.0 200 OK",
			"Via: SIP/2.0/UDP 10.0.0.10:5060;branch=z9hG4bK776asdhds",
			"To: <sip:bob@example.net>;tag=a6c85cf",
			"From: <sip:alice@example.com>;tag=1928301774",
			"Call-ID: resp1@example.com",
			"CSeq: 2 BYE",
			"Content-Length: 0", "", ""),
			want{status: 200, callID: "resp1@example.com", cseq: 2, cseqMethod: "BYE", fromTag: "1928301774", toTag: "a6c85cf"}},
		{"compact forms and lower-case names", crlf(
			"OPTIONS sip:trunk.example.net SIP/2.0",
			"v: SIP/2.0/UDP 10.0.0.10;branch=z9hG4bKopt",
			"t: <sip:trunk.example.net>",
			"f: <sip:probe@example.com>;tag=xyz",
			"i: opt-1@example.com",
			"cseq: 7 OPTIONS",
			"l: 0", "", ""),
			want{request: true, method: "OPTIONS", uri: "sip:trunk.example.net", callID: "opt-1@example.com", cseq: 7, cseqMethod: "OPTIONS", fromTag: "xyz"}},
		{"mixed case names", crlf(
			"BYE sip:bob@example.net SIP/2.0",
			"CALL-ID: MixedCase@example.com",
			"cSeQ: 3 BYE",
			"FROM: <sip:a@example.com>;TAG=up",
			"tO: <sip:b@example.net>;Tag=low",
			"CONTENT-LENGTH: 0", "", ""),
			want{request: true, method: "BYE", callID: "MixedCase@example.com", cseq: 3, cseqMethod: "BYE", fromTag: "up", toTag: "low"}},
		// RFC 4475 §3.1.1.1 wsinv: folding everywhere, LWS around ':', ';'
		// and '=', escaped quotes in a display name.
		{"wsinv-like folding", crlf(
			"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0",
			"TO :",
			" sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
			`from   : "J Rosenberg \\\""       <sip:jdrosen@example.com>`,
			"  ;",
			"  tag = 98asjd8",
			"MaX-fOrWaRdS: 0068",
			"Call-ID: wsinv.ndaksdj@192.0.2.1",
			"Content-Length   : 0",
			"cseq: 0009",
			"  INVITE",
			"Via  : SIP  /   2.0",
			" /UDP",
			"    192.0.2.2;branch=390skdjuw",
			"s :",
			"NewFangledHeader:   newfangled value",
			" continued newfangled value",
			"UnknownHeaderWithUnusualValue: ;;,,;;,;",
			"", ""),
			want{request: true, method: "INVITE", callID: "wsinv.ndaksdj@192.0.2.1", cseq: 9, cseqMethod: "INVITE", fromTag: "98asjd8", toTag: "1918181833n"}},
		{"tab before colon and folded Call-ID value", crlf(
			"ACK sip:b@example.net SIP/2.0",
			"Call-ID\t:",
			"\tfolded@example.com",
			"CSeq:\t5\tACK",
			"", ""),
			want{request: true, method: "ACK", callID: "folded@example.com", cseq: 5, cseqMethod: "ACK", clen: -1}},
		// §3.1.1.2 intmeth: an extension method of unusual token characters.
		{"intmeth-like method", crlf(
			"!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com SIP/2.0",
			"Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
			"CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~",
			"From: <sip:a@example.com>;tag=_token~1'+`*%!-.",
			"l: 0", "", ""),
			want{request: true, method: "!interesting-Method0123456789_*+`.%indeed'~", callID: "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
				cseq: 139122385, cseqMethod: "!interesting-Method0123456789_*+`.%indeed'~", fromTag: "_token~1'+`*%!-."}},
		// §3.1.1.6 lwsdisp: no LWS between display name and '<'; a tag-like
		// URI parameter inside <> is not the tag.
		{"tag inside angle brackets is a URI param", crlf(
			"OPTIONS sip:user@example.com SIP/2.0",
			"To: sip:user@example.com",
			"From: caller<sip:caller@example.com;tag=uri>;tag=323",
			"Call-ID: lwsdisp.1234abcd@funky.example.com",
			"CSeq: 60 OPTIONS",
			"l: 0", "", ""),
			want{request: true, method: "OPTIONS", callID: "lwsdisp.1234abcd@funky.example.com", cseq: 60, cseqMethod: "OPTIONS", fromTag: "323"}},
		{"quoted display name hides ;tag=", crlf(
			"SIP/2.0 180 Ringing",
			`From: "x;tag=fake" <sip:a@example.com>;tag=real`,
			`To: <sip:b@example.com>;foo="a;tag=q";tag=t2`,
			"Call-ID: q@example.com",
			"CSeq: 1 INVITE",
			"l: 0", "", ""),
			want{status: 180, callID: "q@example.com", cseq: 1, cseqMethod: "INVITE", fromTag: "real", toTag: "t2"}},
		// §3.1.1.8 dblreq: extra octets after Content-Length are ignored.
		{"trailing octets after the body", append(crlf(
			"REGISTER sip:example.com SIP/2.0",
			"Call-ID: dblreq@example.com",
			"CSeq: 3 REGISTER",
			"l: 0", "", ""), "INVITE sip:joe@example.com SIP/2.0\r\n"...),
			want{request: true, method: "REGISTER", callID: "dblreq@example.com", cseq: 3, cseqMethod: "REGISTER"}},
		// §3.1.1.12 unreason and §3.1.1.13 noreason.
		{"utf-8 reason phrase", crlf("SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое", "Call-ID: u@x", "CSeq: 1 INVITE", "l: 0", "", ""),
			want{status: 200, callID: "u@x", cseq: 1, cseqMethod: "INVITE"}},
		{"empty reason phrase", crlf("SIP/2.0 100 ", "Call-ID: n@x", "CSeq: 1 INVITE", "l: 0", "", ""),
			want{status: 100, callID: "n@x", cseq: 1, cseqMethod: "INVITE"}},
		{"no SP before missing reason", crlf("SIP/2.0 100", "Call-ID: n@x", "CSeq: 1 INVITE", "l: 0", "", ""),
			want{status: 100, callID: "n@x", cseq: 1, cseqMethod: "INVITE"}},
		{"bare LF line ends", []byte("SIP/2.0 486 Busy Here\nCall-ID: lf@x\nCSeq: 9 INVITE\nContent-Length: 0\n\n"),
			want{status: 486, callID: "lf@x", cseq: 9, cseqMethod: "INVITE"}},
		{"lower-case version", crlf("sip/2.0 603 Decline", "Call-ID: lc@x", "CSeq: 2 INVITE", "", ""),
			want{status: 603, callID: "lc@x", cseq: 2, cseqMethod: "INVITE", clen: -1}},
		{"leading zeros in Content-Length", crlf("SIP/2.0 200 OK", "Call-ID: z@x", "CSeq: 2 BYE", "Content-Length: 0000000000000000000004", "", "abcd"),
			want{status: 200, callID: "z@x", cseq: 2, cseqMethod: "BYE", clen: 4}},
		{"same Content-Length twice", crlf("SIP/2.0 200 OK", "Call-ID: z@x", "CSeq: 2 BYE", "l: 2", "Content-Length: 2", "", "ab"),
			want{status: 200, callID: "z@x", cseq: 2, cseqMethod: "BYE", clen: 2}},
		{"absent Content-Length, body to end", crlf("MESSAGE sip:b@x SIP/2.0", "Call-ID: m@x", "CSeq: 1 MESSAGE", "", "hello"),
			want{request: true, method: "MESSAGE", callID: "m@x", cseq: 1, cseqMethod: "MESSAGE", clen: -1}},
		{"max CSeq", crlf("SIP/2.0 200 OK", "Call-ID: c@x", "CSeq: 4294967295 INFO", "l: 0", "", ""),
			want{status: 200, callID: "c@x", cseq: 4294967295, cseqMethod: "INFO"}},

		// Rejections.
		{"empty", nil, want{err: ErrNotSIP}},
		{"rtp", []byte{0x80, 0x00, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, '\n'}, want{err: ErrNotSIP}},
		{"http", crlf("GET / HTTP/1.1", "Host: x", "", ""), want{err: ErrNotSIP}},
		{"http response", crlf("HTTP/1.1 200 OK", "", ""), want{err: ErrNotSIP}},
		{"keep-alive", []byte("\r\n\r\n"), want{err: ErrNotSIP}},
		{"control char in request line", crlf("INVITE sip:a\x00b SIP/2.0", "Call-ID: a@b", "CSeq: 1 INVITE", "", ""), want{err: ErrNotSIP}},
		{"no version", crlf("INVITE sip:a@b", "Call-ID: a@b", "CSeq: 1 INVITE", "", ""), want{err: ErrNotSIP}},
		// §3.1.2.7 ltgtruri, §3.1.2.8 lwsruri, §3.1.2.9 lwsstart,
		// §3.1.2.10 trws, §3.1.2.16 badvers.
		{"ltgtruri", crlf("INVITE <sip:user@example.com> SIP/2.0", "Call-ID: a@b", "CSeq: 1 INVITE", "l: 0", "", ""), want{err: ErrBadStartLine}},
		{"lwsruri", crlf("INVITE sip:user@example.com; lr SIP/2.0", "Call-ID: a@b", "CSeq: 1 INVITE", "l: 0", "", ""), want{err: ErrBadStartLine}},
		{"lwsstart", crlf("INVITE  sip:user@example.com  SIP/2.0", "Call-ID: a@b", "CSeq: 1 INVITE", "l: 0", "", ""), want{err: ErrBadStartLine}},
		{"trws", crlf("OPTIONS sip:remote-target@example.com SIP/2.0  ", "Call-ID: a@b", "CSeq: 1 OPTIONS", "l: 0", "", ""), want{err: ErrBadStartLine}},
		{"badvers", crlf("OPTIONS sip:t.watson@example.org SIP/7.0", "Call-ID: a@b", "CSeq: 1 OPTIONS", "l: 0", "", ""), want{err: ErrBadStartLine}},
		{"response badvers", crlf("SIP/3.0 200 OK", "Call-ID: a@b", "CSeq: 1 OPTIONS", "l: 0", "", ""), want{err: ErrBadStartLine}},
		// §3.1.2.19 bigcode and friends.
		{"bigcode", crlf("SIP/2.0 4294967301 better not break the receiver", "Call-ID: a@b", "CSeq: 1 INVITE", "l: 0", "", ""), want{err: ErrBadStatus}},
		{"status 099", crlf("SIP/2.0 099 Low", "Call-ID: a@b", "CSeq: 1 INVITE", "l: 0", "", ""), want{err: ErrBadStatus}},
		{"status 700", crlf("SIP/2.0 700 High", "Call-ID: a@b", "CSeq: 1 INVITE", "l: 0", "", ""), want{err: ErrBadStatus}},
		{"status letters", crlf("SIP/2.0 2x0 OK", "Call-ID: a@b", "CSeq: 1 INVITE", "l: 0", "", ""), want{err: ErrBadStatus}},
		{"status missing", crlf("SIP/2.0", "Call-ID: a@b", "CSeq: 1 INVITE", "l: 0", "", ""), want{err: ErrBadStatus}},
		// RFC 4475 insuf: required headers missing.
		{"no Call-ID", crlf("INVITE sip:a@b SIP/2.0", "CSeq: 1 INVITE", "l: 0", "", ""), want{err: ErrBadCallID}},
		{"empty Call-ID", crlf("INVITE sip:a@b SIP/2.0", "Call-ID:   ", "CSeq: 1 INVITE", "l: 0", "", ""), want{err: ErrBadCallID}},
		{"Call-ID with space", crlf("INVITE sip:a@b SIP/2.0", "Call-ID: a b", "CSeq: 1 INVITE", "l: 0", "", ""), want{err: ErrBadCallID}},
		{"two Call-IDs (multi01)", crlf("INVITE sip:a@b SIP/2.0", "Call-ID: one@b", "i: two@b", "CSeq: 1 INVITE", "l: 0", "", ""), want{err: ErrBadCallID}},
		{"no CSeq", crlf("INVITE sip:a@b SIP/2.0", "Call-ID: a@b", "l: 0", "", ""), want{err: ErrBadCSeq}},
		{"CSeq without method", crlf("INVITE sip:a@b SIP/2.0", "Call-ID: a@b", "CSeq: 1", "l: 0", "", ""), want{err: ErrBadCSeq}},
		{"CSeq without number", crlf("INVITE sip:a@b SIP/2.0", "Call-ID: a@b", "CSeq: INVITE", "l: 0", "", ""), want{err: ErrBadCSeq}},
		{"CSeq number and method glued", crlf("INVITE sip:a@b SIP/2.0", "Call-ID: a@b", "CSeq: 1INVITE", "l: 0", "", ""), want{err: ErrBadCSeq}},
		{"CSeq trailing junk", crlf("INVITE sip:a@b SIP/2.0", "Call-ID: a@b", "CSeq: 1 INVITE x", "l: 0", "", ""), want{err: ErrBadCSeq}},
		{"scalar02 CSeq overflow", crlf("REGISTER sip:example.com SIP/2.0", "Call-ID: a@b", "CSeq: 36893488147419103232 REGISTER", "l: 0", "", ""), want{err: ErrBadCSeq}},
		{"CSeq just over 32 bits", crlf("SIP/2.0 200 OK", "Call-ID: a@b", "CSeq: 4294967296 INFO", "l: 0", "", ""), want{err: ErrBadCSeq}},
		{"mismatch01", crlf("OPTIONS sip:user@example.com SIP/2.0", "Call-ID: mismatch01@x", "CSeq: 8 INVITE", "l: 0", "", ""), want{err: ErrBadCSeq}},
		{"mismatch02", crlf("NEWMETHOD sip:user@example.com SIP/2.0", "Call-ID: mismatch02@x", "CSeq: 8 INVITE", "l: 0", "", ""), want{err: ErrBadCSeq}},
		{"two CSeqs", crlf("SIP/2.0 200 OK", "Call-ID: a@b", "CSeq: 1 INVITE", "CSeq: 2 INVITE", "l: 0", "", ""), want{err: ErrBadCSeq}},
		// §3.1.2.2 clerr, §3.1.2.3 ncl, mcl01.
		{"clerr", crlf("INVITE sip:a@b SIP/2.0", "Call-ID: a@b", "CSeq: 1 INVITE", "Content-Length: 9999", "", sdp), want{err: ErrTruncated}},
		{"ncl", crlf("INVITE sip:a@b SIP/2.0", "Call-ID: a@b", "CSeq: 1 INVITE", "Content-Length: -999", "", sdp), want{err: ErrBadContentLength}},
		{"mcl01", crlf("OPTIONS sip:a@b SIP/2.0", "Call-ID: a@b", "CSeq: 1 OPTIONS", "Content-Length: 0", "l: 3", "", "abc"), want{err: ErrBadContentLength}},
		{"Content-Length letters", crlf("SIP/2.0 200 OK", "Call-ID: a@b", "CSeq: 1 INVITE", "Content-Length: 1a", "", "ab"), want{err: ErrBadContentLength}},
		{"Content-Length empty", crlf("SIP/2.0 200 OK", "Call-ID: a@b", "CSeq: 1 INVITE", "Content-Length:", "", ""), want{err: ErrBadContentLength}},
		{"Content-Length huge", crlf("SIP/2.0 200 OK", "Call-ID: a@b", "CSeq: 1 INVITE", "Content-Length: 18446744073709551616", "", ""), want{err: ErrBadContentLength}},
		{"header without colon", crlf("SIP/2.0 200 OK", "Call-ID: a@b", "CSeq: 1 INVITE", "NoColonHere", "l: 0", "", ""), want{err: ErrBadHeader}},
		{"header with empty name", crlf("SIP/2.0 200 OK", ": x", "Call-ID: a@b", "CSeq: 1 INVITE", "l: 0", "", ""), want{err: ErrBadHeader}},
		{"fold before any header", crlf("SIP/2.0 200 OK", " folded", "Call-ID: a@b", "CSeq: 1 INVITE", "l: 0", "", ""), want{err: ErrBadHeader}},
		{"no blank line", crlf("SIP/2.0 200 OK", "Call-ID: a@b", "CSeq: 1 INVITE", "l: 0", ""), want{err: ErrTruncated}},
		{"start line only", []byte("INVITE sip:a@b SIP/2.0"), want{err: ErrTruncated}},
		{"cut in the start line", []byte("SIP/2.0 20"), want{err: ErrTruncated}},
		{"one word", []byte("hello"), want{err: ErrNotSIP}},
		{"words without a line end", []byte("not sip at all"), want{err: ErrNotSIP}},
		{"header section too long", append(crlf("SIP/2.0 200 OK", "Call-ID: a@b", "CSeq: 1 INVITE", "X: "), bytes.Repeat([]byte("a"), MaxHeaderLen)...), want{err: ErrHeaderTooLong}},
	}
}

func TestScan(t *testing.T) {
	for _, tc := range scanCases() {
		t.Run(tc.name, func(t *testing.T) {
			var m Msg
			err := Scan(tc.in, &m)
			checkMsg(t, tc.in, &m, err, tc.want)
		})
	}
}

func checkMsg(t *testing.T, in []byte, m *Msg, err error, w want) {
	t.Helper()
	if w.err != nil {
		if err != w.err {
			t.Fatalf("Scan error = %v, want %v", err, w.err)
		}
		if ReasonOf(err) == ReasonNone {
			t.Errorf("ReasonOf(%v) = none", err)
		}
		if got, wantMal := errors.Is(err, ErrMalformed), w.err != ErrNotSIP; got != wantMal {
			t.Errorf("errors.Is(%v, ErrMalformed) = %v, want %v", err, got, wantMal)
		}
		return
	}
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	eq := func(field, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	if m.IsRequest != w.request {
		t.Errorf("IsRequest = %v, want %v", m.IsRequest, w.request)
	}
	if w.request {
		eq("Method", string(m.Method), w.method)
		if w.uri != "" {
			eq("RequestURI", string(m.RequestURI), w.uri)
		}
		if m.Status != 0 {
			t.Errorf("Status = %d for a request", m.Status)
		}
	} else {
		if m.Status != w.status {
			t.Errorf("Status = %d, want %d", m.Status, w.status)
		}
		if m.Method != nil || m.RequestURI != nil {
			t.Errorf("response has Method %q, RequestURI %q", m.Method, m.RequestURI)
		}
	}
	eq("CallID", string(m.CallID), w.callID)
	eq("CSeqMethod", string(m.CSeqMethod), w.cseqMethod)
	if m.CSeqNum != w.cseq {
		t.Errorf("CSeqNum = %d, want %d", m.CSeqNum, w.cseq)
	}
	eq("FromTag", string(m.FromTag), w.fromTag)
	eq("ToTag", string(m.ToTag), w.toTag)
	if m.ContentLength != w.clen {
		t.Errorf("ContentLength = %d, want %d", m.ContentLength, w.clen)
	}
	if w.headerLen != 0 && m.HeaderLen != w.headerLen {
		t.Errorf("HeaderLen = %d, want %d", m.HeaderLen, w.headerLen)
	}
	if m.Len() > len(in) {
		t.Errorf("Len() = %d beyond input of %d", m.Len(), len(in))
	}
	hdr := string(in[:m.HeaderLen])
	if !strings.HasSuffix(hdr, "\r\n\r\n") && !strings.HasSuffix(hdr, "\n\n") {
		t.Errorf("header section does not end with a blank line: %q", hdr[max(0, len(hdr)-8):])
	}
}

// TestScanReuse scans different messages into one Msg: no field may keep a
// value from the previous message.
func TestScanReuse(t *testing.T) {
	resp := crlf("SIP/2.0 100 Trying", "Call-ID: second@x", "CSeq: 314159 INVITE", "", "")
	var m Msg
	if err := Scan(invite, &m); err != nil {
		t.Fatal(err)
	}
	if err := Scan(resp, &m); err != nil {
		t.Fatal(err)
	}
	checkMsg(t, resp, &m, nil, want{status: 100, callID: "second@x", cseq: 314159, cseqMethod: "INVITE", clen: -1})
	if err := Scan(invite, &m); err != nil {
		t.Fatal(err)
	}
	checkMsg(t, invite, &m, nil, want{request: true, method: "INVITE", uri: "sip:+441234567890@trunk.example.net;user=phone",
		callID: "a84b4c76e66710@pbx.example.com", cseq: 314159, cseqMethod: "INVITE", fromTag: "1928301774", clen: len(sdp)})
	// A failed scan must not leave the previous message's fields behind.
	if err := Scan([]byte("garbage"), &m); err == nil {
		t.Fatal("garbage scanned")
	}
	if m.CallID != nil || m.Method != nil || m.ContentLength != -1 {
		t.Errorf("stale fields after a failed scan: %+v", m)
	}
}

func TestScanAllocs(t *testing.T) {
	var m Msg
	rtp := []byte{0x80, 0x08, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4}
	bad := crlf("OPTIONS sip:a SIP/2.0", "CSeq: 1 OPTIONS", "", "")
	if n := testing.AllocsPerRun(100, func() {
		_ = Scan(invite, &m)
		_ = Scan(rtp, &m)
		_ = Scan(bad, &m)
		_, _ = Frame(invite)
		_ = LooksLikeSIP(invite)
		_ = ReasonOf(ErrBadCSeq)
	}); n != 0 {
		t.Fatalf("%v allocations per run, want 0", n)
	}
}

func TestFrame(t *testing.T) {
	resp := crlf("SIP/2.0 180 Ringing", "Call-ID: r@x", "CSeq: 314159 INVITE", "Content-Length: 0", "", "")
	noCallID := crlf("SIP/2.0 180 Ringing", "CSeq: 314159 INVITE", "Content-Length: 0", "", "")
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	for _, tc := range []struct {
		name    string
		in      []byte
		n       int
		wantErr error
	}{
		{"empty", nil, 0, nil},
		{"one message", invite, len(invite), nil},
		{"two messages", cat(invite, resp), len(invite), nil},
		{"message then garbage", cat(resp, []byte{0x80, 0}), len(resp), nil},
		{"prefix of start line", invite[:10], 0, nil},
		{"prefix of response start", []byte("SI"), 0, nil},
		{"headers incomplete", invite[:100], 0, nil},
		{"body incomplete", invite[:len(invite)-1], 0, nil},
		{"CR before final LF", resp[:len(resp)-1], 0, nil},
		{"malformed but delimited", cat(noCallID, resp), len(noCallID), nil},
		{"no Content-Length counts as 0", crlf("ACK sip:a@b SIP/2.0", "Call-ID: a@b", "CSeq: 1 ACK", "", "INVITE"), len("ACK sip:a@b SIP/2.0\r\nCall-ID: a@b\r\nCSeq: 1 ACK\r\n\r\n"), nil},
		{"keep-alive must be skipped first", []byte("\r\n\r\nINVITE"), 0, ErrNotSIP},
		{"binary", []byte{0x16, 0x03, 0x01, 0x02, 0x00}, 0, ErrNotSIP},
		{"tls-like text", []byte("\x16\x03\x01"), 0, ErrNotSIP},
		{"http", []byte("GET / HTTP/1.1\r\n"), 0, ErrNotSIP},
		{"bad Content-Length", crlf("SIP/2.0 200 OK", "Call-ID: a@b", "CSeq: 1 INVITE", "Content-Length: x", "", ""), 0, ErrBadContentLength},
		{"endless header", cat([]byte("SIP/2.0 200 OK\r\nX: "), bytes.Repeat([]byte("y"), MaxHeaderLen)), 0, ErrHeaderTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Frame(tc.in)
			if n != tc.n || err != tc.wantErr {
				t.Fatalf("Frame = %d, %v; want %d, %v", n, err, tc.n, tc.wantErr)
			}
		})
	}
}

func TestKeepAlive(t *testing.T) {
	for in, want := range map[string]int{"": 0, "\r\n": 2, "\r\n\r\n": 4, "\r\n\r\nINVITE": 4, "INVITE": 0, "\n": 1} {
		if got := KeepAlive([]byte(in)); got != want {
			t.Errorf("KeepAlive(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestLooksLikeSIP(t *testing.T) {
	for in, want := range map[string]bool{
		"INVITE sip:a@b SIP/2.0\r\n": true,
		"SIP/2.0 200 OK\r\n":         true,
		"SIP/2.0 200 OK":             false, // line not complete
		"GET / HTTP/1.1\r\n":         false,
		"v=0\r\n":                    false,
		"\x80\x00\n":                 false,
		"":                           false,
	} {
		if got := LooksLikeSIP([]byte(in)); got != want {
			t.Errorf("LooksLikeSIP(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestTokenMasks checks the constant masks against RFC 3261's token rule.
func TestTokenMasks(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-.!%*_+`'~", rune(c)))
		if isToken(byte(c)) != want {
			t.Errorf("isToken(%q) = %v", rune(c), !want)
		}
	}
}

func TestReasons(t *testing.T) {
	for r := ReasonNone; r < NumReasons; r++ {
		if s := r.String(); s == "unknown" || s == "" {
			t.Errorf("reason %d has no name", r)
		}
	}
	if got := ReasonOf(fmt.Errorf("wrapped: %w", ErrBadCSeq)); got != ReasonBadCSeq {
		t.Errorf("ReasonOf(wrapped) = %v", got)
	}
	if got := ReasonOf(errors.New("other")); got != ReasonNone {
		t.Errorf("ReasonOf(other) = %v", got)
	}
}
