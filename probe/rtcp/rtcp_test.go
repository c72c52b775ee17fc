package rtcp

import (
	"encoding/binary"
	"errors"
	"testing"
)

// rtcpPacket wraps a body in an RTCP header (RFC 3550 §6.4.1): version 2,
// the count, the type, the length in words minus one. pad > 0 appends
// padding with the P bit.
func rtcpPacket(pt uint8, count int, body []byte, pad int) []byte {
	if len(body)%4 != 0 {
		panic("body not word aligned")
	}
	b := []byte{2<<6 | byte(count), pt, 0, 0}
	b = append(b, body...)
	if pad > 0 {
		b[0] |= 0x20
		b = append(b, make([]byte, pad-1)...)
		b = append(b, byte(pad))
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)/4-1))
	return b
}

func u32s(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

// reportBlock encodes one report block; lost is the 24-bit field as sent.
func reportBlock(ssrc uint32, fraction uint8, lost uint32, ext, jitter, lsr, dlsr uint32) []byte {
	return u32s(ssrc, uint32(fraction)<<24|lost&0xffffff, ext, jitter, lsr, dlsr)
}

func srPacket() []byte {
	body := u32s(0x11111111, 0xe8000000, 0x80000000, 160000, 500, 80000)
	body = append(body, reportBlock(0x22222222, 12, 0xfffffe, 0x0001_0010, 37, 0x12345678, 65536)...)
	return rtcpPacket(TypeSR, 1, body, 0)
}

func rrPacket() []byte {
	body := u32s(0x33333333)
	body = append(body, reportBlock(0x11111111, 255, 0x7fffff, 70000, 800, 0, 0)...)
	body = append(body, reportBlock(0x44444444, 0, 3, 100, 4, 5, 6)...)
	return rtcpPacket(TypeRR, 2, body, 0)
}

func sdesPacket(cname string) []byte {
	body := u32s(0x11111111)
	body = append(body, 6, 3, 'x', 'y', 'z') // TOOL first: CNAME need not lead
	body = append(body, 1, byte(len(cname)))
	body = append(body, cname...)
	body = append(body, 0)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	return rtcpPacket(TypeSDES, 1, body, 0)
}

// voipBlock is an RFC 3611 §4.7 block with recognisable values.
func voipBlock(ssrc uint32) []byte {
	b := []byte{7, 0, 0, 8}
	b = binary.BigEndian.AppendUint32(b, ssrc)
	b = append(b, 13, 5, 64, 2) // loss, discard, burst density, gap density
	b = binary.BigEndian.AppendUint16(b, 120)
	b = binary.BigEndian.AppendUint16(b, 4000)
	b = binary.BigEndian.AppendUint16(b, 85)
	b = binary.BigEndian.AppendUint16(b, 60)
	b = append(b, 0xec, 0xb5, 127, 16) // signal -20 dBm, noise -75 dBm, RERL n/a, Gmin 16
	b = append(b, 88, 127, 42, 41)     // R 88, ext R n/a, MOS-LQ 4.2, MOS-CQ 4.1
	b = append(b, 3<<6|3<<4|7, 0)      // standard PLC, adaptive JB rate 7; reserved
	b = binary.BigEndian.AppendUint16(b, 40)
	b = binary.BigEndian.AppendUint16(b, 80)
	b = binary.BigEndian.AppendUint16(b, 200)
	return b
}

func xrPacket() []byte {
	body := u32s(0x33333333)
	body = append(body, 4, 0, 0, 2) // receiver reference time block (BT 4), skipped
	body = append(body, u32s(1, 2)...)
	body = append(body, voipBlock(0x11111111)...)
	return rtcpPacket(TypeXR, 0, body, 0)
}

func byePacket(pad int) []byte {
	body := u32s(0x11111111, 0x55555555)
	body = append(body, 3, 'b', 'y', 'e')
	return rtcpPacket(TypeBYE, 2, body, pad)
}

func cat(ps ...[]byte) []byte {
	var b []byte
	for _, p := range ps {
		b = append(b, p...)
	}
	return b
}

func TestParseCompound(t *testing.T) {
	app := rtcpPacket(TypeAPP, 1, append(u32s(0x11111111), "NAME"...), 0)
	b := cat(srPacket(), rrPacket(), sdesPacket("alice@10.0.0.1"), xrPacket(), app, byePacket(4))
	if !LooksLikeRTCP(b) {
		t.Fatal("LooksLikeRTCP false for a valid compound")
	}
	var c Compound
	// Parse twice into the same Compound: no stale state survives.
	c.NReports, c.HasCNAME, c.Dropped = 7, true, 9
	for range 2 {
		if err := Parse(b, &c); err != nil {
			t.Fatal(err)
		}
		if c.Packets != 6 || c.NSenders != 1 || c.NReports != 3 || c.NVoIP != 1 || c.NBye != 2 || c.Other != 1 || c.OtherXR != 1 || c.Dropped != 0 {
			t.Fatalf("counts: %+v", c)
		}
	}
	if want := (SenderInfo{SSRC: 0x11111111, NTP: 0xe8000000_80000000, RTPTime: 160000, Packets: 500, Octets: 80000}); c.Senders[0] != want {
		t.Errorf("sender info %+v", c.Senders[0])
	}
	wantBlocks := []ReportBlock{
		{Reporter: 0x11111111, SSRC: 0x22222222, FractionLost: 12, CumulativeLost: -2, ExtHighestSeq: 0x0001_0010, Jitter: 37, LSR: 0x12345678, DLSR: 65536},
		{Reporter: 0x33333333, SSRC: 0x11111111, FractionLost: 255, CumulativeLost: 0x7fffff, ExtHighestSeq: 70000, Jitter: 800},
		{Reporter: 0x33333333, SSRC: 0x44444444, CumulativeLost: 3, ExtHighestSeq: 100, Jitter: 4, LSR: 5, DLSR: 6},
	}
	for i, w := range wantBlocks {
		if c.Reports[i] != w {
			t.Errorf("block %d: %+v, want %+v", i, c.Reports[i], w)
		}
	}
	if !c.HasCNAME || c.CNAMESSRC != 0x11111111 || string(c.CNAME()) != "alice@10.0.0.1" {
		t.Errorf("CNAME %v %x %q", c.HasCNAME, c.CNAMESSRC, c.CNAME())
	}
	if !c.HasBye || c.Bye[0] != 0x11111111 || c.Bye[1] != 0x55555555 {
		t.Errorf("BYE %v %x", c.HasBye, c.Bye[:c.NBye])
	}
	v := c.VoIP[0]
	want := VoIPMetrics{Reporter: 0x33333333, SSRC: 0x11111111, LossRate: 13, DiscardRate: 5, BurstDensity: 64, GapDensity: 2,
		BurstDuration: 120, GapDuration: 4000, RoundTripDelay: 85, EndSystemDelay: 60, SignalLevel: -20, NoiseLevel: -75,
		RERL: 127, Gmin: 16, RFactor: 88, ExtRFactor: 127, MOSLQ: 42, MOSCQ: 41, RXConfig: 0xf7, JBNominal: 40, JBMax: 80, JBAbsMax: 200}
	if v != want {
		t.Errorf("VoIP metrics\n got %+v\nwant %+v", v, want)
	}
	if v.PLC() != 3 || v.JBAdaptive() != 3 || v.JBRate() != 7 {
		t.Errorf("RX config %d %d %d", v.PLC(), v.JBAdaptive(), v.JBRate())
	}
	if lq, cq, lqOK, cqOK := v.MOS(); lq != 4.2 || cq != 4.1 || !lqOK || !cqOK {
		t.Errorf("MOS %v %v %v %v", lq, cq, lqOK, cqOK)
	}
	v.MOSLQ = 127
	if _, _, ok, _ := v.MOS(); ok {
		t.Error("MOS-LQ 127 reported available")
	}
}

// TestParseReducedSize: RFC 5506 allows a lone packet that is not SR/RR.
func TestParseReducedSize(t *testing.T) {
	var c Compound
	if err := Parse(xrPacket(), &c); err != nil || c.NVoIP != 1 || c.Packets != 1 {
		t.Errorf("XR alone: %v %+v", err, c)
	}
	if err := Parse(rtcpPacket(TypeRR, 0, u32s(9), 0), &c); err != nil || c.NReports != 0 || c.Packets != 1 {
		t.Errorf("empty RR: %v", err)
	}
}

func TestParseCapacity(t *testing.T) {
	body := u32s(1)
	for i := range 31 {
		body = append(body, reportBlock(uint32(i), 0, 0, 0, 0, 0, 0)...)
	}
	rr := rtcpPacket(TypeRR, 31, body, 0)
	var c Compound
	if err := Parse(cat(rr, rr), &c); err != nil {
		t.Fatal(err)
	}
	if c.NReports != MaxReports || c.Dropped != 62-MaxReports || c.Reports[31].SSRC != 0 || c.Reports[30].SSRC != 30 {
		t.Errorf("62 blocks: kept %d, dropped %d", c.NReports, c.Dropped)
	}
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'a'
	}
	body = append(u32s(7), 1, 255)
	body = append(body, long[:255]...)
	body = append(body, 0)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	if err := Parse(rtcpPacket(TypeSDES, 1, body, 0), &c); err != nil || c.CNAMELen != 255 {
		t.Errorf("255-byte CNAME: %v, %d", err, c.CNAMELen)
	}
}

