// Package sipscan finds the few fields of a SIP message that a probe needs
// to route it (RFC 3261 §7 and §20): the start line, Call-ID, CSeq, the From
// and To tags and Content-Length. It allocates nothing: Scan fills a Msg that
// the caller owns and reuses, whose slices alias the scanned bytes.
//
// It is deliberately a scanner, not a parser. Headers it does not need (Via,
// Contact, ...) are skipped unparsed, and it accepts what a lenient stack
// accepts (bare LF line ends, lower-case version, folded values), because the
// probe's job is to ship every message it sees; the collector parses each
// message fully with sipgo and judges it there. It rejects only what would
// make the event wrong or unroutable: no Call-ID, no usable CSeq, a start
// line that is not SIP, a status outside 100-699, or a length it cannot
// trust.
package sipscan

import (
	"bytes"

	"github.com/trunkscope/trunkscope/probe/internal/ascii"
)

// MaxHeaderLen bounds the header section (start line, headers and the blank
// line). Real messages stay under a few KiB; the bound keeps a hostile or
// non-SIP stream from making a reader buffer without end.
const MaxHeaderLen = 64 << 10

// Msg holds what Scan found. Its slices alias the scanned buffer and are
// valid only while that buffer is unmodified. Scan overwrites every field,
// so one Msg can be reused for every message.
type Msg struct {
	IsRequest bool
	// Method is the request method; nil for a response (see CSeqMethod).
	Method []byte
	// RequestURI is the request's target; nil for a response.
	RequestURI []byte
	// Status is the response code (100-699); 0 for a request.
	Status     uint16
	CallID     []byte
	CSeqNum    uint32
	CSeqMethod []byte
	// FromTag and ToTag are the tag parameters, nil when absent (a To tag is
	// absent in a dialog-creating request).
	FromTag, ToTag []byte
	// ContentLength is the Content-Length header's value, -1 if absent.
	ContentLength int
	// HeaderLen is the offset of the body: the length of the start line and
	// the headers including the blank line that ends them.
	HeaderLen int
}

// Len returns the length of the whole message: HeaderLen plus
// ContentLength. An absent Content-Length counts as zero, as on a stream
// (RFC 3261 §18.3 makes it mandatory there); on a datagram the body of such
// a message runs to the end of the datagram instead.
func (m *Msg) Len() int {
	if m.ContentLength < 0 {
		return m.HeaderLen
	}
	return m.HeaderLen + m.ContentLength
}

// Scan scans the SIP message at the start of b, which must hold the whole
// message (a datagram, or bytes Frame has delimited). Bytes past m.Len() are
// ignored, as RFC 3261 §18.3 says for datagrams. Scan returns one of the
// package's sentinel errors; m is then only partly filled.
func Scan(b []byte, m *Msg) error {
	if len(b) == 0 {
		*m = Msg{ContentLength: -1}
		return ErrNotSIP
	}
	soft, hard := m.parse(b)
	if hard == errNoLine {
		// Not even the start line ends in the datagram. Text that names
		// the SIP version is a cut SIP message; anything else is not SIP
		// (a complete datagram cannot stop mid-line).
		if bytes.Contains(b, []byte("SIP/2.0")) {
			return ErrTruncated
		}
		return ErrNotSIP
	}
	if hard != nil {
		return hard
	}
	// RFC 3261 §18.3: a datagram with fewer body bytes than Content-Length
	// is discarded.
	if m.ContentLength > len(b)-m.HeaderLen {
		return ErrTruncated
	}
	return soft
}

// LooksLikeSIP reports whether b begins with a complete SIP start line: a
// Request-Line "METHOD SP uri SP SIP/x.y" or a Status-Line "SIP/x.y SP ...".
// It is the cheap test a stream reader uses to find where a message starts
// after losing its place.
func LooksLikeSIP(b []byte) bool {
	eol := bytes.IndexByte(b, '\n')
	if eol < 0 {
		return false
	}
	var m Msg
	_, hard := m.startLine(trimCR(b[:eol]))
	return hard == nil
}

// errNoLine is parse's ErrTruncated for bytes without a complete first line,
// which Scan and Frame judge differently.
var errNoLine error = &Error{ReasonTruncated, "sipscan: incomplete start line"}

