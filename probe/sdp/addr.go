package sdp

import "net/netip"

// parseAddr parses an IPv4 or IPv6 literal the way netip.ParseAddr does
// (dotted quads without leading zeros; RFC 4291 §2.2 text forms, with an
// embedded IPv4 tail), minus zones, which SDP's grammar has no place for
// (RFC 8866 §9). It exists because netip.ParseAddr takes a string, and
// converting the body's bytes, or the error it returns for a bad literal,
// would allocate on every description.
func parseAddr(b []byte) (netip.Addr, bool) {
	for _, c := range b {
		switch c {
		case '.':
			var a [4]byte
			if !parseIPv4(b, a[:]) {
				return netip.Addr{}, false
			}
			return netip.AddrFrom4(a), true
		case ':':
			return parseIPv6(b)
		}
	}
	return netip.Addr{}, false
}

// parseIPv4 parses a dotted quad into dst[:4].
func parseIPv4(b []byte, dst []byte) bool {
	var val, digits, field int
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && val == 0 {
				return false // leading zero: octal to some parsers, so ambiguous
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return false
			}
		case c == '.':
			if digits == 0 || field == 3 {
				return false
			}
			dst[field] = byte(val)
			field++
			val, digits = 0, 0
		default:
			return false
		}
	}
	if field != 3 || digits == 0 {
		return false
	}
	dst[3] = byte(val)
	return true
}

// parseIPv6 follows netip's parseIPv6.
func parseIPv6(s []byte) (netip.Addr, bool) {
	var ip [16]byte
	ellipsis := -1 // position of "::" in ip, in bytes
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		s = s[2:]
		if len(s) == 0 {
			return netip.IPv6Unspecified(), true
		}
	}
	i := 0
	for i < 16 {
		off, acc := 0, uint32(0)
	group:
		for ; off < len(s); off++ {
			c := s[off]
			switch {
			case c >= '0' && c <= '9':
				acc = acc<<4 + uint32(c-'0')
			case c >= 'a' && c <= 'f':
				acc = acc<<4 + uint32(c-'a'+10)
			case c >= 'A' && c <= 'F':
				acc = acc<<4 + uint32(c-'A'+10)
			default:
				break group
			}
			if off > 3 {
				return netip.Addr{}, false // more than four hex digits
			}
		}
		if off == 0 {
			return netip.Addr{}, false // empty group
		}
		if off < len(s) && s[off] == '.' {
			// An embedded IPv4 address takes the last 32 bits.
			if (ellipsis < 0 && i != 12) || i+4 > 16 {
				return netip.Addr{}, false
			}
			if !parseIPv4(s, ip[i:i+4]) {
				return netip.Addr{}, false
			}
			s = nil
			i += 4
			break
		}
		ip[i], ip[i+1] = byte(acc>>8), byte(acc)
		i += 2
		s = s[off:]
		if len(s) == 0 {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return netip.Addr{}, false
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false // a second "::"
			}
			ellipsis = i
			s = s[1:]
			if len(s) == 0 {
				break
			}
		}
	}
	if len(s) != 0 {
		return netip.Addr{}, false
	}
	if i < 16 {
		if ellipsis < 0 {
			return netip.Addr{}, false
		}
		n := 16 - i
		for j := i - 1; j >= ellipsis; j-- {
			ip[j+n] = ip[j]
		}
		clear(ip[ellipsis : ellipsis+n])
	} else if ellipsis >= 0 {
		return netip.Addr{}, false // "::" must stand for at least one group
	}
	return netip.AddrFrom16(ip), true
}
