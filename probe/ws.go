package probe

import (
	"github.com/trunkscope/trunkscope/probe/internal/ascii"

	"bytes"
	"encoding/binary"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/sipscan"
)

// SIP over WebSocket (RFC 7118). A browser or softphone opens a TCP
// connection (usually to port 80, 443 or 8080), sends an HTTP GET asking to
// upgrade to WebSocket with the subprotocol "sip" (RFC 7118 §4, RFC 6455
// §4.1), and after the server's "101 Switching Protocols" both directions
// carry WebSocket frames (RFC 6455 §5). Each SIP message is one WebSocket
// message, in a text or binary frame or split over continuation frames
// (RFC 7118 §5.1); frames from the client are masked (RFC 6455 §5.3).
//
// The probe recognises the upgrade on the flow's first data, follows the
// frames on both directions (the server's once its 101 is seen), unmasks
// data frames and hands each message to the same path as a UDP datagram,
// as event.TransportWS. It never frames WebSocket bytes as SIP, so none of
// them counts as malformed SIP. Over TLS (wss), which is the common
// deployment, the probe sees nothing it can read; that is what HEP from the
// SIP server is for.

// isWSUpgrade reports whether b starts with a whole HTTP request header
// section that upgrades the connection to WebSocket for SIP.
func isWSUpgrade(b []byte) bool {
	_, ok := wsUpgradeLen(b)
	return ok
}

// wsUpgradeLen returns the length of the header section of an HTTP GET at
// the start of b that asks for "Upgrade: websocket" (RFC 6455 §4.1, the
// token is case-insensitive) with "sip" among its Sec-WebSocket-Protocol
// values (RFC 7118 §4: the subprotocol name). An upgrade for any other
// subprotocol is not SIP's to follow. The section must end in b: the
// request is a few hundred bytes, always in the connection's first segment.
func wsUpgradeLen(b []byte) (int, bool) {
	if !bytes.HasPrefix(b, []byte("GET ")) {
		return 0, false
	}
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return 0, false
	}
	upgrade, sip := false, false
	for rest := b[:end+2]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		line := bytes.TrimRight(rest[:i], "\r")
		rest = rest[i+1:]
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue // the request line
		}
		switch {
		case ascii.EqualFold(bytes.TrimSpace(name), "upgrade"):
			upgrade = upgrade || hasToken(value, "websocket")
		case ascii.EqualFold(bytes.TrimSpace(name), "sec-websocket-protocol"):
			sip = sip || hasToken(value, "sip")
		}
	}
	return end + 4, upgrade && sip
}

// isWSAccept reports whether b starts with a 101 Switching Protocols
// response (RFC 6455 §4.2.2).
func isWSAccept(b []byte) bool {
	return len(b) >= 13 && ascii.EqualFold(b[:5], "http/") && string(b[8:13]) == " 101 " &&
		bytes.Contains(b, []byte("\r\n\r\n"))
}

// handshake recognises the WebSocket opening handshake on a flow that has
// not carried SIP yet: the client's upgrade request, or the server's 101
// answer to one seen on the reverse flow. It returns the length of the
// HTTP header section, after which the flow carries frames.
func (t *tcpFlows) handshake(p *Probe, f *flow, b []byte) (int, bool) {
	if len(b) == 0 || b[0] != 'G' && b[0] != 'H' && b[0] != 'h' {
		return 0, false
	}
	if n, ok := wsUpgradeLen(b); ok {
		p.stats.WebSocketFlows++
		return n, true
	}
	if !isWSAccept(b) {
		return 0, false
	}
	if r := t.flows[flowKey{f.key.dst, f.key.src}]; r == nil || !r.ws {
		return 0, false
	}
	return bytes.Index(b, []byte("\r\n\r\n")) + 4, true
}

// wsHeader is a WebSocket frame header (RFC 6455 §5.2).
type wsHeader struct {
	fin         bool
	rsv, opcode byte
	masked      bool
	key         [4]byte
	length      uint64
}

// WebSocket opcodes (RFC 6455 §11.8).
const (
	wsContinuation = 0
	wsText         = 1
	wsBinary       = 2
	wsClose        = 8
	wsPong         = 10
)

// parseWSHeader parses the frame header at the start of b. It returns the
// header's length, 0 when b holds only part of it, or -1 when it is not a
// frame header a peer may send (a 64-bit length with its top bit set, or a
// control frame longer than 125 bytes or fragmented, RFC 6455 §5.5).
func parseWSHeader(b []byte) (h wsHeader, n int) {
	if len(b) < 2 {
		return h, 0
	}
	h.fin, h.rsv, h.opcode = b[0]&0x80 != 0, b[0]>>4&7, b[0]&0x0f
	h.masked = b[1]&0x80 != 0
	h.length, n = uint64(b[1]&0x7f), 2
	switch h.length {
	case 126:
		if len(b) < 4 {
			return h, 0
		}
		h.length, n = uint64(binary.BigEndian.Uint16(b[2:4])), 4
	case 127:
		if len(b) < 10 {
			return h, 0
		}
		h.length, n = binary.BigEndian.Uint64(b[2:10]), 10
		if h.length>>63 != 0 {
			return h, -1
		}
	}
	if h.opcode >= wsClose && (h.length > 125 || !h.fin) {
		return h, -1
	}
	if h.masked {
		if len(b) < n+4 {
			return h, 0
		}
		copy(h.key[:], b[n:n+4])
		n += 4
	}
	return h, n
}

