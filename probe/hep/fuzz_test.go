package hep

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpora under testdata/fuzz")

type seed struct {
	name string
	in   []byte
}

// v3Seeds are FuzzDecodeV3's seeds: good packets of every shape, compressed
// ones included, and the error table's HEP3 inputs, which hold the edge
// cases heplify-server trips on (an exact "HEP3", length 0 and 65535,
// chunk lengths 0, 5 and past the end).
func v3Seeds(t testing.TB) []seed {
	s := []seed{
		{"HEP3-empty", hep3()},
		{"invite", mustAppend(t, sipPacket(invite))},
		{"200-ipv6-auth", mustAppend(t, &Packet{IPProto: 6, ProtoType: ProtoSIP, Src: pbx6, Dst: trk6, TimeUS: 1,
			AuthKey: []byte("k"), Payload: ok200})},
		{"invite-gzip", mustAppend(t, func() *Packet { p := sipPacket(invite); p.Compressed = true; return p }())},
		{"gzip-in-chunk", hep3(chunk(chunkProtoType, []byte{1}), chunk(chunkCompressed, gz(t, ok200)))},
		{"mixed-families", hep3(chunk(chunkSrcIPv4, []byte{1, 2, 3, 4}), chunk(chunkDstIPv6, make([]byte, 16)))},
		{"vendor-chunk", hep3(vchunk(3, 0x0f, []byte("x")), chunk(chunkPayload, []byte("y")))},
	}
	for _, tc := range decodeErrorCases(t) {
		if len(tc.in) > 0 && tc.in[0] == 'H' && len(tc.in) < 4096 {
			s = append(s, seed{"err-" + tc.name, tc.in})
		}
	}
	return s
}

// v2Seeds are FuzzDecodeV2's: v1 and v2 headers of both families, short
// ones, unknown families.
func v2Seeds(t testing.TB) []seed {
	s := []seed{
		{"v2-ipv4-invite", mustAppendV2(t, sipPacket(invite))},
		{"v2-ipv6-200", mustAppendV2(t, &Packet{IPProto: 6, Src: pbx6, Dst: trk6, TimeUS: 1, Payload: ok200})},
		{"v2-family-10-empty", v2(2, 10, 16, "")},
		{"v2-family-28", v2(2, 28, 16, "x")},
		{"v1-ipv4", v2(1, 2, 4, "SIP/2.0 200 OK\r\n")},
		{"v1-family-10", v2(1, 10, 16, "")},
	}
	for _, tc := range decodeErrorCases(t) {
		if len(tc.in) > 0 && tc.in[0] < 3 {
			s = append(s, seed{"err-" + tc.name, tc.in})
		}
	}
	return s
}

// writeCorpus rewrites testdata/fuzz/<name> from seeds when -update-corpus
// is given. Seeds are also added in code, so a plain `go test` runs them
// even where the directory is absent.
func writeCorpus(f *testing.F, name string, seeds []seed) {
	for _, s := range seeds {
		f.Add(s.in)
	}
	if !*updateCorpus {
		return
	}
	dir := filepath.Join("testdata", "fuzz", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		file := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			return '-'
		}, s.name)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s.in)
		if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
			f.Fatal(err)
		}
	}
}

func FuzzDecodeV3(f *testing.F) {
	writeCorpus(f, "FuzzDecodeV3", v3Seeds(f))
	var d Decoder
	f.Fuzz(func(t *testing.T, in []byte) {
		var p Packet
		err := d.Decode(in, &p)
		checkDecode(t, &d, in, &p, err)
		if err != nil || p.Version != 3 {
			return
		}
		if n, err := FrameLen(in); err != nil || n != len(in) {
			t.Fatalf("Decode accepted %d bytes, FrameLen says %d, %v", len(in), n, err)
		}
		// Re-encoding what was decoded must give it back; it may fail only
		// where Append refuses what Decode allows.
		b, err := Append(nil, &p)
		if err != nil {
			sa, da := p.Src.Addr(), p.Dst.Addr()
			if err == ErrTooLarge || (sa.IsValid() && da.IsValid() && sa.Is4() != da.Is4()) {
				return
			}
			t.Fatalf("Append(%s): %v", show(&p), err)
		}
		want := p
		want.Payload = append([]byte(nil), p.Payload...) // d's buffer is reused below
		var d2 Decoder
		var q Packet
		if err := d2.Decode(b, &q); err != nil {
			t.Fatalf("decode of re-encoded %s: %v", show(&want), err)
		}
		if !equalPacket(&q, &want) {
			t.Fatalf("round trip:\n got  %s\nwant %s", show(&q), show(&want))
		}
	})
}

func FuzzDecodeV2(f *testing.F) {
	writeCorpus(f, "FuzzDecodeV2", v2Seeds(f))
	var d Decoder
	f.Fuzz(func(t *testing.T, in []byte) {
		var p Packet
		err := d.Decode(in, &p)
		checkDecode(t, &d, in, &p, err)
		if err != nil || p.Version != 2 {
			return
		}
		b, err := AppendV2(nil, &p)
		if err != nil {
			t.Fatalf("AppendV2(%s): %v", show(&p), err)
		}
		var q Packet
		if err := d.Decode(b, &q); err != nil {
			t.Fatalf("decode of re-encoded %s: %v", show(&p), err)
		}
		if !equalPacket(&q, &p) {
			t.Fatalf("round trip:\n got  %s\nwant %s", show(&q), show(&p))
		}
	})
}

// checkDecode holds for every input: errors are the package's sentinels,
// and a decoded packet's slices point into the input (or, for an inflated
// payload, the decoder's buffer), never elsewhere.
func checkDecode(t *testing.T, d *Decoder, in []byte, p *Packet, err error) {
	t.Helper()
	if err != nil {
		if _, ok := err.(*Error); !ok || ReasonOf(err) == ReasonNone {
			t.Fatalf("error %v (%T) is not a sentinel", err, err)
		}
		return
	}
	if p.Version < 1 || p.Version > 3 {
		t.Fatalf("version %d", p.Version)
	}
	for name, s := range map[string][]byte{"auth": p.AuthKey, "corr": p.CorrelationID, "node": p.Node} {
		if !within(s, in) {
			t.Fatalf("%s does not alias the input", name)
		}
	}
	if p.Compressed {
		if !within(p.Payload, d.buf) || len(p.Payload) > MaxPayload {
			t.Fatalf("inflated payload of %d bytes outside the decoder's buffer", len(p.Payload))
		}
	} else if !within(p.Payload, in) {
		t.Fatal("payload does not alias the input")
	}
	if p.TimeUS < 0 || p.TimeUS > maxTimeUS {
		t.Fatalf("time %d", p.TimeUS)
	}
}
