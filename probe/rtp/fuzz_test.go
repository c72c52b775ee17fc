package rtp

import (
	"encoding/binary"
	"testing"
)

// FuzzParseHeader checks that ParseHeader never panics, that what it
// accepts adds up (payload offset + payload + padding = packet) and agrees
// with LooksLikeRTP, and that a Stream takes any sequence of accepted
// headers, arriving at any times, without panicking or breaking its
// invariants. The committed seeds are in testdata/fuzz/FuzzParseHeader.
func FuzzParseHeader(f *testing.F) {
	f.Add(pkt(8, false, 1000, 160000, 0xdeadbeef, 0, -1, 160, 0))
	f.Add(pkt(111, true, 65535, 0xffffff00, 1, 2, 1, 40, 4))
	f.Add(pkt(101, true, 7, 8, 9, 0, -1, 4, 0))
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		err := ParseHeader(b, &h)
		if err != nil {
			if LooksLikeRTP(b) {
				t.Fatalf("LooksLikeRTP accepts what ParseHeader refuses: %v", err)
			}
			return
		}
		if h.PayloadOffset < HeaderLen || h.PayloadLen < 0 || h.PaddingLen < 0 || h.PayloadOffset+h.PayloadLen+h.PaddingLen != len(b) {
			t.Fatalf("lengths do not add up: %+v, %d bytes", h, len(b))
		}
		if pt := h.PayloadType; LooksLikeRTP(b) != (pt < 72 || pt > 76) {
			t.Fatalf("LooksLikeRTP disagrees for PT %d", pt)
		}
		// Replay the packet as a stream of variations: the bytes after the
		// header steer sequence, timestamp and arrival jumps.
		var s Stream
		s.Init(h.SSRC, 8000, Options{EventPT: 101, DetectEvents: true, DynamicPT: 111, WiresharkJitter: len(b)%2 == 0})
		at := int64(1e15)
		rest := b[HeaderLen:]
		for i := 0; i < 64; i++ {
			var step [4]byte
			if len(rest) > 0 {
				copy(step[:], rest)
				rest = rest[min(len(rest), 4):]
			}
			at += int64(int8(step[0]))*3000 + 20_000
			h.Seq += uint16(int8(step[1]))
			h.Timestamp += uint32(int16(binary.BigEndian.Uint16(step[2:4])))
			h.Marker = step[0]&1 != 0
			h.PayloadType ^= step[1] & 0x0d
			s.Add(at, &h, h.PayloadLen)
			if i%16 == 15 {
				_ = s.Interval()
			}
		}
		r := s.Snapshot()
		if r.Packets != 64 || r.Packets != r.Expected-r.Lost || r.MaxJitterMS < 0 || r.MaxJitterMS != r.MaxJitterMS ||
			r.MOS < 1 || r.MOS > 4.5 || r.MOSFixed > r.MOS || r.MOSAdaptive > r.MOS || r.LateFixed > r.Packets {
			t.Fatalf("inconsistent report: %+v", r)
		}
	})
}