// parse scans the start line and the header section. A hard error means the
// message cannot be delimited (not SIP, header section unfinished or too
// long, unusable Content-Length); a soft error means it can be delimited but
// must be rejected, so Frame can still step over it.
func (m *Msg) parse(b []byte) (soft, hard error) {
	*m = Msg{ContentLength: -1}
	// Both start lines begin with a token; binary payloads (RTP above all)
	// leave here before any scan for a line end.
	if len(b) > 0 && !isToken(b[0]) {
		return nil, ErrNotSIP
	}
	// Whatever is missing past MaxHeaderLen can only make the header section
	// too long, so scan no further than that.
	incomplete := ErrTruncated
	if len(b) > MaxHeaderLen {
		b = b[:MaxHeaderLen]
		incomplete = ErrHeaderTooLong
	}
	eol := bytes.IndexByte(b, '\n')
	if eol < 0 {
		if !plausibleStart(b) {
			return nil, ErrNotSIP
		}
		if incomplete == ErrTruncated {
			return nil, errNoLine
		}
		return nil, incomplete
	}
	if soft, hard = m.startLine(trimCR(b[:eol])); hard != nil {
		return soft, hard
	}
	pos := eol + 1
	for {
		if pos >= len(b) {
			return soft, incomplete
		}
		// An empty line ends the header section (RFC 3261 §7).
		if b[pos] == '\n' {
			m.HeaderLen = pos + 1
			break
		}
		if b[pos] == '\r' {
			if pos+1 >= len(b) {
				return soft, incomplete
			}
			if b[pos+1] == '\n' {
				m.HeaderLen = pos + 2
				break
			}
		}
		// One header field: its line and any continuation lines, which
		// start with whitespace (RFC 3261 §7.3.1 folding).
		start := pos
		for {
			i := bytes.IndexByte(b[pos:], '\n')
			if i < 0 {
				return soft, incomplete
			}
			pos += i + 1
			// Until the next line's first byte is here, we cannot tell
			// whether it continues this field.
			if pos >= len(b) {
				return soft, incomplete
			}
			if b[pos] != ' ' && b[pos] != '\t' {
				break
			}
		}
		s, h := m.header(b[start:pos])
		if h != nil {
			return soft, h
		}
		if soft == nil {
			soft = s
		}
	}
	if soft != nil {
		return soft, nil
	}
	switch {
	case m.CallID == nil:
		return ErrBadCallID, nil
	case m.CSeqMethod == nil:
		return ErrBadCSeq, nil
	case m.IsRequest && !bytes.Equal(m.Method, m.CSeqMethod):
		// RFC 3261 §8.1.1.5: a request's CSeq method MUST match its method
		// (RFC 4475 §3.1.2.17 mismatch01); methods are case-sensitive.
		return ErrBadCSeq, nil
	}
	return nil, nil
}

// startLine scans a Request-Line or Status-Line (RFC 3261 §7.1, §7.2)
// without its line end.
func (m *Msg) startLine(l []byte) (soft, hard error) {
	i := 0
	for i < len(l) && isToken(l[i]) {
		i++
	}
	if i == 0 {
		return nil, ErrNotSIP
	}
	if i < len(l) && l[i] == '/' {
		// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
		if !ascii.EqualFold(l[:i], "sip") {
			return nil, ErrNotSIP
		}
		v := l[i:]
		if len(v) < 4 || string(v[:4]) != "/2.0" {
			return ErrBadStartLine, nil
		}
		code := v[4:]
		// The reason phrase may be empty, and lenient stacks drop the SP
		// before it too (RFC 4475 §3.1.1.13 noreason).
		if len(code) < 4 || code[0] != ' ' || (len(code) > 4 && code[4] != ' ' && code[4] != '\t') {
			return ErrBadStatus, nil
		}
		var n uint16
		for _, c := range code[1:4] {
			if c < '0' || c > '9' {
				return ErrBadStatus, nil
			}
			n = n*10 + uint16(c-'0')
		}
		if n < 100 || n > 699 {
			return ErrBadStatus, nil
		}
		m.Status = n
		return nil, nil
	}
	// Request-Line = Method SP Request-URI SP SIP-Version
	if i == len(l) || l[i] != ' ' {
		return nil, ErrNotSIP
	}
	rest := l[i+1:]
	// Control characters never occur in a SIP start line; binary payloads
	// that happen to start with a letter and a space end here. plausibleStart
	// applies the same rule, so a prefix is never rejected differently.
	for _, c := range rest {
		if isCTL(c) {
			return nil, ErrNotSIP
		}
	}
	t := trimRightWS(rest)
	sp := bytes.LastIndexByte(t, ' ')
	if sp < 0 || !ascii.HasPrefixFold(t[sp+1:], "sip/") {
		// "GET / HTTP/1.1" and other text protocols end here.
		return nil, ErrNotSIP
	}
	m.IsRequest = true
	m.Method = l[:i]
	m.RequestURI = t[:sp]
	switch {
	case len(t) != len(rest): // RFC 4475 §3.1.2.10 trws: trailing whitespace
		return ErrBadStartLine, nil
	case !ascii.EqualFold(t[sp+1:], "sip/2.0"): // §3.1.2.15 badvers
		return ErrBadStartLine, nil
	case !validURI(m.RequestURI): // §3.1.2.7-9 ltgtruri, lwsruri, lwsstart
		return ErrBadStartLine, nil
	}
	return nil, nil
}

