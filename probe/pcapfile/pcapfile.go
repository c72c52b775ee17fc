// Package pcapfile reads pcap and pcapng capture files, telling them apart
// by their magic bytes, through gopacket's pure-Go pcapgo readers (no cgo,
// no libpcap). Gzip-compressed captures are read too.
package pcapfile

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Magic numbers, as the first four bytes read big-endian. A pcap file is
// written in its writer's byte order, so each pcap magic has two forms.
const (
	pcapMicroBE = 0xa1b2c3d4
	pcapMicroLE = 0xd4c3b2a1
	pcapNanoBE  = 0xa1b23c4d
	pcapNanoLE  = 0x4d3cb2a1
	pcapngSHB   = 0x0a0d0d0a // section header block type, the same in both orders
	gzipMagic   = 0x1f8b     // first two bytes only
)

// readBuf is large enough that reading from the page cache costs few
// syscalls per megabyte.
const readBuf = 256 << 10

// Reader reads packets from one capture file. It is not safe for concurrent
// use.
type Reader struct {
	path string
	f    *os.File
	cnt  *countingReader
	size int64
	pcap *pcapgo.Reader
	ng   *pcapgo.NgReader
}

// Open opens a pcap or pcapng file. Errors name the file; a file of another
// kind is reported as "not a pcap or pcapng capture".
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pcapfile: %w", err)
	}
	r, err := newReader(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func newReader(path string, f *os.File) (*Reader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("pcapfile: %w", err)
	}
	r := &Reader{path: path, f: f, cnt: &countingReader{r: f}, size: st.Size()}
	src := bufio.NewReaderSize(r.cnt, readBuf)
	magic, err := src.Peek(4)
	if len(magic) >= 2 && binary.BigEndian.Uint16(magic) == gzipMagic {
		gz, gerr := gzip.NewReader(src)
		if gerr != nil {
			return nil, fmt.Errorf("pcapfile: %s: %w", path, gerr)
		}
		src = bufio.NewReaderSize(gz, readBuf)
		magic, err = src.Peek(4)
	}
	if err != nil || len(magic) < 4 {
		return nil, fmt.Errorf("pcapfile: %s: not a pcap or pcapng capture (%d bytes)", path, len(magic))
	}
	switch m := binary.BigEndian.Uint32(magic); m {
	case pcapMicroBE, pcapMicroLE, pcapNanoBE, pcapNanoLE:
		r.pcap, err = pcapgo.NewReader(src)
	case pcapngSHB:
		// Mixed link types let one file hold, say, an Ethernet and a
		// cooked interface; each packet then carries its own.
		r.ng, err = pcapgo.NewNgReader(src, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
	default:
		return nil, fmt.Errorf("pcapfile: %s: not a pcap or pcapng capture (magic %08x)", path, m)
	}
	if err != nil {
		return nil, fmt.Errorf("pcapfile: %s: bad header: %w", path, err)
	}
	return r, nil
}

// Next returns the next packet, its capture time in microseconds since the
// Unix epoch and its link type, or io.EOF after the last one. data is valid
// only until the next call: it is the reader's buffer, reused
// (ZeroCopyReadPacketData).
func (r *Reader) Next() (data []byte, tsUS int64, linkType layers.LinkType, err error) {
	var ci gopacket.CaptureInfo
	if r.pcap != nil {
		data, ci, err = r.pcap.ZeroCopyReadPacketData()
		linkType = r.pcap.LinkType()
	} else {
		data, ci, err = r.ng.ZeroCopyReadPacketData()
		if len(ci.AncillaryData) > 0 {
			linkType, _ = ci.AncillaryData[0].(layers.LinkType)
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, 0, io.EOF
		}
		return nil, 0, 0, fmt.Errorf("pcapfile: %s: %w", r.path, err)
	}
	return data, ci.Timestamp.UnixMicro(), linkType, nil
}

// Size returns the file's size in bytes.
func (r *Reader) Size() int64 { return r.size }

// Offset returns how many bytes of the file have been read so far (ahead of
// the packets returned by up to the read buffer's size), for a progress line.
func (r *Reader) Offset() int64 { return r.cnt.n }

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