func TestParseErrors(t *testing.T) {
	sr := srPacket()
	badVersion := cat(srPacket(), rrPacket())
	badVersion[len(sr)] = 1<<6 | badVersion[len(sr)]&0x3f
	padNotLast := cat(byePacket(4), rrPacket())
	zeroPad := byePacket(4)
	zeroPad[len(zeroPad)-1] = 0
	bigPad := byePacket(4)
	bigPad[len(bigPad)-1] = 200
	emptyPadded := []byte{0xa0, TypeRR, 0, 0}
	srShort := rtcpPacket(TypeSR, 2, sr[4:], 0) // claims 2 blocks, has 1
	sdesOver := sdesPacket("bob@x")
	sdesOver[9] = 200 // the TOOL item's length runs past the packet
	sdesNoEnd := rtcpPacket(TypeSDES, 1, append(u32s(1), 1, 2, 'a', 'b'), 0)
	sdesChunks := rtcpPacket(TypeSDES, 2, sdesPacket("bob@x")[4:], 0) // SC 2, one chunk
	xrVoIP7 := xrPacket()
	xrVoIP7[len(xrVoIP7)-36+3] = 7 // VoIP Metrics block length 7, not 8
	xrOver := xrPacket()
	xrOver[len(xrOver)-36+3] = 9 // runs past the packet
	byeReason := rtcpPacket(TypeBYE, 1, append(u32s(1), 9, 'a', 'b', 'c'), 0)
	byeShort := rtcpPacket(TypeBYE, 3, u32s(1, 2), 0)
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"3 bytes", sr[:3], ErrTruncated},
		{"length past the end", sr[:len(sr)-4], ErrTruncated},
		{"trailing bytes", cat(sr, []byte{0x80, 0xc9}), ErrTruncated},
		{"version 1 in the second packet", badVersion, ErrVersion},
		{"padding not on the last packet", padNotLast, ErrPadding},
		{"padding count 0", zeroPad, ErrPadding},
		{"padding count past the packet", bigPad, ErrPadding},
		{"padding on an empty packet", emptyPadded, ErrPadding},
		{"SR shorter than its blocks", srShort, ErrLength},
		{"SDES item past the packet", sdesOver, ErrLength},
		{"SDES without end item", sdesNoEnd, ErrLength},
		{"SDES fewer chunks than SC", sdesChunks, ErrLength},
		{"XR VoIP block of 7 words", xrVoIP7, ErrLength},
		{"XR block past the packet", xrOver, ErrLength},
		{"BYE reason past the packet", byeReason, ErrLength},
		{"BYE fewer sources than SC", byeShort, ErrLength},
	} {
		var c Compound
		err := Parse(tc.b, &c)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		var e Error
		if err != nil && (!errors.As(err, &e) || e.Error() == "") {
			t.Errorf("%s: %T is not an rtcp.Error", tc.name, err)
		}
	}
}

