package sipscan

// KeepAlive returns the number of CR and LF bytes at the start of b. On a
// stream these are RFC 5626 §3.5.1 keep-alives (a double-CRLF ping, a CRLF
// pong) or the stray CRLFs that RFC 3261 §7.5 says to ignore before a start
// line; a stream reader drops them before calling Frame.
func KeepAlive(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// Frame delimits the first SIP message of a stream (RFC 3261 §18.3: the
// header section, then Content-Length bytes of body; an absent
// Content-Length counts as zero). It returns the message's length, 0 with a
// nil error when b holds only a prefix of it, or an error when b cannot be
// the start of a SIP message: ErrNotSIP (also when b starts with CR or LF:
// call KeepAlive first), ErrHeaderTooLong or ErrBadContentLength. A message
// that can be delimited but is otherwise malformed (no Call-ID, say) is
// returned by length, so the reader keeps its place and Scan reports it.
func Frame(b []byte) (n int, err error) {
	if len(b) == 0 {
		return 0, nil
	}
	var m Msg
	_, hard := m.parse(b)
	switch hard {
	case nil:
	case ErrTruncated, errNoLine:
		return 0, nil
	default:
		return 0, hard
	}
	if n = m.Len(); n > len(b) {
		return 0, nil
	}
	return n, nil
}
