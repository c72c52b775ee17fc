package pcapfile_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/trunkscope/trunkscope/probe/pcapfile"
)

// The packets every test file holds: arbitrary bytes, distinct lengths.
var (
	pkts = [][]byte{[]byte("first packet"), []byte("second, longer packet"), {0x80, 0, 1}}
	t0   = time.Date(2026, 1, 5, 9, 0, 0, 123456789, time.UTC)
)

func ts(i int) time.Time { return t0.Add(time.Duration(i) * 20 * time.Millisecond) }

func writePcap(t *testing.T, nanos bool) []byte {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if nanos {
		w = pcapgo.NewWriterNanos(&buf)
	}
	if err := w.WriteFileHeader(65535, layers.LinkTypeLinuxSLL); err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: ts(i), CaptureLength: len(p), Length: len(p)}
		if err := w.WritePacket(ci, p); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// swapPcap rewrites a little-endian pcap file as big-endian, as a SPARC or
// POWER machine would have written it.
func swapPcap(le []byte) []byte {
	be := bytes.Clone(le)
	swap32 := func(b []byte) { binary.BigEndian.PutUint32(b, binary.LittleEndian.Uint32(b)) }
	swap16 := func(b []byte) { binary.BigEndian.PutUint16(b, binary.LittleEndian.Uint16(b)) }
	swap32(be[0:4])
	swap16(be[4:6])
	swap16(be[6:8])
	for _, o := range []int{8, 12, 16, 20} {
		swap32(be[o : o+4])
	}
	for off := 24; off < len(be); {
		for _, o := range []int{0, 4, 8, 12} {
			swap32(be[off+o : off+o+4])
		}
		off += 16 + int(binary.BigEndian.Uint32(be[off+8:off+12]))
	}
	return be
}

func writePcapng(t *testing.T) []byte {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: ts(i), CaptureLength: len(p), Length: len(p)}
		if err := w.WritePacket(ci, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func file(t *testing.T, name string, b []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFormats(t *testing.T) {
	le := writePcap(t, false)
	leNanos := writePcap(t, true)
	for _, tc := range []struct {
		name  string
		data  []byte
		lt    layers.LinkType
		nanos bool
	}{
		{"pcap µs little-endian", le, layers.LinkTypeLinuxSLL, false},
		{"pcap µs big-endian", swapPcap(le), layers.LinkTypeLinuxSLL, false},
		{"pcap ns little-endian", leNanos, layers.LinkTypeLinuxSLL, true},
		{"pcap ns big-endian", swapPcap(leNanos), layers.LinkTypeLinuxSLL, true},
		{"pcapng", writePcapng(t), layers.LinkTypeEthernet, true},
		{"gzip pcap", gz(le), layers.LinkTypeLinuxSLL, false},
		{"gzip pcapng", gz(writePcapng(t)), layers.LinkTypeEthernet, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := file(t, "c", tc.data)
			r, err := pcapfile.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Size() != int64(len(tc.data)) {
				t.Errorf("Size = %d, want %d", r.Size(), len(tc.data))
			}
			for i, want := range pkts {
				data, tsUS, lt, err := r.Next()
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if !bytes.Equal(data, want) || lt != tc.lt || tsUS != ts(i).UnixMicro() {
					t.Errorf("packet %d: %q %v at %d, want %q %v at %d", i, data, lt, tsUS, want, tc.lt, ts(i).UnixMicro())
				}
			}
			if _, _, _, err := r.Next(); err != io.EOF {
				t.Errorf("after the last packet: %v, want io.EOF", err)
			}
			if r.Offset() != r.Size() {
				t.Errorf("Offset = %d at the end of a %d-byte file", r.Offset(), r.Size())
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		data       []byte
	}{
		{"text", "not a pcap or pcapng capture", []byte("hello, this is not a capture")},
		{"empty", "not a pcap or pcapng capture", nil},
		{"short", "not a pcap or pcapng capture", []byte{0xd4, 0xc3}},
		{"gzip of text", "not a pcap or pcapng capture", gz([]byte("plain text"))},
		{"cut pcap header", "bad header", writePcap(t, false)[:10]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := file(t, "x.cap", tc.data)
			_, err := pcapfile.Open(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Open = %v, want an error naming %s and saying %q", err, path, tc.want)
			}
		})
	}
	if _, err := pcapfile.Open(filepath.Join(t.TempDir(), "missing.pcap")); !errors.Is(err, os.ErrNotExist) ||
		!strings.Contains(err.Error(), "missing.pcap") {
		t.Errorf("missing file: %v", err)
	}
}

func TestCutShort(t *testing.T) {
	b := writePcap(t, false)
	r, err := pcapfile.Open(file(t, "cut.pcap", b[:len(b)-1]))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var n int
	for ; ; n++ {
		if _, _, _, err = r.Next(); err != nil {
			break
		}
	}
	if n != len(pkts)-1 || err == io.EOF || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("%d packets then %v; want %d then an unexpected-EOF error", n, err, len(pkts)-1)
	}
}

// TestNextAllocs: reading pcap and pcapng costs no allocation per packet.
func TestNextAllocs(t *testing.T) {
	const n = 2000
	var pc, ng bytes.Buffer
	w := pcapgo.NewWriter(&pc)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	nw, err := pcapgo.NewNgWriter(&ng, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		p := pkts[i%len(pkts)]
		ci := gopacket.CaptureInfo{Timestamp: ts(i), CaptureLength: len(p), Length: len(p)}
		w.WritePacket(ci, p)
		nw.WritePacket(ci, p)
	}
	nw.Flush()
	for name, data := range map[string][]byte{"many.pcap": pc.Bytes(), "many.pcapng": ng.Bytes()} {
		r, err := pcapfile.Open(file(t, name, data))
		if err != nil {
			t.Fatal(err)
		}
		r.Next() // the first read sizes the packet buffer
		if a := testing.AllocsPerRun(n/2, func() {
			if _, _, _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%s: %v allocations per packet, want 0", name, a)
		}
		r.Close()
	}
}
