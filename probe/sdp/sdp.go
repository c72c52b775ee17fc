// Package sdp scans the parts of a session description (RFC 8866, formerly
// RFC 4566) that a passive monitor needs to tie media packets to a call:
// where each stream is received (c=, m=, a=rtcp of RFC 3605, a=rtcp-mux of
// RFC 5761), which codec each RTP payload type carries (a=rtpmap, and the
// static payload types of RFC 3551), and whether a stream is held or
// disabled (direction attributes and port 0, RFC 3264 §5.1, §8.2 and §8.4).
//
// It allocates nothing: Parse fills a Session the caller owns and reuses,
// whose byte slices alias the parsed body. Sizes are fixed (MaxMedia
// sections of MaxFormats formats each); what does not fit is counted in
// Session.Truncated rather than rejected, because a monitor wants the first
// streams of a large offer more than it wants an error.
//
// It is a scanner, not a validator. Lines it does not need (s=, t=, b=, k=,
// a=fmtp, a=candidate, ...) are skipped unparsed, and it accepts bare LF line
// ends, trailing white space and blank lines. It rejects what would make the
// media mapping wrong: a body that does not start with v=0, lines that are
// not <type>=<value>, and c=, m=, a=rtpmap and a=rtcp values it cannot read.
package sdp

import (
	"net/netip"
	"time"
)

// Capacities of a Session. Audio calls on trunks carry one or two m= lines of
// a handful of formats; WebRTC offers with dozens of video formats are cut.
const (
	MaxMedia   = 4  // m= sections kept per Session
	MaxFormats = 16 // formats and rtpmaps kept per m= section
)

// Direction is a stream's direction attribute (RFC 8866 §6.7, RFC 3264 §5.1),
// from the point of view of the party whose description it is.
type Direction uint8

const (
	// DirUnspecified means no direction attribute; Parse resolves it, so
	// it never appears in a parsed Session.
	DirUnspecified Direction = iota
	SendRecv
	SendOnly
	RecvOnly
	Inactive
)

func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return "unspecified"
}

// Sends reports whether the party sends media in this direction.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether the party expects to receive media.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

// Session is one parsed description. Its slices alias the parsed bytes and
// are valid only while those are unmodified. Parse overwrites every field, so
// one Session can be reused for every body.
type Session struct {
	// Origin is the o= line (RFC 8866 §5.2). Its fields other than
	// SessVersion stay the same across a party's re-offers in a dialog
	// (RFC 3264 §8), which identifies the party. All nil when o= is absent
	// or has not six fields: it is not needed to map media, so a broken
	// one is not a reason to lose the rest.
	Origin Origin
	// Conn is the session-level c= line.
	Conn Connection
	// Direction is the session-level direction attribute, SendRecv when
	// absent (RFC 8866 §6.7: sendrecv is the default).
	Direction Direction
	// Media holds the first NumMedia m= sections, in order: an m= line's
	// position is what pairs an offer's stream with the answer's (RFC 3264
	// §6).
	Media    [MaxMedia]Media
	NumMedia int
	// Truncated counts the m= sections, formats and rtpmaps that did not
	// fit. The attributes of a dropped m= section are skipped with it.
	Truncated int
}

// Origin holds the o= fields (RFC 8866 §5.2).
type Origin struct {
	Username, SessID, SessVersion, NetType, AddrType, Address []byte
}

// Connection is a c= line or the address of an a=rtcp attribute.
type Connection struct {
	// Addr is the connection address when it is an IP literal. It is
	// invalid for an FQDN (RFC 8866 §5.7 allows one; a passive monitor
	// cannot resolve it as the endpoints did) and for a network type other
	// than IN.
	Addr netip.Addr
	// Raw is the connection-address field as written, with any multicast
	// /ttl and /count suffix; nil when there was no such line.
	Raw []byte
}

// Present reports whether the line was there at all.
func (c *Connection) Present() bool { return c.Raw != nil }

// Hold reports whether the address is the unspecified address: "c=IN IP4
// 0.0.0.0" is RFC 2543's way to put a stream on hold, still received and
// honoured (RFC 3264 §8.4: send neither RTP nor RTCP to the peer). "::" is
// treated the same; RFC 3264 defines no IPv6 form, but stacks send it.
func (c *Connection) Hold() bool { return c.Addr.IsUnspecified() }

