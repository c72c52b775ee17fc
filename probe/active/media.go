package active

import (
	"context"
	"encoding/binary"
	"errors"
	"github.com/trunkscope/trunkscope/probe/g711"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/trunkscope/trunkscope/probe/mos"
	"github.com/trunkscope/trunkscope/probe/rtp"
)

// G.711 at 20 ms: 160 samples a packet on the 8000 Hz RTP clock.
const (
	packetSamples = 160
	packetTime    = 20 * time.Millisecond
	ptPCMU        = 0
	ptPCMA        = 8
)

// tone is one second of a 440 Hz sine at -10 dBFS, 8000 samples: the
// generated signal the probe sends. 440 whole periods fit in a second, so
// the table loops without a click.
var tone = func() [8000]int16 {
	var t [8000]int16
	for i := range t {
		t[i] = int16(0.316 * 32767 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	return t
}()

// media is one test call's RTP: the local socket, the far end from the
// SDP answer, and what was sent and received.
type media struct {
	conn   *net.UDPConn
	remote netip.AddrPort
	pt     uint8
	ssrc   uint32

	sent      int
	stream    rtp.Stream
	started   bool
	otherSSRC int
	mu        sync.Mutex
}

func newMedia(local netip.Addr) (*media, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0)))
	if err != nil {
		return nil, err
	}
	return &media{conn: c, ssrc: rand.Uint32()}, nil
}

func (m *media) port() uint16 { return uint16(m.conn.LocalAddr().(*net.UDPAddr).Port) }

func (m *media) close() error { return m.conn.Close() }

// run sends the tone every 20 ms to the far end and measures what comes
// back, until d has passed, stop is closed or ctx ends. The received stream
// goes through rtp.Stream with the passive probe's options (G.711 figures,
// no delay impairment), so its loss, jitter and MOS are computed exactly as
// for a captured stream.
func (m *media) run(ctx context.Context, d time.Duration, stop <-chan struct{}) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.receive()
	}()
	m.send(ctx, d, stop)
	// Packets still in flight (an echo is one round trip behind) get a
	// moment to arrive before the socket's read deadline ends reception.
	m.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	wg.Wait()
}

func (m *media) send(ctx context.Context, d time.Duration, stop <-chan struct{}) {
	var pkt [rtp.HeaderLen + packetSamples]byte
	pkt[0] = 0x80
	seq := uint16(rand.Uint32())
	ts := rand.Uint32()
	binary.BigEndian.PutUint32(pkt[8:12], m.ssrc)
	start := time.Now()
	n := int(d / packetTime)
	dst := net.UDPAddrFromAddrPort(m.remote)
	sample := 0
	for i := 0; i < n; i++ {
		pkt[1] = m.pt
		if i == 0 {
			pkt[1] |= 0x80 // marker: start of a talkspurt
		}
		binary.BigEndian.PutUint16(pkt[2:4], seq)
		binary.BigEndian.PutUint32(pkt[4:8], ts)
		for j := range packetSamples {
			s := tone[sample]
			if sample++; sample == len(tone) {
				sample = 0
			}
			if m.pt == ptPCMA {
				pkt[rtp.HeaderLen+j] = g711.ALaw(s)
			} else {
				pkt[rtp.HeaderLen+j] = g711.ULaw(s)
			}
		}
		if _, err := m.conn.WriteToUDP(pkt[:], dst); err == nil {
			m.mu.Lock()
			m.sent++
			m.mu.Unlock()
		}
		seq++
		ts += packetSamples
		// Paced against the start, not the previous packet, so the
		// sender's own scheduling delays do not accumulate into drift.
		next := start.Add(time.Duration(i+1) * packetTime)
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-time.After(time.Until(next)):
		}
	}
}

func (m *media) receive() {
	buf := make([]byte, 2048)
	var h rtp.Header
	for {
		n, _, err := m.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		now := time.Now().UnixMicro()
		if rtp.ParseHeader(buf[:n], &h) != nil {
			continue // RTCP or noise
		}
		if h.PayloadType >= 72 && h.PayloadType <= 76 {
			continue // RTCP that parses as RTP (RFC 5761 §4)
		}
		m.mu.Lock()
		if !m.started {
			m.started = true
			m.stream.Init(h.SSRC, 8000, rtp.Options{Codec: mos.G711()})
		}
		if h.SSRC == m.stream.SSRC() {
			m.stream.Add(now, &h, h.PayloadLen)
		} else {
			m.otherSSRC++
		}
		m.mu.Unlock()
	}
}

// report returns what was sent and the received stream's report.
func (m *media) report() (sent int, r rtp.Report, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started {
		return m.sent, rtp.Report{}, false
	}
	return m.sent, m.stream.Snapshot(), true
}
