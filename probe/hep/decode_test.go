package hep

import (
	"bytes"
	"compress/zlib"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"unsafe"
)

type decodeCase struct {
	name string
	in   []byte
	err  error
}

// decodeErrorCases are TestDecodeErrors' table; the fuzz targets take their
// inputs as seeds.
func decodeErrorCases(t testing.TB) []decodeCase {
	ip4 := []byte{192, 0, 2, 1}
	return []decodeCase{
		{"empty", nil, ErrNotHEP},
		{"one byte", []byte("H"), ErrNotHEP},
		{"HEP", []byte("HEP"), ErrNotHEP},
		{"HEP2", []byte("HEP2\x00\x06"), ErrNotHEP},
		{"version 0", []byte{0, 16, 2, 17, 0, 0, 0, 0}, ErrNotHEP},
		{"version 3 byte", []byte{3, 16, 2, 17, 0, 0, 0, 0}, ErrNotHEP},
		{"SIP text", invite, ErrNotHEP},
		// heplify-server slices [4:6] before checking: this one panics there.
		{"exact HEP3", []byte("HEP3"), ErrTruncated},
		{"HEP3 and one length byte", []byte("HEP3\x00"), ErrTruncated},
		{"HEP3 length 0", []byte("HEP3\x00\x00"), ErrBadLength},
		{"HEP3 length 5", []byte("HEP3\x00\x05"), ErrBadLength},
		{"HEP3 length 65535, 6 bytes", []byte("HEP3\xff\xff"), ErrTruncated},
		{"HEP3 length 7, 6 bytes", []byte("HEP3\x00\x07"), ErrTruncated},
		{"trailing bytes", append(hep3(chunk(chunkIPProto, []byte{17})), 0, 0), ErrBadLength},
		{"chunk header cut", hep3([]byte{0, 0, 0, 1}), ErrTruncated},
		{"chunk length 0", hep3(rawChunk(chunkIPProto, 0, []byte{17})), ErrBadChunk},
		{"chunk length 5", hep3(rawChunk(chunkIPProto, 5, []byte{17})), ErrBadChunk},
		{"chunk length 0 after a good one", hep3(chunk(chunkIPProto, []byte{17}), rawChunk(0x99, 0, nil)), ErrBadChunk},
		{"chunk length huge", hep3(rawChunk(chunkPayload, 0xffff, invite[:100])), ErrTruncated},
		{"chunk one byte past the end", hep3(rawChunk(chunkIPProto, 8, []byte{17})), ErrTruncated},
		{"IPv4 of 3 bytes", hep3(chunk(chunkSrcIPv4, ip4[:3])), ErrBadChunk},
		{"IPv4 of 16 bytes", hep3(chunk(chunkDstIPv4, make([]byte, 16))), ErrBadChunk},
		{"IPv6 of 4 bytes", hep3(chunk(chunkSrcIPv6, ip4)), ErrBadChunk},
		{"port of 4 bytes", hep3(chunk(chunkSrcPort, ip4)), ErrBadChunk},
		{"proto type of 2 bytes", hep3(chunk(chunkProtoType, []byte{0, 1})), ErrBadChunk},
		{"capture id of 2 bytes", hep3(chunk(chunkCaptureID, []byte{0, 1})), ErrBadChunk},
		{"time of 8 bytes", hep3(chunk(chunkTimeSec, make([]byte, 8))), ErrBadChunk},
		{"family empty", hep3(chunk(chunkFamily, nil)), ErrBadChunk},
		{"compressed garbage", hep3(chunk(chunkCompressed, []byte("not gzip at all"))), ErrGzip},
		{"compressed empty", hep3(chunk(chunkCompressed, nil)), ErrGzip},
		{"gzip cut", hep3(chunk(chunkCompressed, gz(t, invite)[:40])), ErrGzip},
		{"gzip bad checksum", hep3(chunk(chunkCompressed, corruptCRC(gz(t, invite)))), ErrGzip},
		{"gzip bomb", hep3(chunk(chunkCompressed, gz(t, make([]byte, 1<<20)))), ErrTooLarge},
		{"gzip one over the cap", hep3(chunk(chunkCompressed, gz(t, make([]byte, MaxPayload+1)))), ErrTooLarge},

		{"v2 one byte", []byte{2}, ErrTruncated},
		{"v2 7 bytes", []byte{2, 16, 2, 17, 0, 1, 0}, ErrTruncated},
		{"v2 family 7", v2(2, 7, 4, "x"), ErrBadFamily},
		{"v2 family 0", v2(2, 0, 4, "x"), ErrBadFamily},
		{"v2 header only, no time", v2(2, 2, 4, "")[:16], ErrTruncated},
		{"v2 time cut", v2(2, 2, 4, "")[:27], ErrTruncated},
		{"v2 family 10 with IPv4-sized addresses", v2(2, 10, 4, "")[:8+8+12], ErrTruncated},
		{"v2 family 10 cut", v2(2, 10, 16, "")[:51], ErrTruncated},
		{"v1 family 10 cut", v2(1, 10, 16, "")[:39], ErrTruncated},
	}
}

