// Package live captures packets from a network interface with AF_PACKET
// (gopacket's pure-Go afpacket: no cgo, no libpcap) and feeds them to the
// probe.
package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"

	"github.com/trunkscope/trunkscope/probe"
)

// Options select what to capture.
type Options struct {
	// BPF is a tcpdump filter expression ("udp port 5060 or portrange
	// 10000-20000"); empty captures everything.
	BPF string
	// BufferMB is the kernel ring size, default 32 MB: SIP bursts and a few
	// hundred RTP streams must not overflow it while the probe is busy.
	BufferMB int
}

// Source is an open capture on one interface.
type Source struct {
	// OnIdle, when set, is called from Run with the wall clock (Unix µs)
	// whenever no packet arrived for a poll interval (200 ms): time-driven
	// work downstream (media streams ending) must not wait for traffic.
	OnIdle func(tsUS int64)

	tp       *afpacket.TPacket
	iface    string
	loopback bool
	packets  atomic.Uint64
}

// Open starts capturing on iface.
func Open(iface string, o Options) (*Source, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("live: interface %q: %w", iface, err)
	}
	if o.BufferMB <= 0 {
		o.BufferMB = 32
	}
	const frame = 1 << 16 // a whole jumbo/GRO frame: SIP over TCP can be large
	const block = frame * 128
	blocks := max(o.BufferMB<<20/block, 1)
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(iface),
		afpacket.OptFrameSize(frame),
		afpacket.OptBlockSize(block),
		afpacket.OptNumBlocks(blocks),
		afpacket.OptPollTimeout(200*time.Millisecond),
		afpacket.TPacketVersion3,
	)
	if err != nil {
		return nil, fmt.Errorf("live: AF_PACKET on %s (needs root or CAP_NET_RAW): %w", iface, err)
	}
	s := &Source{tp: tp, iface: iface, loopback: ifi.Flags&net.FlagLoopback != 0}
	var prog []bpf.RawInstruction
	if o.BPF != "" {
		if prog, err = Compile(o.BPF); err != nil {
			tp.Close()
			return nil, err
		}
	}
	if s.loopback {
		prog = dropOutgoing(prog)
	}
	if prog != nil {
		if err := s.setFilter(prog); err != nil {
			tp.Close()
			return nil, fmt.Errorf("live: setting filter on %s: %w", iface, err)
		}
	}
	return s, nil
}

// setFilter attaches prog without letting through what the socket caught
// before it: the ring fills from the moment the socket is bound, unfiltered
// (and on loopback with both copies of every packet). As libpcap does, a
// drop-everything filter goes first, the ring is drained, then prog.
func (s *Source) setFilter(prog []bpf.RawInstruction) error {
	if err := s.tp.SetBPF([]bpf.RawInstruction{{Op: 0x06, K: 0}}); err != nil { // ret #0
		return err
	}
	for {
		if _, _, err := s.tp.ZeroCopyReadPacketData(); err != nil {
			if errors.Is(err, afpacket.ErrTimeout) || errors.Is(err, afpacket.ErrPoll) {
				break // empty: the poll timed out
			}
			return err
		}
	}
	return s.tp.SetBPF(prog)
}

// dropOutgoing prepends a guard to a filter (nil: accept all) that drops
// packets of type PACKET_OUTGOING. On loopback the kernel hands a packet
// socket every packet twice, once going out and once coming in; keeping the
// incoming copy counts it once. (Only on loopback: on a real interface the
// host's own outgoing packets are seen once, as outgoing, and must be kept.)
func dropOutgoing(prog []bpf.RawInstruction) []bpf.RawInstruction {
	const (
		skfAdPktType   = 0xfffff000 + 4 // SKF_AD_OFF + SKF_AD_PKTTYPE (linux/filter.h)
		packetOutgoing = 4              // PACKET_OUTGOING (linux/if_packet.h)
	)
	guard := []bpf.RawInstruction{
		{Op: 0x20, K: skfAdPktType},                 // ld [pkttype]
		{Op: 0x15, Jt: 0, Jf: 1, K: packetOutgoing}, // jeq #OUTGOING, next, skip 1
		{Op: 0x06, K: 0},                            // ret #0: drop
	}
	if prog == nil {
		prog = []bpf.RawInstruction{{Op: 0x06, K: 1 << 18}} // ret #262144: accept
	}
	return append(guard, prog...)
}

// Compile turns a tcpdump filter expression into classic BPF for an
// Ethernet-framed packet socket. It asks tcpdump (`tcpdump -ddd`), the
// reference compiler, rather than linking libpcap through cgo.
func Compile(expr string) ([]bpf.RawInstruction, error) {
	path, err := exec.LookPath("tcpdump")
	if err != nil {
		return nil, fmt.Errorf("live: --bpf needs tcpdump to compile the filter (apt-get install tcpdump, or ./scripts/setup --servers): %w", err)
	}
	out, err := exec.Command(path, "-ddd", "-y", "EN10MB", expr).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("live: filter %q: %s", expr, strings.TrimSpace(string(out)))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	n, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || n != len(lines)-1 {
		return nil, fmt.Errorf("live: filter %q: unexpected tcpdump output %q", expr, out)
	}
	prog := make([]bpf.RawInstruction, 0, n)
	for _, l := range lines[1:] {
		var op, jt, jf, k uint64
		if _, err := fmt.Sscan(l, &op, &jt, &jf, &k); err != nil {
			return nil, fmt.Errorf("live: filter %q: instruction %q: %w", expr, l, err)
		}
		prog = append(prog, bpf.RawInstruction{Op: uint16(op), Jt: uint8(jt), Jf: uint8(jf), K: uint32(k)})
	}
	return prog, nil
}

// Run reads packets until ctx is done and hands each to p. Sink errors stop
// the capture; everything else about a packet is counted by the probe.
// onStats, when not nil, gets a copy of the probe's counters about once a
// second from this goroutine (the probe is not safe to read elsewhere).
func (s *Source) Run(ctx context.Context, p *probe.Probe, sink probe.Sink, onStats func(probe.Stats)) error {
	next := time.Now()
	defer func() {
		if onStats != nil {
			onStats(p.Stats())
		}
	}()
	for ctx.Err() == nil {
		if onStats != nil && time.Now().After(next) {
			onStats(p.Stats())
			next = time.Now().Add(time.Second)
		}
		data, ci, err := s.tp.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, afpacket.ErrTimeout) || errors.Is(err, afpacket.ErrPoll) {
				if s.OnIdle != nil {
					s.OnIdle(time.Now().UnixMicro())
				}
				continue
			}
			return fmt.Errorf("live: reading %s: %w", s.iface, err)
		}
		s.packets.Add(1)
		if err := p.Packet(layers.LinkTypeEthernet, ci.Timestamp.UnixMicro(), data, sink); err != nil {
			return err
		}
	}
	return nil
}

// Stats reports what the kernel saw and dropped (ring overflow).
type Stats struct {
	Packets, KernelPackets, KernelDrops uint64
}

// Stats returns the capture counters.
func (s *Source) Stats() Stats {
	st := Stats{Packets: s.packets.Load()}
	if _, v3, err := s.tp.SocketStats(); err == nil {
		st.KernelPackets, st.KernelDrops = uint64(v3.Packets()), uint64(v3.Drops())
	}
	return st
}

// Close stops the capture.
func (s *Source) Close() { s.tp.Close() }
