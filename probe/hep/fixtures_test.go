package hep

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// crlf joins lines with CRLF; "" makes the blank line that ends the headers.
func crlf(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n")) }

const sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
	"m=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"

const callID = "a84b4c76e66710@pbx.example.com"

var (
	invite = crlf(
		"INVITE sip:+441234567890@trunk.example.net;user=phone SIP/2.0",
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds",
		"Max-Forwards: 70",
		`To: "Bob" <sip:+441234567890@trunk.example.net>`,
		`From: "Alice" <sip:alice@pbx.example.com>;tag=1928301774`,
		"Call-ID: "+callID,
		"CSeq: 314159 INVITE",
		"Contact: <sip:alice@192.0.2.10:5060>",
		"Content-Type: application/sdp",
		fmt.Sprintf("Content-Length: %d", len(sdp)),
		"",
		sdp)
	ok200 = crlf(
		"SIP/2.0 200 OK",
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds",
		`To: "Bob" <sip:+441234567890@trunk.example.net>;tag=a6c85cf`,
		`From: "Alice" <sip:alice@pbx.example.com>;tag=1928301774`,
		"Call-ID: "+callID,
		"CSeq: 314159 INVITE",
		"Contact: <sip:bob@198.51.100.20:5060>",
		"Content-Length: 0",
		"",
		"")
)

var (
	pbx   = netip.MustParseAddrPort("192.0.2.10:5060")
	trunk = netip.MustParseAddrPort("198.51.100.20:5060")
	pbx6  = netip.MustParseAddrPort("[2001:db8::10]:5060")
	trk6  = netip.MustParseAddrPort("[2001:db8::20]:5080")
)

// sipPacket is a typical Kamailio siptrace packet carrying msg.
func sipPacket(msg []byte) *Packet {
	return &Packet{
		Version:       3,
		IPProto:       17,
		ProtoType:     ProtoSIP,
		Src:           pbx,
		Dst:           trunk,
		TimeUS:        1_700_000_000_123_456,
		CaptureID:     2001,
		CorrelationID: []byte("corr-1"),
		Node:          []byte("edge-1"),
		Payload:       msg,
	}
}

func mustAppend(t testing.TB, p *Packet) []byte {
	t.Helper()
	b, err := Append(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustAppendV2(t testing.TB, p *Packet) []byte {
	t.Helper()
	b, err := AppendV2(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// equalPacket compares packets field by field, a nil slice equal to an
// empty one (the encoding does not tell them apart).
func equalPacket(a, b *Packet) bool {
	return a.Version == b.Version && a.IPProto == b.IPProto && a.ProtoType == b.ProtoType &&
		a.Compressed == b.Compressed && a.Src == b.Src && a.Dst == b.Dst && a.TimeUS == b.TimeUS &&
		a.CaptureID == b.CaptureID && bytes.Equal(a.AuthKey, b.AuthKey) &&
		bytes.Equal(a.CorrelationID, b.CorrelationID) && bytes.Equal(a.Node, b.Node) &&
		bytes.Equal(a.Payload, b.Payload)
}

func show(p *Packet) string {
	return fmt.Sprintf("{v%d proto %d type %d comp %v %v->%v t=%d capt %d auth %q corr %q node %q payload %d bytes %.40q}",
		p.Version, p.IPProto, p.ProtoType, p.Compressed, p.Src, p.Dst, p.TimeUS, p.CaptureID,
		p.AuthKey, p.CorrelationID, p.Node, len(p.Payload), p.Payload)
}

// Raw HEP3 building blocks, for inputs Append would never write.

// hep3 frames chunks with a correct total length.
func hep3(chunks ...[]byte) []byte {
	b := []byte("HEP3\x00\x00")
	for _, c := range chunks {
		b = append(b, c...)
	}
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)))
	return b
}

// chunk is a vendor-0 chunk with a correct length.
func chunk(typ uint16, v []byte) []byte { return vchunk(0, typ, v) }

func vchunk(vendor, typ uint16, v []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, vendor)
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(6+len(v)))
	return append(b, v...)
}

// rawChunk is a chunk whose length field says n whatever its value.
func rawChunk(typ uint16, n uint16, v []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, 0)
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, n)
	return append(b, v...)
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// v2 builds a HEP v2 header by hand: ver, family, then addresses of the
// family's size, then (for ver 2) the 12-byte time header.
func v2(ver, family byte, addrLen int, payload string) []byte {
	b := []byte{ver, byte(8 + 2*addrLen), family, 17, 0x13, 0xc4, 0x13, 0xc4}
	for i := range 2 * addrLen {
		b = append(b, byte(i+1))
	}
	if ver == 2 {
		b = binary.LittleEndian.AppendUint32(b, 1_700_000_000)
		b = binary.LittleEndian.AppendUint32(b, 42)
		b = binary.LittleEndian.AppendUint16(b, 7)
		b = append(b, 0, 0)
	}
	return append(b, payload...)
}