// corruptCRC flips a bit of the gzip trailer's CRC-32.
func corruptCRC(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-8] ^= 1
	return b
}

func TestDecodeErrors(t *testing.T) {
	var d Decoder
	for _, tc := range decodeErrorCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var p Packet
			err := d.Decode(tc.in, &p)
			if err != tc.err {
				t.Fatalf("Decode(%q) = %v, want %v", tc.in, err, tc.err)
			}
			if !errors.Is(err, tc.err) || ReasonOf(err) == ReasonNone {
				t.Errorf("error %v has reason %v", err, ReasonOf(err))
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	ip4 := []byte{192, 0, 2, 1}
	for _, tc := range []struct {
		name string
		in   []byte
		want Packet
	}{
		{"empty HEP3", hep3(), Packet{Version: 3}},
		{"unknown chunk skipped", hep3(chunk(0x99, []byte("whatever")), chunk(chunkProtoType, []byte{1})),
			Packet{Version: 3, ProtoType: 1}},
		{"zero-length string chunk", hep3(chunk(chunkNode, nil)), Packet{Version: 3}},
		// Vendor chunks carry their own types: a vendor's "0x03" is not an
		// IPv4 address and may be any size.
		{"vendor chunk skipped", hep3(vchunk(3, chunkSrcIPv4, ip4[:3]), vchunk(2, chunkPayload, []byte("no"))),
			Packet{Version: 3}},
		{"port without address", hep3(chunk(chunkSrcPort, []byte{0x13, 0xc4})),
			Packet{Version: 3, Src: netip.AddrPortFrom(netip.Addr{}, 5060)}},
		{"last of two chunks wins", hep3(chunk(chunkCaptureID, []byte{0, 0, 0, 1}), chunk(chunkCaptureID, []byte{0, 0, 0, 2})),
			Packet{Version: 3, CaptureID: 2}},
		{"time without microseconds", hep3(chunk(chunkTimeSec, []byte{0, 0, 0, 2})), Packet{Version: 3, TimeUS: 2_000_000}},
		{"v2 IPv4", v2(2, 2, 4, "SIP"), Packet{Version: 2, IPProto: 17, ProtoType: ProtoSIP,
			Src: netip.MustParseAddrPort("1.2.3.4:5060"), Dst: netip.MustParseAddrPort("5.6.7.8:5060"),
			TimeUS: 1_700_000_000_000_042, CaptureID: 7, Payload: []byte("SIP")}},
		{"v2 IPv6", v2(2, 10, 16, "SIP"), Packet{Version: 2, IPProto: 17, ProtoType: ProtoSIP,
			Src:    netip.MustParseAddrPort("[102:304:506:708:90a:b0c:d0e:f10]:5060"),
			Dst:    netip.MustParseAddrPort("[1112:1314:1516:1718:191a:1b1c:1d1e:1f20]:5060"),
			TimeUS: 1_700_000_000_000_042, CaptureID: 7, Payload: []byte("SIP")}},
		{"v2 IPv6 FreeBSD family", v2(2, 28, 16, ""), Packet{Version: 2, IPProto: 17, ProtoType: ProtoSIP,
			Src:    netip.MustParseAddrPort("[102:304:506:708:90a:b0c:d0e:f10]:5060"),
			Dst:    netip.MustParseAddrPort("[1112:1314:1516:1718:191a:1b1c:1d1e:1f20]:5060"),
			TimeUS: 1_700_000_000_000_042, CaptureID: 7}},
		{"v1 has no time header", v2(1, 2, 4, "SIP"), Packet{Version: 1, IPProto: 17, ProtoType: ProtoSIP,
			Src: netip.MustParseAddrPort("1.2.3.4:5060"), Dst: netip.MustParseAddrPort("5.6.7.8:5060"),
			Payload: []byte("SIP")}},
		{"v2 empty payload", v2(2, 2, 4, ""), Packet{Version: 2, IPProto: 17, ProtoType: ProtoSIP,
			Src: netip.MustParseAddrPort("1.2.3.4:5060"), Dst: netip.MustParseAddrPort("5.6.7.8:5060"),
			TimeUS: 1_700_000_000_000_042, CaptureID: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			var p Packet
			if err := d.Decode(tc.in, &p); err != nil {
				t.Fatal(err)
			}
			if !equalPacket(&p, &tc.want) {
				t.Errorf("got  %s\nwant %s", show(&p), show(&tc.want))
			}
		})
	}
}

// Decoding twice into the same Packet must leave nothing of the first.
func TestDecodeReuse(t *testing.T) {
	var d Decoder
	var p Packet
	if err := d.Decode(mustAppend(t, sipPacket(invite)), &p); err != nil {
		t.Fatal(err)
	}
	if err := d.Decode(hep3(chunk(chunkProtoType, []byte{5})), &p); err != nil {
		t.Fatal(err)
	}
	if want := (Packet{Version: 3, ProtoType: 5}); !equalPacket(&p, &want) {
		t.Errorf("got %s", show(&p))
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    *Packet
	}{
		{"SIP over UDP, IPv4", sipPacket(invite)},
		{"SIP over TCP, IPv6, auth", &Packet{Version: 3, IPProto: 6, ProtoType: ProtoSIP, Src: pbx6, Dst: trk6,
			TimeUS: 1, CaptureID: 1<<32 - 1, AuthKey: []byte("s3cret"), Payload: ok200}},
		{"IPv4-mapped IPv6", &Packet{Version: 3, IPProto: 17, ProtoType: ProtoSIP,
			Src: netip.MustParseAddrPort("[::ffff:192.0.2.1]:1"), Dst: netip.MustParseAddrPort("[::ffff:192.0.2.2]:2"), Payload: ok200}},
		{"only a destination", &Packet{Version: 3, ProtoType: ProtoSIP, Dst: trunk, Payload: ok200}},
		{"no addresses, no time", &Packet{Version: 3, ProtoType: ProtoLog, Payload: []byte("log line")}},
		{"RTCP JSON", &Packet{Version: 3, IPProto: 17, ProtoType: ProtoRTCPJSON, Src: pbx, Dst: trunk,
			TimeUS: 1_700_000_000_999_999, CorrelationID: []byte(callID), Payload: []byte(`{"type":200}`)}},
		{"compressed", func() *Packet { p := sipPacket(invite); p.Compressed = true; return p }()},
		{"compressed empty", &Packet{Version: 3, ProtoType: ProtoSIP, Compressed: true}},
		{"largest time", &Packet{Version: 3, TimeUS: maxTimeUS}},
		{"last second of 32-bit time", &Packet{Version: 3, TimeUS: (1<<32-1)*1e6 + 999_999}},
		{"largest payload", &Packet{Version: 3, ProtoType: ProtoSIP, Payload: bytes.Repeat([]byte("x"), MaxPacket-6-7-7-10-6)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mustAppend(t, tc.p)
			var d Decoder
			var got Packet
			if err := d.Decode(b, &got); err != nil {
				t.Fatal(err)
			}
			if !equalPacket(&got, tc.p) {
				t.Errorf("got  %s\nwant %s", show(&got), show(tc.p))
			}
		})
	}
}

func TestRoundTripV2(t *testing.T) {
	for _, p := range []*Packet{
		{Version: 2, IPProto: 17, ProtoType: ProtoSIP, Src: pbx, Dst: trunk, TimeUS: 1_700_000_000_123_456, CaptureID: 65535, Payload: invite},
		{Version: 2, IPProto: 6, ProtoType: ProtoSIP, Src: pbx6, Dst: trk6, TimeUS: 5, Payload: ok200},
	} {
		b := mustAppendV2(t, p)
		var d Decoder
		var got Packet
		if err := d.Decode(b, &got); err != nil {
			t.Fatal(err)
		}
		if !equalPacket(&got, p) {
			t.Errorf("got  %s\nwant %s", show(&got), show(p))
		}
	}
}

// The encoded bytes themselves, checked against the layout senders use, so
// that a symmetric mistake in Append and Decode cannot pass the round trip.
func TestAppendLayout(t *testing.T) {
	p := &Packet{IPProto: 17, ProtoType: ProtoSIP, Src: pbx, Dst: trunk, TimeUS: 3_000_004, CaptureID: 9, Payload: []byte("X")}
	want := hep3(
		chunk(chunkFamily, []byte{2}),
		chunk(chunkIPProto, []byte{17}),
		chunk(chunkSrcIPv4, []byte{192, 0, 2, 10}),
		chunk(chunkDstIPv4, []byte{198, 51, 100, 20}),
		chunk(chunkSrcPort, []byte{0x13, 0xc4}),
		chunk(chunkDstPort, []byte{0x13, 0xc4}),
		chunk(chunkTimeSec, []byte{0, 0, 0, 3}),
		chunk(chunkTimeUSec, []byte{0, 0, 0, 4}),
		chunk(chunkProtoType, []byte{1}),
		chunk(chunkCaptureID, []byte{0, 0, 0, 9}),
		chunk(chunkPayload, []byte("X")),
	)
	if got := mustAppend(t, p); !bytes.Equal(got, want) {
		t.Errorf("Append:\n got %x\nwant %x", got, want)
	}
	wantV2 := []byte{2, 16, 2, 17, 0x13, 0xc4, 0x13, 0xc4, 192, 0, 2, 10, 198, 51, 100, 20,
		3, 0, 0, 0, 4, 0, 0, 0, 9, 0, 0, 0, 'X'}
	if got := mustAppendV2(t, p); !bytes.Equal(got, wantV2) {
		t.Errorf("AppendV2:\n got %x\nwant %x", got, wantV2)
	}
}

func TestAppendErrors(t *testing.T) {
	big := &Packet{Payload: make([]byte, MaxPacket)}
	dst := []byte("keep")
	if got, err := Append(dst, big); err != ErrTooLarge || string(got) != "keep" {
		t.Errorf("oversized: %q, %v", got, err)
	}
	for name, p := range map[string]*Packet{
		"negative time":  {TimeUS: -1},
		"time past 2106": {TimeUS: maxTimeUS + 1},
		"mixed families": {Src: pbx, Dst: trk6},
	} {
		if got, err := Append(dst, p); err == nil || string(got) != "keep" {
			t.Errorf("Append %s: %q, %v", name, got, err)
		}
	}
	for name, p := range map[string]*Packet{
		"no source":      {Dst: trunk},
		"mixed families": {Src: pbx, Dst: trk6},
		"capture id":     {Src: pbx, Dst: trunk, CaptureID: 65536},
		"not SIP":        {Src: pbx, Dst: trunk, ProtoType: ProtoRTCPJSON},
		"negative time":  {Src: pbx, Dst: trunk, TimeUS: -1},
	} {
		if got, err := AppendV2(dst, p); err == nil || string(got) != "keep" {
			t.Errorf("AppendV2 %s: %q, %v", name, got, err)
		}
	}
}

func TestCompressed(t *testing.T) {
	var d Decoder
	var p Packet
	// gzip, and zlib, which the specification's "gzip/inflate" allows.
	var zb bytes.Buffer
	zw := zlib.NewWriter(&zb)
	zw.Write(invite)
	zw.Close()
	for name, z := range map[string][]byte{"gzip": gz(t, invite), "zlib": zb.Bytes()} {
		in := hep3(chunk(chunkProtoType, []byte{1}), chunk(chunkCompressed, z))
		for range 2 { // the second time through the reset readers
			if err := d.Decode(in, &p); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !p.Compressed || !bytes.Equal(p.Payload, invite) {
				t.Errorf("%s: payload %q", name, p.Payload)
			}
		}
	}
	// Exactly at the cap is accepted.
	in := hep3(chunk(chunkCompressed, gz(t, bytes.Repeat([]byte("a"), MaxPayload))))
	if err := d.Decode(in, &p); err != nil || len(p.Payload) != MaxPayload {
		t.Errorf("payload of MaxPayload: %d bytes, %v", len(p.Payload), err)
	}
	// A later plain payload chunk replaces a compressed one.
	in = hep3(chunk(chunkCompressed, []byte("junk")), chunk(chunkPayload, ok200))
	if err := d.Decode(in, &p); err != nil || p.Compressed || !bytes.Equal(p.Payload, ok200) {
		t.Errorf("plain after compressed: %v %s", err, show(&p))
	}
}

func TestFrameLen(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		err  error
		name string
	}{
		{"", 0, nil, "empty"},
		{"HE", 0, nil, "magic prefix"},
		{"HEP3\x00", 0, nil, "length cut"},
		{"HEP3\x01\x00", 256, nil, "length 256"},
		{"HEP3\xff\xffrest", 65535, nil, "length 65535"},
		{"HEP3\x00\x05", 0, ErrBadLength, "length 5"},
		{"HEX", 0, ErrNotHEP, "bad magic"},
		{"\x02\x10", 0, ErrNotHEP, "v2"},
		{"INVITE sip:", 0, ErrNotHEP, "SIP"},
	} {
		n, err := FrameLen([]byte(tc.in))
		if n != tc.n || err != tc.err {
			t.Errorf("%s: FrameLen = %d, %v; want %d, %v", tc.name, n, err, tc.n, tc.err)
		}
	}
}

