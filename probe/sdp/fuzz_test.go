package sdp

import (
	"reflect"
	"testing"
	"unsafe"
)

// fuzzSeeds are added in code as well as committed under testdata/fuzz, so a
// plain `go test` runs them even where the corpus directory is absent.
func fuzzSeeds(f *testing.F) {
	for _, tc := range parseCases() {
		f.Add(tc.in)
	}
	f.Add(crlf("v=0", "c=IN IP6 ::ffff:10.0.0.1/3", "m=audio 1/2 TCP/TLS/RTP/AVP 0", "a=rtcp:1 IN IP6 ::", "a=rtcp-mux", "a=ptime:0.125"))
	f.Add([]byte("v=0\nm=a 1 RTP/AVP\na=rtpmap:0 a/1/1\na=rtcp:65535\n"))
}

// within reports whether s is empty or lies inside b: Session slices must
// alias the input (or, for static names, the static table), never point
// anywhere else.
func within(s, b []byte) bool {
	if len(s) == 0 {
		return true
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.SliceData(s))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= lo && p+uintptr(len(s)) <= lo+uintptr(len(b))
}

// slices lists every byte slice a Session holds.
func slices(s *Session) [][]byte {
	o := &s.Origin
	out := [][]byte{o.Username, o.SessID, o.SessVersion, o.NetType, o.AddrType, o.Address, s.Conn.Raw}
	for i := range s.Media[:s.NumMedia] {
		m := &s.Media[i]
		out = append(out, m.Type, m.Proto, m.FormatText, m.Conn.Raw, m.RTCPConn.Raw)
		for _, r := range m.RTPMaps[:m.NumRTPMaps] {
			out = append(out, r.Name)
		}
	}
	return out
}

func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	var stale Session // reused across inputs: must not change any result
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Session
		err := Parse(b, &s)
		errStale := Parse(b, &stale)
		if err != errStale {
			t.Fatalf("err %v fresh, %v on a reused Session", err, errStale)
		}
		if err != nil {
			if r := ReasonOf(err); r == ReasonNone || r >= NumReasons {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		if !reflect.DeepEqual(s, stale) {
			t.Fatalf("reused Session differs:\n%s\nfresh:\n%s", summary(&stale), summary(&s))
		}
		if s.NumMedia < 0 || s.NumMedia > MaxMedia || s.Truncated < 0 || s.Direction == DirUnspecified {
			t.Fatalf("NumMedia %d, Truncated %d, Direction %v", s.NumMedia, s.Truncated, s.Direction)
		}
		for i := range s.Media[:s.NumMedia] {
			m := &s.Media[i]
			if m.NumFormats > MaxFormats || m.NumRTPMaps > MaxFormats || m.NumPorts == 0 || m.Direction == DirUnspecified || m.Ptime < 0 {
				t.Fatalf("media %d: %+v", i, m)
			}
			if m.NumFormats > 0 && !m.IsRTP() {
				t.Fatalf("media %d: formats for proto %q", i, m.Proto)
			}
			for _, pt := range m.Formats[:m.NumFormats] {
				if pt > 127 {
					t.Fatalf("payload type %d", pt)
				}
			}
			for _, r := range m.RTPMaps[:m.NumRTPMaps] {
				if r.PT > 127 || r.Clock == 0 || len(r.Name) == 0 {
					t.Fatalf("rtpmap %+v", r)
				}
				if got, ok := m.Format(r.PT); !ok || !reflect.DeepEqual(got, r) {
					t.Fatalf("Format(%d) = %+v, %v; rtpmap says %+v", r.PT, got, ok, r)
				}
			}
			if m.Conn.Addr.IsValid() && !m.Conn.Present() {
				t.Fatalf("media %d: address without a c= line", i)
			}
		}
		for _, sl := range slices(&s) {
			if !within(sl, b) {
				t.Fatalf("field %q does not alias the input", sl)
			}
		}
	})
}
