package collector

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/trunkscope/trunkscope/probe/sdp"
)

// Reason is the Reason header (RFC 3326) of the message that ended a leg:
// protocol "SIP" with a SIP status, or "Q.850" with an ISDN cause (16 normal
// clearing, 17 busy, 31 normal unspecified, 34 no circuit, ...).
type Reason struct {
	Protocol string
	Cause    uint16
	Text     string
}

// parseReason finds the first Reason header in a raw SIP message's header
// section. It looks only at headers (never the body) and tolerates any
// case and LWS; a message without one gives the zero Reason.
func parseReason(raw []byte) Reason {
	if v := headerValue(raw, "Reason", ""); v != nil {
		return reasonValue(v)
	}
	return Reason{}
}

// headerValue returns the value of the first header named name (or its
// compact form, "" for none) in a raw SIP message's header section.
func headerValue(raw []byte, name, compact string) []byte {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		raw = raw[:i]
	}
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		n, v, ok := bytes.Cut(line, []byte(":"))
		n = bytes.TrimSpace(n)
		if ok && (bytes.EqualFold(n, []byte(name)) || (compact != "" && bytes.EqualFold(n, []byte(compact)))) {
			return bytes.TrimSpace(v)
		}
	}
	return nil
}

// sessionExpires reads the Session-Expires interval (RFC 4028 §4, compact
// form x) in seconds; 0 when absent or unreadable.
func sessionExpires(raw []byte) int64 {
	v := headerValue(raw, "Session-Expires", "x")
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// reasonValue parses `protocol *(; param)`; of several comma-separated
// values (one per protocol) the first is kept.
func reasonValue(v []byte) Reason {
	if i := bytes.IndexByte(v, ','); i >= 0 && bytes.IndexByte(v[:i], '"') < 0 {
		v = v[:i]
	}
	parts := bytes.Split(v, []byte(";"))
	r := Reason{Protocol: string(bytes.TrimSpace(parts[0]))}
	for _, p := range parts[1:] {
		k, val, _ := bytes.Cut(p, []byte("="))
		switch string(bytes.ToLower(bytes.TrimSpace(k))) {
		case "cause":
			if n, err := strconv.ParseUint(string(bytes.TrimSpace(val)), 10, 16); err == nil {
				r.Cause = uint16(n)
			}
		case "text":
			r.Text = string(bytes.Trim(bytes.TrimSpace(val), `"`))
		}
	}
	return r
}

// sdpCodecs lists the codecs of the first audio stream of a message's SDP
// body ("PCMA,telephone-event"), in the order offered; "" without SDP.
func sdpCodecs(raw []byte, s *sdp.Session) string {
	i := bytes.Index(raw, []byte("\r\n\r\n"))
	if i < 0 {
		return ""
	}
	body := raw[i+4:]
	if !bytes.HasPrefix(body, []byte("v=0")) {
		return ""
	}
	if err := sdp.Parse(body, s); err != nil {
		return ""
	}
	for m := 0; m < s.NumMedia; m++ {
		md := &s.Media[m]
		if string(md.Type) != "audio" || md.Port == 0 {
			continue
		}
		var names []string
		for f := 0; f < md.NumFormats; f++ {
			if name, _, ok := md.Codec(md.Formats[f]); ok {
				names = append(names, string(name))
			} else {
				names = append(names, strconv.Itoa(int(md.Formats[f])))
			}
		}
		return strings.Join(names, ",")
	}
	return ""
}