// Media is one m= section with its attributes.
type Media struct {
	// Type is the media type: audio, video, image (T.38), text,
	// application, message.
	Type []byte
	// Port is the transport port; 0 marks a rejected or disabled stream
	// (RFC 3264 §6 and §8.2).
	Port uint16
	// NumPorts is the /<number of ports> of m=, 1 when absent (RFC 8866
	// §5.14): with RTP, ports Port, Port+2, ... each with RTCP above.
	NumPorts uint16
	// Proto is the transport protocol: RTP/AVP, RTP/SAVP, RTP/AVPF,
	// UDP/TLS/RTP/SAVPF, udptl, TCP/MRSP, ...
	Proto []byte
	// Formats are the payload type numbers of an RTP stream, in order of
	// preference (RFC 3264 §5.1); empty for other protocols, whose formats
	// are not numbers (see FormatText).
	Formats    [MaxFormats]uint8
	NumFormats int
	// FormatText is the m= line's format list as written.
	FormatText []byte
	// Conn is the media-level c= line, or the session-level one when the
	// section has none (RFC 8866 §5.7).
	Conn Connection
	// RTCPPort is a=rtcp's port (RFC 3605), 0 when absent: RTCP then goes
	// to Port+1 (RFC 3550 §11), or to Port itself with rtcp-mux.
	RTCPPort uint16
	// RTCPConn is a=rtcp's address when it gives one; not Present
	// otherwise, and RTCP goes to Conn's address.
	RTCPConn Connection
	// RTCPMux is set by a=rtcp-mux (RFC 5761 §5.1.1) or a=rtcp-mux-only
	// (RFC 8858). In an offer it is a proposal: RTCP is multiplexed only if
	// the answer carries it too.
	RTCPMux bool
	// Direction is the section's direction attribute, else the session's.
	Direction Direction
	// Ptime is a=ptime (RFC 8866 §6.4), 0 when absent or unreadable.
	Ptime time.Duration
	// RTPMaps are the section's a=rtpmap attributes in order.
	RTPMaps    [MaxFormats]RTPMap
	NumRTPMaps int

	rtp bool // Proto is RTP, worked out once
}

// RTPMap maps a payload type to an encoding (RFC 8866 §6.6), from an
// a=rtpmap attribute or the static table of RFC 3551.
type RTPMap struct {
	PT uint8
	// Name is the encoding name as written (PCMU, opus, telephone-event);
	// encoding names are case-insensitive (RFC 4855 §3).
	Name []byte
	// Clock is the RTP clock rate in Hz: the unit of RTP timestamps, not
	// necessarily the sampling rate (G.722 samples at 16 kHz but its RTP
	// clock is 8000, RFC 3551 §4.5.2).
	Clock uint32
	// Channels is the encoding parameter of an audio format, 0 when not
	// given, which means one channel (RFC 8866 §6.6).
	Channels uint8
}

// IsRTP reports whether the section's transport is RTP: any proto with an
// RTP component (RTP/AVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF, TCP/RTP/AVP, ...).
func (m *Media) IsRTP() bool { return m.rtp }

// Disabled reports whether the stream is rejected or disabled (port 0).
func (m *Media) Disabled() bool { return m.Port == 0 }

// OnHold reports whether the party's description holds the stream: it will
// not receive media, having marked it sendonly or inactive (RFC 3264 §8.4),
// or given the connection address 0.0.0.0 (the older form, RFC 2543).
func (m *Media) OnHold() bool {
	return m.Direction == SendOnly || m.Direction == Inactive || m.Conn.Hold()
}

// Format returns the encoding of payload type pt: the section's a=rtpmap
// for it, else the static assignment of RFC 3551 for payload types 0-34.
// Dynamic types (96-127) need an rtpmap (RFC 3551 §3).
func (m *Media) Format(pt uint8) (RTPMap, bool) {
	for i := range m.RTPMaps[:m.NumRTPMaps] {
		if m.RTPMaps[i].PT == pt {
			return m.RTPMaps[i], true
		}
	}
	return StaticFormat(pt)
}

// Codec returns the encoding name and RTP clock rate of payload type pt, as
// Format finds them. The name aliases the parsed body or the static table;
// do not modify it.
func (m *Media) Codec(pt uint8) (name []byte, clock uint32, ok bool) {
	f, ok := m.Format(pt)
	return f.Name, f.Clock, ok
}
