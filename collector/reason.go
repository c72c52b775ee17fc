package collector

import (
	"bytes"
	"strconv"
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
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(name), []byte("Reason")) {
			continue
		}
		return reasonValue(bytes.TrimSpace(value))
	}
	return Reason{}
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
