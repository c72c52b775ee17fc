package probe

import "encoding/binary"

// rtpLike reports whether a UDP payload plausibly is RTP (RFC 3550 §5.1):
// version 2, a payload type that is assigned statically (0-34) or dynamic
// (96-127), and CSRC list, header extension and padding that fit. It is a
// classifier for counting media apart from junk until stream analysis
// exists, not a validator: SIP (first byte a letter, version bits 01) never
// passes it.
func rtpLike(srcPort, dstPort uint16, b []byte) bool {
	// Media runs between unprivileged ports (RFC 3550 §11 and SDP
	// practice); below 1024 live DNS, NetBIOS, DHCP and such, whose first
	// bytes pass the header checks often enough to matter.
	if srcPort < 1024 || dstPort < 1024 || len(b) < 12 || b[0]>>6 != 2 {
		return false
	}
	if pt := b[1] & 0x7f; pt > 34 && pt < 96 {
		return false // unassigned; 72-76 is where RTCP's 200-204 fall (RFC 5761 §4)
	}
	n := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // header extension: profile u16, length u16 in words
		if len(b) < n+4 {
			return false
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(b[n+2:n+4]))
	}
	if n > len(b) {
		return false
	}
	if b[0]&0x20 != 0 { // padding: the last octet counts the padding octets
		if pad := int(b[len(b)-1]); pad == 0 || n+pad > len(b) {
			return false
		}
	}
	return true
}

// rtcpLike reports whether a UDP payload plausibly starts with an RTCP packet
// (RFC 3550 §6.4): version 2, a packet type from SR (200) to XR (207, RFC
// 3611), and a length that fits.
func rtcpLike(srcPort, dstPort uint16, b []byte) bool {
	if srcPort < 1024 || dstPort < 1024 || len(b) < 8 || b[0]>>6 != 2 || b[1] < 200 || b[1] > 207 {
		return false
	}
	return (int(binary.BigEndian.Uint16(b[2:4]))+1)*4 <= len(b)
}