// validURI rejects an empty Request-URI, one in angle brackets, and one
// containing whitespace; everything else is the collector's to judge.
func validURI(u []byte) bool {
	if len(u) == 0 || u[0] == '<' {
		return false
	}
	for _, c := range u {
		if c == ' ' || c == '\t' {
			return false
		}
	}
	return true
}

// plausibleStart reports whether b, a first line without its end yet, can
// still become a SIP start line: a token (the method, or "SIP" before
// "/2.0"), then SP and text.
func plausibleStart(b []byte) bool {
	i := 0
	for i < len(b) && isToken(b[i]) {
		i++
	}
	switch {
	case i == len(b):
		return true
	case i == 0:
		return false
	case b[i] == '/':
		return ascii.EqualFold(b[:i], "sip")
	case b[i] != ' ':
		return false
	}
	for _, c := range b[i+1:] {
		if isCTL(c) && c != '\r' {
			return false
		}
	}
	return true
}

// header scans one header field, including its line end and folds.
func (m *Msg) header(h []byte) (soft, hard error) {
	i := 0
	for i < len(h) && isToken(h[i]) {
		i++
	}
	name := h[:i]
	// HCOLON = *( SP / HTAB ) ":" SWS
	j := i
	for j < len(h) && (h[j] == ' ' || h[j] == '\t') {
		j++
	}
	if i == 0 || j == len(h) || h[j] != ':' {
		return ErrBadHeader, nil
	}
	v := trimLWS(h[j+1:])
	// Compact forms (RFC 3261 §7.3.3, §20): i, f, t, l.
	switch len(name) {
	case 1:
		switch name[0] | 0x20 {
		case 'i':
			return m.callID(v), nil
		case 'f':
			m.from(v)
		case 't':
			m.to(v)
		case 'l':
			return nil, m.contentLength(v)
		}
	case 2:
		if ascii.EqualFold(name, "to") {
			m.to(v)
		}
	case 4:
		if ascii.EqualFold(name, "from") {
			m.from(v)
		} else if ascii.EqualFold(name, "cseq") {
			return m.cseq(v), nil
		}
	case 7:
		if ascii.EqualFold(name, "call-id") {
			return m.callID(v), nil
		}
	case 14:
		if ascii.EqualFold(name, "content-length") {
			return nil, m.contentLength(v)
		}
	}
	return nil, nil
}

// callID takes the Call-ID (callid = word ["@" word], no whitespace). A
// repeated Call-ID makes the message ambiguous (RFC 4475 multi01).
func (m *Msg) callID(v []byte) error {
	if m.CallID != nil || len(v) == 0 {
		return ErrBadCallID
	}
	for _, c := range v {
		if c <= ' ' || c == 0x7f {
			return ErrBadCallID
		}
	}
	m.CallID = v
	return nil
}