// within reports whether s is empty or lies inside b.
func within(s, b []byte) bool {
	if len(s) == 0 {
		return true
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.SliceData(s))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= lo && p+uintptr(len(s)) <= lo+uintptr(len(b))
}

func TestDecodeAliases(t *testing.T) {
	in := mustAppend(t, sipPacket(invite))
	in = in[:len(in):len(in)] // no spare capacity to hide in
	var d Decoder
	var p Packet
	if err := d.Decode(in, &p); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string][]byte{"payload": p.Payload, "corr": p.CorrelationID, "node": p.Node} {
		if len(s) == 0 || !within(s, in) {
			t.Errorf("%s does not alias the input", name)
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	v3 := mustAppend(t, sipPacket(invite))
	v2b := mustAppendV2(t, sipPacket(invite))
	var d Decoder
	var p Packet
	for name, in := range map[string][]byte{"v3": v3, "v2": v2b, "error": []byte("HEP3")} {
		if n := testing.AllocsPerRun(1000, func() { d.Decode(in, &p) }); n != 0 {
			t.Errorf("%s: %v allocs per Decode, want 0", name, n)
		}
	}
	buf := make([]byte, 0, 2048)
	sp := sipPacket(invite)
	if n := testing.AllocsPerRun(1000, func() { buf, _ = Append(buf[:0], sp) }); n != 0 {
		t.Errorf("%v allocs per Append, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { buf, _ = AppendV2(buf[:0], sp) }); n != 0 {
		t.Errorf("%v allocs per AppendV2, want 0", n)
	}
}

func TestReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for r := ReasonNone; r < NumReasons; r++ {
		s := r.String()
		if s == "unknown" || seen[s] || strings.ToLower(s) != s {
			t.Errorf("reason %d: name %q", r, s)
		}
		seen[s] = true
	}
	if NumReasons.String() != "unknown" {
		t.Error("NumReasons has a name")
	}
	if ReasonOf(nil) != ReasonNone || ReasonOf(errors.New("x")) != ReasonNone {
		t.Error("ReasonOf of foreign errors")
	}
	if ReasonOf(errors.Join(errors.New("x"), ErrGzip)) != ReasonGzip {
		t.Error("ReasonOf of a wrapped error")
	}
}
