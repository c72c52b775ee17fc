package sdp

import (
	"bytes"
	"time"
)

// Parse scans the session description b into s, overwriting all of s. The
// slices in s alias b. It returns one of the package's sentinel errors, and
// s is then only partly filled.
//
// b must be the SDP body alone: a multipart body (RFC 5621) is not SDP, and
// the caller extracts the application/sdp part first.
func Parse(b []byte, s *Session) error {
	*s = Session{}
	var (
		started bool
		m       *Media // the current m= section; nil at session level
		skip    bool   // inside an m= section that did not fit
		scratch Media  // where a section that does not fit is checked
	)
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = trimRight(line)
		if len(line) == 0 {
			continue // blank lines: stray CRLFs after the body are common
		}
		// RFC 8866 §5: <type>=<value>, type one lower-case letter, no
		// white space around the "=".
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
			if !started {
				return ErrNotSDP
			}
			return ErrBadLine
		}
		typ, val := line[0], line[2:]
		if !started {
			// RFC 8866 §5.1: v=0 comes first; it is what tells an SDP
			// body from something else labelled as one.
			if typ != 'v' || string(val) != "0" {
				return ErrNotSDP
			}
			started = true
			continue
		}
		switch typ {
		case 'o':
			if m == nil && !skip {
				s.Origin = parseOrigin(val)
			}
		case 'c':
			var c Connection
			if !parseConn(val, &c) {
				return ErrBadConnection
			}
			// A section may list several c= lines for layered multicast
			// (RFC 8866 §5.7); the first one is the one unicast uses.
			switch {
			case skip:
			case m == nil:
				if !s.Conn.Present() {
					s.Conn = c
				}
			case !m.Conn.Present():
				m.Conn = c
			}
		case 'm':
			if s.NumMedia == MaxMedia {
				s.Truncated++
				m, skip = nil, true
				if err := parseMedia(val, &scratch, s); err != nil {
					return err
				}
				continue
			}
			m, skip = &s.Media[s.NumMedia], false
			if err := parseMedia(val, m, s); err != nil {
				return err
			}
			s.NumMedia++
		case 'a':
			if skip {
				continue
			}
			if err := parseAttr(val, s, m); err != nil {
				return err
			}
		}
		// Other types (s=, i=, u=, e=, p=, b=, t=, r=, z=, k=) and
		// unknown ones are skipped, as RFC 8866 §5 asks of parsers.
	}
	if !started {
		return ErrNotSDP
	}
	if s.Direction == DirUnspecified {
		s.Direction = SendRecv
	}
	for i := range s.Media[:s.NumMedia] {
		m := &s.Media[i]
		if !m.Conn.Present() {
			m.Conn = s.Conn
		}
		if m.Direction == DirUnspecified {
			m.Direction = s.Direction
		}
	}
	return nil
}

// parseOrigin splits o=<username> <sess-id> <sess-version> <nettype>
// <addrtype> <unicast-address>; anything but six fields gives a zero Origin.
func parseOrigin(v []byte) Origin {
	var f [6][]byte
	for i := range f {
		f[i], v = field(v)
		if f[i] == nil {
			return Origin{}
		}
	}
	if x, _ := field(v); x != nil {
		return Origin{}
	}
	return Origin{f[0], f[1], f[2], f[3], f[4], f[5]}
}

// parseConn reads c=<nettype> <addrtype> <connection-address> (RFC 8866
// §5.7), also the tail of a=rtcp. The address of an IN line must be an IP
// literal, with a multicast /ttl[/count] suffix, or an FQDN; the address
// type is not checked against the literal, since a mismatch still says
// where the media goes.
func parseConn(v []byte, c *Connection) bool {
	netType, v := field(v)
	addrType, v := field(v)
	addr, v := field(v)
	if addr == nil {
		return false
	}
	if x, _ := field(v); x != nil {
		return false
	}
	c.Raw = addr
	if !bytes.EqualFold(netType, []byte("IN")) {
		return true // another network type: kept raw, not mapped
	}
	if !bytes.EqualFold(addrType, []byte("IP4")) && !bytes.EqualFold(addrType, []byte("IP6")) {
		return false
	}
	host := addr
	if i := bytes.IndexByte(addr, '/'); i >= 0 {
		host = addr[:i]
		for _, ch := range addr[i+1:] {
			if (ch < '0' || ch > '9') && ch != '/' {
				return false
			}
		}
	}
	if a, ok := parseAddr(host); ok {
		c.Addr = a
		return true
	}
	return isFQDN(host)
}

// isFQDN reports whether b could be a domain name (RFC 1035 §2.3.1 letters,
// digits, hyphens and dots, with a letter somewhere so that a broken dotted
// quad is not taken for one).
func isFQDN(b []byte) bool {
	letter := false
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return letter
}

// parseMedia reads m=<media> <port>[/<number of ports>] <proto> <fmt> ...
// (RFC 8866 §5.14) into m.
func parseMedia(v []byte, m *Media, s *Session) error {
	typ, v := field(v)
	portTok, v := field(v)
	proto, v := field(v)
	if proto == nil {
		return ErrBadMedia
	}
	m.Type, m.Proto, m.NumPorts = typ, proto, 1
	if i := bytes.IndexByte(portTok, '/'); i >= 0 {
		n, ok := parseUint(portTok[i+1:], 0xffff)
		if !ok || n == 0 {
			return ErrBadMedia
		}
		m.NumPorts, portTok = uint16(n), portTok[:i]
	}
	port, ok := parseUint(portTok, 0xffff)
	if !ok {
		return ErrBadMedia
	}
	m.Port = uint16(port)
	m.FormatText = trimLeft(v)
	m.rtp = isRTP(proto)
	if !m.rtp {
		return nil
	}
	// RFC 3551 §3: an RTP format is a payload type number, 0-127. A rejected
	// stream may list the offer's formats or, against RFC 3264 §6, none.
	for {
		f, rest := field(v)
		if f == nil {
			return nil
		}
		v = rest
		pt, ok := parseUint(f, 127)
		if !ok {
			return ErrBadMedia
		}
		if m.NumFormats == MaxFormats {
			s.Truncated++
			continue
		}
		m.Formats[m.NumFormats] = uint8(pt)
		m.NumFormats++
	}
}