// unmask returns a frame's payload in the clear: payload itself when the
// frame is not masked, else a copy unmasked into the probe's scratch (the
// capture buffer is the caller's and stays untouched), valid until the
// next call.
func (p *Probe) unmask(h *wsHeader, payload []byte) []byte {
	if !h.masked {
		return payload
	}
	p.ws = append(p.ws[:0], payload...)
	maskBytes(p.ws, h.key, 0)
	return p.ws
}

// maskBytes XORs b with the masking key, starting at key offset i (RFC 6455
// §5.3: octet i of the payload is XORed with octet i mod 4 of the key).
func maskBytes(b []byte, key [4]byte, i int) {
	for j := range b {
		b[j] ^= key[(i+j)&3]
	}
}

// wsStart reports whether b starts with a whole text or binary frame whose
// payload starts with a SIP start line: where a WebSocket flow picked up in
// the middle, or after a gap, can start framing.
func (p *Probe) wsStart(b []byte) bool {
	if len(b) < 2 || b[0] != 0x80|wsText && b[0] != 0x80|wsBinary && b[0] != wsText && b[0] != wsBinary {
		return false
	}
	h, n := parseWSHeader(b)
	if n <= 0 || h.length > uint64(len(b)-n) {
		return false
	}
	// A start line fits in the first kilobyte; unmask no more than that.
	head := b[n : n+int(min(h.length, 1024))]
	if h.masked {
		p.ws = append(p.ws[:0], head...)
		maskBytes(p.ws, h.key, 0)
		head = p.ws
	}
	return sipscan.LooksLikeSIP(head)
}

// wsFrames handles every complete frame at the start of b and returns how
// many bytes they took. A header no peer may send loses the flow its place.
func (t *tcpFlows) wsFrames(p *Probe, f *flow, b []byte, tsUS int64, sink Sink) (int, error) {
	var first error
	off := 0
	for off < len(b) {
		h, n := parseWSHeader(b[off:])
		if n == 0 {
			break
		}
		if n < 0 || h.length > uint64(t.maxBuf) {
			// A header no peer may send, or a frame larger than a flow
			// may buffer: its end cannot be found, so neither can the
			// next frame's start.
			if n < 0 {
				p.stats.WebSocketUnsupported++
			} else {
				p.stats.TCPOverflows++
			}
			f.synced = false
			return len(b), first
		}
		end := off + n + int(h.length)
		if end > len(b) {
			break
		}
		payload := b[off+n : end]
		off = end
		p.stats.WebSocketFrames++
		if err := t.wsFrame(p, f, &h, payload, tsUS, sink); err != nil && first == nil {
			first = err
		}
	}
	return off, first
}

// wsFrame handles one frame: a whole data message goes to the SIP path, a
// fragment is assembled, control frames carry nothing for SIP.
func (t *tcpFlows) wsFrame(p *Probe, f *flow, h *wsHeader, payload []byte, tsUS int64, sink Sink) error {
	switch {
	case h.rsv != 0:
		// An extension's data, permessage-deflate above all (RFC 7692
		// sets RSV1 on a compressed message's first frame): not readable
		// here. Its continuation frames find no message open and are
		// skipped with it.
		p.stats.WebSocketUnsupported++
		f.wsFrag = false
		f.wsMsg = f.wsMsg[:0]
	case h.opcode == wsText || h.opcode == wsBinary:
		// A new message abandons an unfinished one (RFC 6455 §5.4 forbids
		// interleaving them).
		f.wsFrag = false
		f.wsMsg = f.wsMsg[:0]
		if h.fin {
			return p.datagram(tsUS, f.key.src, f.key.dst, event.TransportWS, p.unmask(h, payload), nil, sink)
		}
		f.wsMsg = appendUnmasked(f.wsMsg, h, payload)
		f.wsFrag = true
	case h.opcode == wsContinuation:
		if !f.wsFrag {
			return nil
		}
		if len(f.wsMsg)+len(payload) > t.maxBuf {
			p.stats.TCPOverflows++
			f.wsFrag = false
			f.wsMsg = f.wsMsg[:0]
			return nil
		}
		f.wsMsg = appendUnmasked(f.wsMsg, h, payload)
		if h.fin {
			msg := f.wsMsg
			f.wsFrag = false
			f.wsMsg = f.wsMsg[:0] // the bytes stay valid until the next frame
			return p.datagram(tsUS, f.key.src, f.key.dst, event.TransportWS, msg, nil, sink)
		}
	case h.opcode >= wsClose && h.opcode <= wsPong:
		// Close, ping, pong.
	default:
		p.stats.WebSocketUnsupported++ // reserved opcodes 3-7, 11-15
	}
	return nil
}

func appendUnmasked(dst []byte, h *wsHeader, payload []byte) []byte {
	n := len(dst)
	dst = append(dst, payload...)
	if h.masked {
		maskBytes(dst[n:], h.key, 0)
	}
	return dst
}

// hasToken reports whether the comma-separated header value v lists token
// (case-insensitively).
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		item, rest, _ := bytes.Cut(v, []byte(","))
		if ascii.EqualFold(bytes.TrimSpace(item), token) {
			return true
		}
		v = rest
	}
	return false
}