// cseq takes CSeq = 1*DIGIT LWS Method. The number must fit in 32 bits
// (RFC 3261 §8.1.1.5; RFC 4475 §3.1.2.4 scalar02 and §3.1.2.5 scalarlg
// overflow it).
func (m *Msg) cseq(v []byte) error {
	if m.CSeqMethod != nil {
		return ErrBadCSeq
	}
	var n uint64
	i := 0
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		if n = n*10 + uint64(v[i]-'0'); n > 1<<32-1 {
			return ErrBadCSeq
		}
	}
	j := skipLWS(v, i)
	if i == 0 || j == i {
		return ErrBadCSeq
	}
	k := j
	for k < len(v) && isToken(v[k]) {
		k++
	}
	if k == j || k != len(v) {
		return ErrBadCSeq
	}
	m.CSeqNum, m.CSeqMethod = uint32(n), v[j:k]
	return nil
}

// maxContentLength keeps n within an int on 32-bit platforms; nothing near
// it fits in a datagram or a reassembly buffer anyway.
const maxContentLength = 1<<30 - 1

// contentLength takes Content-Length = 1*DIGIT. Its errors are hard: without
// a trustworthy length a stream cannot be split into messages. Two different
// values are how request smuggling starts (RFC 4475 mcl01); a negative one
// is §3.1.2.3 ncl.
func (m *Msg) contentLength(v []byte) error {
	if len(v) == 0 {
		return ErrBadContentLength
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return ErrBadContentLength
		}
		if n = n*10 + int(c-'0'); n > maxContentLength {
			return ErrBadContentLength
		}
	}
	if m.ContentLength >= 0 && m.ContentLength != n {
		return ErrBadContentLength
	}
	m.ContentLength = n
	return nil
}

// The first From and To win; repeats are left to the collector.
func (m *Msg) from(v []byte) {
	if m.FromTag == nil {
		m.FromTag = tagParam(v)
	}
}

func (m *Msg) to(v []byte) {
	if m.ToTag == nil {
		m.ToTag = tagParam(v)
	}
}

// tagParam returns the value of the tag header parameter of a From or To
// value (RFC 3261 §20.20, §20.39). Parameters inside <...> belong to the URI
// and quoted display names may hold anything, so both are skipped; LWS may
// surround ';' and '=' (RFC 4475 §3.1.1.1 wsinv).
func tagParam(v []byte) []byte {
	// Fast path for the usual shapes, `"name" <uri>;tag=x` and `uri;tag=x`:
	// the header parameters follow the last '>', and if no quote follows
	// it that '>' cannot be inside a quoted string.
	lt, gt := bytes.IndexByte(v, '<'), bytes.LastIndexByte(v, '>')
	switch {
	case lt >= 0 && gt > lt && bytes.IndexByte(v[gt+1:], '"') < 0:
		return tagAfter(v[gt+1:])
	case lt < 0 && bytes.IndexByte(v, '"') < 0:
		return tagAfter(v)
	}
	inAngle := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			// quoted-string with quoted-pair escapes
			for i++; i < len(v) && v[i] != '"'; i++ {
				if v[i] == '\\' {
					i++
				}
			}
		case c == '<':
			inAngle = true
		case c == '>':
			inAngle = false
		case c == ';' && !inAngle:
			val, k, ok := paramTag(v[i+1:])
			if ok {
				return val
			}
			i += k
		}
	}
	return nil
}

// paramTag reads one header parameter from just after its ';'. When it is
// tag=value it returns the value and ok; next is where the parameter's name
// ends, for the caller to go on from.
func paramTag(v []byte) (val []byte, next int, ok bool) {
	j := skipLWS(v, 0)
	k := j
	for k < len(v) && isToken(v[k]) {
		k++
	}
	if ascii.EqualFold(v[j:k], "tag") {
		if e := skipLWS(v, k); e < len(v) && v[e] == '=' {
			s := skipLWS(v, e+1)
			e = s
			for e < len(v) && isToken(v[e]) {
				e++
			}
			return v[s:e], k, true
		}
	}
	return nil, k, false
}

// tagAfter finds ;tag= in header parameters that hold no quotes or brackets.
func tagAfter(v []byte) []byte {
	for {
		i := bytes.IndexByte(v, ';')
		if i < 0 {
			return nil
		}
		val, k, ok := paramTag(v[i+1:])
		if ok {
			return val
		}
		v = v[i+1+k:]
	}
}