func TestLooksLikeRTCP(t *testing.T) {
	rtp := []byte{0x80, 0x08, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 0xd5, 0xd5, 0xd5, 0xd5}
	rtpMarker200 := []byte{0x80, 0xc8, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4} // PT 72 + marker: length 1 word, but 12 bytes
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"SR", srPacket(), true},
		{"compound", cat(srPacket(), sdesPacket("a@b"), byePacket(0)), true},
		{"padded BYE", byePacket(8), true},
		{"XR alone", xrPacket(), true},
		{"RTP PCMA", rtp, false},
		{"RTP with RTCP-like second byte", rtpMarker200, false},
		{"trailing garbage", cat(srPacket(), []byte{1, 2, 3, 4}), false},
		{"short", srPacket()[:7], false},
		{"type 199", rtcpPacket(199, 0, u32s(1), 0), false},
		{"type 208", rtcpPacket(208, 0, u32s(1), 0), false},
		{"SIP", []byte("SIP/2.0 200 OK\r\n\r\n"), false},
	} {
		if got := LooksLikeRTCP(tc.b); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

func TestParseAllocs(t *testing.T) {
	b := cat(srPacket(), rrPacket(), sdesPacket("alice@10.0.0.1"), xrPacket(), byePacket(4))
	var c Compound
	if n := testing.AllocsPerRun(100, func() {
		if Parse(b, &c) != nil || !LooksLikeRTCP(b) {
			t.Fatal("parse")
		}
		if Parse(b[:len(b)-4], &c) == nil { // errors are constants: no allocation either
			t.Fatal("no error")
		}
	}); n != 0 {
		t.Errorf("%v allocations per parse", n)
	}
}
