package sipscan

// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
// (RFC 3261 §25.1) as two 64-bit masks over ASCII: constant, so the table is
// neither package state nor a memory load on the hot path.
const (
	tokenLo uint64 = 0x03ff6ca200000000 // bytes 0-63
	tokenHi uint64 = 0x47ffffff87fffffe // bytes 64-127
)

func isToken(c byte) bool {
	if c < 64 {
		return tokenLo>>c&1 != 0
	}
	if c < 128 {
		return tokenHi>>(c-64)&1 != 0
	}
	return false
}

// isLWS covers folded whitespace: inside one header field a CR or LF can only
// be part of a fold, so it counts as space.
func isLWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func skipLWS(b []byte, i int) int {
	for i < len(b) && isLWS(b[i]) {
		i++
	}
	return i
}

func trimLWS(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && isLWS(b[i]) {
		i++
	}
	for j > i && isLWS(b[j-1]) {
		j--
	}
	return b[i:j]
}

func trimRightWS(b []byte) []byte {
	j := len(b)
	for j > 0 && (b[j-1] == ' ' || b[j-1] == '\t') {
		j--
	}
	return b[:j]
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// isCTL reports ASCII control characters other than HTAB.
func isCTL(c byte) bool { return (c < ' ' && c != '\t') || c == 0x7f }