// parseAttr reads one a= line. m is nil at session level, where only the
// direction attributes matter: rtpmap, rtcp, rtcp-mux and ptime are media
// attributes.
func parseAttr(v []byte, s *Session, m *Media) error {
	name, val, hasVal := cut(v, ':')
	if !hasVal {
		d := DirUnspecified
		switch string(name) {
		case "sendrecv":
			d = SendRecv
		case "sendonly":
			d = SendOnly
		case "recvonly":
			d = RecvOnly
		case "inactive":
			d = Inactive
		case "rtcp-mux", "rtcp-mux-only":
			if m != nil {
				m.RTCPMux = true
			}
			return nil
		default:
			return nil
		}
		if m != nil {
			m.Direction = d
		} else {
			s.Direction = d
		}
		return nil
	}
	if m == nil {
		return nil
	}
	switch string(name) {
	case "rtpmap":
		return parseRTPMap(val, m, s)
	case "rtcp":
		// RFC 3605 §2.1: a=rtcp:<port> [<nettype> <addrtype> <address>].
		p, rest := field(val)
		port, ok := parseUint(p, 0xffff)
		if !ok || port == 0 {
			return ErrBadRTCP
		}
		m.RTCPPort = uint16(port)
		if rest = trimLeft(rest); len(rest) > 0 && !parseConn(rest, &m.RTCPConn) {
			return ErrBadRTCP
		}
	case "ptime":
		// Informational for the mapping, so an unreadable value is
		// ignored rather than costing the whole description.
		m.Ptime = parsePtime(val)
	}
	return nil
}

// parseRTPMap reads <payload type> <encoding name>/<clock rate>[/<encoding
// parameters>] (RFC 8866 §6.6). The first rtpmap for a type wins.
func parseRTPMap(v []byte, m *Media, s *Session) error {
	p, v := field(v)
	enc, v := field(v)
	if enc == nil {
		return ErrBadRTPMap
	}
	if x, _ := field(v); x != nil {
		return ErrBadRTPMap
	}
	pt, ok := parseUint(p, 127)
	if !ok {
		return ErrBadRTPMap
	}
	name, rest, ok := cut(enc, '/')
	if !ok || len(name) == 0 {
		return ErrBadRTPMap
	}
	clockTok, params, _ := cut(rest, '/')
	clock, ok := parseUint(clockTok, 1<<32-1)
	if !ok || clock == 0 {
		return ErrBadRTPMap
	}
	r := RTPMap{PT: uint8(pt), Name: name, Clock: uint32(clock)}
	// For audio the parameter is the channel count; other media may use
	// it otherwise, so a non-number is not an error, just not channels.
	if ch, ok := parseUint(params, 255); ok {
		r.Channels = uint8(ch)
	}
	for i := range m.RTPMaps[:m.NumRTPMaps] {
		if m.RTPMaps[i].PT == r.PT {
			return nil
		}
	}
	if m.NumRTPMaps == MaxFormats {
		s.Truncated++
		return nil
	}
	m.RTPMaps[m.NumRTPMaps] = r
	m.NumRTPMaps++
	return nil
}

// parsePtime reads a packet time in milliseconds, possibly fractional
// (RFC 8866 §9: non-zero-int-or-real), to microsecond precision; 0 if it
// is not one.
func parsePtime(v []byte) time.Duration {
	intPart, frac, _ := cut(v, '.')
	ms, ok := parseUint(intPart, 1<<20)
	if !ok {
		return 0
	}
	us := ms * 1000
	scale := uint64(100)
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0
		}
		us += uint64(c-'0') * scale
		scale /= 10
	}
	return time.Duration(us) * time.Microsecond
}

// isRTP reports whether a proto has an RTP component (RFC 8866 §5.14, RFC
// 5764 §8 for UDP/TLS/RTP/SAVP, RFC 4571 for TCP/RTP/AVP).
func isRTP(proto []byte) bool {
	for len(proto) > 0 {
		var part []byte
		part, proto, _ = cut(proto, '/')
		if bytes.EqualFold(part, []byte("RTP")) {
			return true
		}
	}
	return false
}

// cut is bytes.Cut for a one-byte separator, without its call to Index.
func cut(b []byte, sep byte) (before, after []byte, found bool) {
	if i := bytes.IndexByte(b, sep); i >= 0 {
		return b[:i], b[i+1:], true
	}
	return b, nil, false
}

// parseUint parses a decimal number of at most max, digits only.
func parseUint(b []byte, max uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n <= max
}

// field returns the first space- or tab-separated field of b and the rest;
// nil when there is none. RFC 8866 asks for single spaces; runs are accepted.
func field(b []byte) (f, rest []byte) {
	b = trimLeft(b)
	for i, c := range b {
		if c == ' ' || c == '\t' {
			return b[:i], b[i:]
		}
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

func trimLeft(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// trimRight drops the CR of a CRLF line end and any trailing white space.
func trimRight(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case ' ', '\t', '\r':
			b = b[:len(b)-1]
			continue
		}
		break
	}
	return b
}
