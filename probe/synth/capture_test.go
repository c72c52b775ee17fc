package synth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// packet is one decoded capture record, checked only through public
// gopacket decoders so the test does not trust the generator's own code.
type packet struct {
	us      int64
	src     string // ip:port
	dst     string
	sip     *sipMsg
	payload []byte
}

func generate(t testing.TB, o Options) ([]byte, *Truth) {
	t.Helper()
	var buf bytes.Buffer
	tr, err := Generate(&buf, o)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return buf.Bytes(), tr
}

// readCapture decodes every record and fails on anything a strict receiver
// would drop: bad framing, bad checksums or out-of-order timestamps.
func readCapture(t *testing.T, data []byte) []packet {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("pcap reader: %v", err)
	}
	if r.LinkType() != layers.LinkTypeEthernet || r.Snaplen() != 65535 {
		t.Fatalf("link type %v snaplen %d", r.LinkType(), r.Snaplen())
	}
	var (
		eth     layers.Ethernet
		ip      layers.IPv4
		udp     layers.UDP
		decoded []gopacket.LayerType
		pkts    []packet
		last    int64
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip, &udp)
	parser.IgnoreUnsupported = true
	for i := 0; ; i++ {
		raw, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return pkts
		}
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if err := parser.DecodeLayers(raw, &decoded); err != nil || len(decoded) != 3 {
			t.Fatalf("packet %d: decoded %v: %v", i, decoded, err)
		}
		us := ci.Timestamp.UnixMicro()
		if us < last {
			t.Fatalf("packet %d at %d precedes previous at %d", i, us, last)
		}
		last = us
		if got := onesSum(0, raw[14:14+int(ip.IHL)*4]); got != 0xffff {
			t.Fatalf("packet %d: bad IPv4 header checksum (sum %#x)", i, got)
		}
		if udp.Checksum == 0 || udpSum(&ip, raw[14+int(ip.IHL)*4:]) != 0xffff {
			t.Fatalf("packet %d: bad UDP checksum %#x", i, udp.Checksum)
		}
		if int(udp.Length) != 8+len(udp.Payload) {
			t.Fatalf("packet %d: UDP length %d for %d payload bytes", i, udp.Length, len(udp.Payload))
		}
		p := packet{
			us:      us,
			src:     ip.SrcIP.String() + ":" + strconv.Itoa(int(udp.SrcPort)),
			dst:     ip.DstIP.String() + ":" + strconv.Itoa(int(udp.DstPort)),
			payload: append([]byte(nil), udp.Payload...),
		}
		if bytes.HasPrefix(p.payload, []byte("SIP/2.0 ")) || udp.SrcPort == 5060 || udp.DstPort == 5060 {
			m := parseSIP(t, p.payload)
			p.sip = &m
		}
		pkts = append(pkts, p)
	}
}

func onesSum(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return sum
}

func udpSum(ip *layers.IPv4, seg []byte) uint32 {
	pseudo := make([]byte, 0, 12)
	pseudo = append(pseudo, ip.SrcIP.To4()...)
	pseudo = append(pseudo, ip.DstIP.To4()...)
	pseudo = append(pseudo, 0, byte(layers.IPProtocolUDP))
	pseudo = binary.BigEndian.AppendUint16(pseudo, uint16(len(seg)))
	return onesSum(onesSum(0, pseudo), seg)
}

type sipMsg struct {
	method  string // "" for responses
	code    int
	uri     string
	headers map[string]string // lower-case name -> first value
	body    string
}

// key is the truth bucket of the message, as CallTruth.SIPMessages uses.
func (m *sipMsg) key() string {
	if m.method != "" {
		return m.method
	}
	return strconv.Itoa(m.code)
}

func (m *sipMsg) cseqMethod() string {
	f := strings.Fields(m.headers["cseq"])
	if len(f) != 2 {
		return ""
	}
	return f[1]
}

func parseSIP(t *testing.T, b []byte) sipMsg {
	t.Helper()
	head, body, ok := strings.Cut(string(b), "\r\n\r\n")
	if !ok {
		t.Fatalf("SIP message without header end: %q", b)
	}
	lines := strings.Split(head, "\r\n")
	m := sipMsg{headers: map[string]string{}, body: body}
	f := strings.SplitN(lines[0], " ", 3)
	if len(f) != 3 {
		t.Fatalf("bad start line %q", lines[0])
	}
	if f[0] == "SIP/2.0" {
		code, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("bad status line %q", lines[0])
		}
		m.code = code
	} else {
		if f[2] != "SIP/2.0" {
			t.Fatalf("bad request line %q", lines[0])
		}
		m.method, m.uri = f[0], f[1]
	}
	for _, l := range lines[1:] {
		name, val, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("bad header line %q", l)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := m.headers[name]; !dup {
			m.headers[name] = strings.TrimSpace(val)
		}
	}
	if cl, err := strconv.Atoi(m.headers["content-length"]); err != nil || cl != len(body) {
		t.Fatalf("Content-Length %q for %d body bytes", m.headers["content-length"], len(body))
	}
	return m
}

// sdpMedia returns the connection address and audio port of an SDP body.
func sdpMedia(t *testing.T, body string) string {
	t.Helper()
	var ip, port string
	for _, l := range strings.Split(body, "\r\n") {
		if v, ok := strings.CutPrefix(l, "c=IN IP4 "); ok {
			ip = v
		}
		if v, ok := strings.CutPrefix(l, "m=audio "); ok {
			port = strings.Fields(v)[0]
		}
	}
	if ip == "" || port == "" {
		t.Fatalf("SDP without c= or m=audio: %q", body)
	}
	return ip + ":" + port
}
