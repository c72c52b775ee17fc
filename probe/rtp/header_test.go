package rtp

import (
	"encoding/binary"
	"errors"
	"testing"
)

// pkt builds an RTP packet: fixed header, cc CSRCs, an optional extension
// of extWords words, payload bytes and pad padding octets.
func pkt(pt uint8, marker bool, seq uint16, ts, ssrc uint32, cc int, extWords int, payload int, pad int) []byte {
	b := make([]byte, 12, 12+4*cc+4+4*extWords+payload+pad)
	b[0] = 2<<6 | byte(cc)
	if extWords >= 0 {
		b[0] |= 0x10
	}
	if pad > 0 {
		b[0] |= 0x20
	}
	b[1] = pt
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	for i := range cc {
		b = binary.BigEndian.AppendUint32(b, 0xc0000000+uint32(i))
	}
	if extWords >= 0 {
		b = binary.BigEndian.AppendUint16(b, 0xbede) // RFC 8285 one-byte form
		b = binary.BigEndian.AppendUint16(b, uint16(extWords))
		b = append(b, make([]byte, 4*extWords)...)
	}
	for i := range payload {
		b = append(b, byte(0xd5+i))
	}
	if pad > 0 {
		b = append(b, make([]byte, pad-1)...)
		b = append(b, byte(pad))
	}
	return b
}

func TestParseHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want Header
	}{
		{"plain PCMA", pkt(8, false, 1000, 160000, 0xdeadbeef, 0, -1, 160, 0),
			Header{PayloadType: 8, Seq: 1000, Timestamp: 160000, SSRC: 0xdeadbeef, PayloadOffset: 12, PayloadLen: 160}},
		{"marker", pkt(0, true, 65535, 0xffffffff, 1, 0, -1, 160, 0),
			Header{Marker: true, PayloadType: 0, Seq: 65535, Timestamp: 0xffffffff, SSRC: 1, PayloadOffset: 12, PayloadLen: 160}},
		{"CSRCs", pkt(18, false, 7, 8, 9, 3, -1, 20, 0),
			Header{CSRCCount: 3, PayloadType: 18, Seq: 7, Timestamp: 8, SSRC: 9, PayloadOffset: 24, PayloadLen: 20}},
		{"extension", pkt(111, false, 7, 8, 9, 1, 2, 40, 0),
			Header{Extension: true, CSRCCount: 1, PayloadType: 111, Seq: 7, Timestamp: 8, SSRC: 9, ExtProfile: 0xbede, ExtLen: 8, PayloadOffset: 28, PayloadLen: 40}},
		{"empty extension", pkt(111, false, 7, 8, 9, 0, 0, 3, 0),
			Header{Extension: true, PayloadType: 111, Seq: 7, Timestamp: 8, SSRC: 9, ExtProfile: 0xbede, PayloadOffset: 16, PayloadLen: 3}},
		{"padding", pkt(8, false, 1, 2, 3, 0, -1, 160, 4),
			Header{Padding: true, PayloadType: 8, Seq: 1, Timestamp: 2, SSRC: 3, PayloadOffset: 12, PayloadLen: 160, PaddingLen: 4}},
		{"padding only", pkt(8, false, 1, 2, 3, 0, -1, 0, 1),
			Header{Padding: true, PayloadType: 8, Seq: 1, Timestamp: 2, SSRC: 3, PayloadOffset: 12, PaddingLen: 1}},
		{"header only", pkt(13, false, 1, 2, 3, 0, -1, 0, 0),
			Header{PayloadType: 13, Seq: 1, Timestamp: 2, SSRC: 3, PayloadOffset: 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Header
			// Parse twice into the same Header: no stale state survives.
			h.Padding, h.ExtLen, h.PaddingLen = true, 99, 99
			for range 2 {
				if err := ParseHeader(tc.b, &h); err != nil {
					t.Fatal(err)
				}
				if h != tc.want {
					t.Fatalf("got  %+v\nwant %+v", h, tc.want)
				}
			}
			if !LooksLikeRTP(tc.b) {
				t.Error("LooksLikeRTP false for a valid packet")
			}
		})
	}
}

func TestParseHeaderErrors(t *testing.T) {
	badVersion := pkt(8, false, 1, 2, 3, 0, -1, 10, 0)
	badVersion[0] = 1<<6 | badVersion[0]&0x3f
	zeroPad := pkt(8, false, 1, 2, 3, 0, -1, 10, 2)
	zeroPad[len(zeroPad)-1] = 0
	bigPad := pkt(8, false, 1, 2, 3, 0, -1, 10, 2)
	bigPad[len(bigPad)-1] = 11 + 2
	extOver := pkt(8, false, 1, 2, 3, 0, 1, 0, 0)
	extOver[15] = 2 // claims 2 words, has 1
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"11 bytes", pkt(8, false, 1, 2, 3, 0, -1, 0, 0)[:11], ErrShort},
		{"version 1 (SIP text)", []byte("INVITE sip:bob@example.com SIP/2.0\r\n"), ErrVersion},
		{"version 0 (STUN)", append([]byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42}, make([]byte, 12)...), ErrVersion},
		{"version 1", badVersion, ErrVersion},
		{"CSRC past end", pkt(8, false, 1, 2, 3, 2, -1, 0, 0)[:19], ErrCSRC},
		{"extension header past end", pkt(8, false, 1, 2, 3, 0, 0, 0, 0)[:14], ErrExtension},
		{"extension body past end", extOver, ErrExtension},
		{"zero padding count", zeroPad, ErrPadding},
		{"padding into header", bigPad, ErrPadding},
	} {
		var h Header
		if err := ParseHeader(tc.b, &h); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if LooksLikeRTP(tc.b) {
			t.Errorf("%s: LooksLikeRTP true", tc.name)
		}
	}
}

func TestLooksLikeRTP(t *testing.T) {
	// RTCP's SR..APP lose their top bit to the marker: PT 72-76.
	for pt := uint8(72); pt <= 76; pt++ {
		if b := pkt(pt, true, 1, 2, 3, 0, -1, 20, 0); LooksLikeRTP(b) {
			t.Errorf("PT %d (RTCP %d) looks like RTP", pt, 128+int(pt))
		}
	}
	// The rest, unassigned types included, pass as Wireshark's heuristic
	// lets them.
	for _, pt := range []uint8{0, 8, 13, 18, 35, 71, 77, 95, 96, 101, 127} {
		if b := pkt(pt, false, 1, 2, 3, 0, -1, 20, 0); !LooksLikeRTP(b) {
			t.Errorf("PT %d does not look like RTP", pt)
		}
	}
}

func TestParseHeaderAllocs(t *testing.T) {
	b := pkt(8, false, 1000, 160000, 0xdeadbeef, 2, 1, 160, 4)
	var h Header
	if n := testing.AllocsPerRun(100, func() {
		if ParseHeader(b, &h) != nil || !LooksLikeRTP(b) {
			t.Fatal("parse")
		}
		_ = ParseHeader(b[:5], &h)
	}); n != 0 {
		t.Errorf("%v allocations per parse", n)
	}
}
