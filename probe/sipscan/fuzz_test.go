package sipscan

import (
	"testing"
	"unsafe"
)

// fuzzSeeds are added in code as well as committed under testdata/fuzz, so a
// plain `go test` exercises them even where the corpus directory is absent.
func fuzzSeeds(f *testing.F) {
	for _, tc := range scanCases() {
		if len(tc.in) < 4096 {
			f.Add(tc.in)
		}
	}
	f.Add(invite)
	f.Add(crlf("SIP/2.0 200 OK", "i: a@b", "CSeq: 1 INVITE", "l: 3", "", "abc"))
	f.Add(crlf("INVITE sip:x SIP/2.0", "TO :", " <sip:y>;tag = 1", "cseq: 1", " INVITE", "Call-ID: c", "", ""))
	f.Add([]byte("\r\n\r\n"))
	f.Add([]byte{0x80, 0x08, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4})
}

// within reports whether s is empty or lies inside b: Msg slices must alias
// the input, never point elsewhere.
func within(s, b []byte) bool {
	if len(s) == 0 {
		return true
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.SliceData(s))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= lo && p+uintptr(len(s)) <= lo+uintptr(len(b))
}

func FuzzScan(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Msg
		err := Scan(b, &m)
		if err != nil {
			if ReasonOf(err) == ReasonNone {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		if m.HeaderLen <= 0 || m.HeaderLen > len(b) || m.HeaderLen > MaxHeaderLen || m.Len() > len(b) {
			t.Fatalf("HeaderLen %d, Len %d for %d bytes", m.HeaderLen, m.Len(), len(b))
		}
		if len(m.CallID) == 0 || len(m.CSeqMethod) == 0 {
			t.Fatalf("accepted without Call-ID or CSeq method: %+v", m)
		}
		if m.IsRequest == (m.Status != 0) || (!m.IsRequest && (m.Status < 100 || m.Status > 699)) {
			t.Fatalf("IsRequest %v with status %d", m.IsRequest, m.Status)
		}
		for _, s := range [][]byte{m.Method, m.RequestURI, m.CallID, m.CSeqMethod, m.FromTag, m.ToTag} {
			if !within(s, b[:m.HeaderLen]) {
				t.Fatalf("field %q does not alias the header section", s)
			}
		}
		// A message Scan accepts must frame to the same length.
		if n, err := Frame(b); err != nil || n != m.Len() {
			t.Fatalf("Frame = %d, %v; Scan found Len %d", n, err, m.Len())
		}
	})
}

func FuzzFrame(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := Frame(b)
		if err != nil {
			if n != 0 {
				t.Fatalf("Frame = %d with error %v", n, err)
			}
			switch err {
			case ErrNotSIP, ErrHeaderTooLong, ErrBadContentLength:
			default:
				t.Fatalf("unexpected framing error %v", err)
			}
			return
		}
		if n < 0 || n > len(b) {
			t.Fatalf("Frame = %d for %d bytes", n, len(b))
		}
		if n == 0 {
			return
		}
		// The message alone frames to itself, and none of its prefixes is
		// rejected or framed: a stream reader fed byte by byte must reach
		// the same boundary.
		if m, err := Frame(b[:n]); m != n || err != nil {
			t.Fatalf("Frame(first message) = %d, %v; want %d", m, err, n)
		}
		for _, k := range []int{1, n / 2, n - 1} {
			if k <= 0 || k >= n {
				continue
			}
			if m, err := Frame(b[:k]); m != 0 || err != nil {
				t.Fatalf("Frame(prefix %d of %d) = %d, %v; want 0, nil", k, n, m, err)
			}
		}
		// Scan may reject the message, but not for framing reasons.
		var msg Msg
		switch err := Scan(b[:n], &msg); err {
		case ErrNotSIP, ErrHeaderTooLong, ErrBadContentLength, ErrTruncated:
			t.Fatalf("framed message scans with %v", err)
		}
	})
}
