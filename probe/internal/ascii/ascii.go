// Package ascii compares protocol tokens case-insensitively. SIP header
// names, SDP and RTP encoding names and HTTP upgrade tokens are ASCII
// (RFC 3261 §7.3.1, RFC 4855 §3, RFC 7230 §3.2), so these skip the Unicode
// tables of strings.EqualFold and work on strings and byte slices alike,
// allocating nothing.
package ascii

// EqualFold reports whether a and b are equal, ASCII letters compared
// without regard to case.
func EqualFold[A, B ~string | ~[]byte](a A, b B) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// HasPrefixFold reports whether b begins with prefix, ignoring ASCII case.
func HasPrefixFold[A, B ~string | ~[]byte](b A, prefix B) bool {
	return len(b) >= len(prefix) && EqualFold(b[:len(prefix)], prefix)
}
