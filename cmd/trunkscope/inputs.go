package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/hep"
	"github.com/trunkscope/trunkscope/probe/live"
	"github.com/trunkscope/trunkscope/probe/mediatrack"
)

// inputs are the live sources a probe reads.
type inputs struct {
	iface, bpf         string
	hepListen, hepAuth string
}

func (in *inputs) register(fs *flag.FlagSet) {
	fs.StringVar(&in.iface, "iface", "", "capture SIP live on this interface (AF_PACKET; needs root or CAP_NET_RAW)")
	fs.StringVar(&in.bpf, "bpf", "", `capture filter, tcpdump syntax (e.g. "udp port 5060 or tcp port 5060"); compiled with tcpdump`)
	fs.StringVar(&in.hepListen, "hep-listen", "", "receive HEP (v3 over UDP and TCP, v2 over UDP) on this address, e.g. 0.0.0.0:9060")
	fs.StringVar(&in.hepAuth, "hep-auth-key", "", "accept only HEP packets carrying this auth key (chunk 0x0e); others are counted and dropped")
}

func (in *inputs) any() bool { return in.iface != "" || in.hepListen != "" }

// startInputs opens every configured input and feeds it to one producer;
// each input has its own probe (a probe is single-threaded). The returned
// wait function ends when ctx is cancelled and every input stopped; the
// first input error cancels the rest through errc.
func startInputs(ctx context.Context, e *env, probeID string, in inputs, prod *bus.Producer, m *metrics) (wait func() error, err error) {
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	if in.iface != "" {
		src, err := live.Open(in.iface, live.Options{BPF: in.bpf})
		if err != nil {
			return nil, err
		}
		tracker, err := mediatrack.New(prod, mediatrack.ProbeID(probeID))
		if err != nil {
			src.Close()
			return nil, err
		}
		p, err := probe.New(probe.ProbeID(probeID), probe.Media(tracker))
		if err != nil {
			src.Close()
			return nil, err
		}
		src.OnIdle = tracker.Advance
		e.log.Info("capturing", "component", "probe", "iface", in.iface, "filter", in.bpf)
		var smu sync.Mutex
		var snap probe.Stats
		input := "iface:" + in.iface
		m.add(func(w io.Writer) {
			smu.Lock()
			st := snap
			smu.Unlock()
			writeProbe(w, input, st)
			ls := src.Stats()
			fmt.Fprintf(w, "# TYPE trunkscope_capture_kernel_drops_total counter\ntrunkscope_capture_kernel_drops_total{input=%q} %d\n", input, ls.KernelDrops)
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer src.Close()
			if err := src.Run(ctx, p, prod, func(st probe.Stats) { smu.Lock(); snap = st; smu.Unlock() }); err != nil {
				errc <- fmt.Errorf("capture on %s: %w", in.iface, err)
			}
			// Streams still running when capture stops get their final
			// report now (the producer flushes them on close).
			if err := tracker.Flush(); err != nil {
				errc <- fmt.Errorf("capture on %s: media reports: %w", in.iface, err)
			}
			st := src.Stats()
			ps := p.Stats()
			e.log.Info("capture stopped", "component", "probe", "iface", in.iface, "packets", st.Packets,
				"kernel_drops", st.KernelDrops, "sip", ps.SIPMessages, "dropped", ps.Dropped())
		}()
	}
	if in.hepListen != "" {
		if err := startHEP(ctx, e, probeID, in, prod, &wg, errc, m); err != nil {
			return nil, err
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		prod.FlushEvery(ctx, 100*time.Millisecond, func(err error) {
			e.log.Warn("publishing events failed; will retry", "component", "probe", "err", err)
		})
	}()
	return func() error {
		wg.Wait()
		close(errc)
		return <-errc
	}, nil
}

// startHEP listens for HEP and feeds SIP payloads to a probe of their own
// through Probe.Payload, so HEP messages get the same scanning,
// retransmission marking and counters as captured ones. The server reads
// UDP and each TCP connection on goroutines of their own; a probe is
// single-threaded, hence the lock.
func startHEP(ctx context.Context, e *env, probeID string, in inputs, prod *bus.Producer, wg *sync.WaitGroup, errc chan<- error, m *metrics) error {
	p, err := probe.New(probe.ProbeID(probeID))
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var other, rtcpN uint64
	ids := event.NewIDHasher()
	handle := func(pk *hep.Packet) error {
		if pk.ProtoType == hep.ProtoRTCPJSON {
			// RTCP as JSON (heplify, Kamailio, rtpengine, Asterisk): the
			// correlation ID is the call's Call-ID.
			mu.Lock()
			defer mu.Unlock()
			rtcpN++
			ev := event.RTCP{Header: event.Header{Version: event.Version, ProbeID: []byte(probeID), TimeUS: pk.TimeUS},
				CallID: pk.CorrelationID, Src: pk.Src, Dst: pk.Dst, Format: event.RTCPJSON, Raw: pk.Payload}
			ids.SetRTCPID(&ev)
			return prod.RTCP(&ev)
		}
		if pk.ProtoType != hep.ProtoSIP {
			mu.Lock()
			other++ // logs and other types: counted
			mu.Unlock()
			return nil
		}
		tr := event.TransportUDP
		switch pk.IPProto {
		case 6:
			tr = event.TransportTCP
		case 132:
			tr = event.TransportSCTP
		}
		meta := probe.Meta{CorrelationID: pk.CorrelationID, Node: pk.Node, CaptureID: pk.CaptureID, Flags: event.FlagHEP}
		mu.Lock()
		defer mu.Unlock()
		return p.Payload(pk.TimeUS, pk.Src, pk.Dst, tr, pk.Payload, meta, prod)
	}
	var opts []hep.Opt
	if in.hepAuth != "" {
		opts = append(opts, hep.AuthKey(in.hepAuth))
	}
	srv, err := hep.Listen(ctx, in.hepListen, handle, opts...)
	if err != nil {
		return fmt.Errorf("HEP listener on %s: %w", in.hepListen, err)
	}
	e.log.Info("receiving HEP", "component", "probe", "udp", srv.UDPAddr(), "tcp", srv.TCPAddr(), "auth", in.hepAuth != "")
	m.add(func(w io.Writer) {
		mu.Lock()
		st, n := p.Stats(), other
		mu.Unlock()
		writeProbe(w, "hep", st)
		hs := srv.Stats()
		for _, c := range hs.Counters() {
			fmt.Fprintf(w, "# TYPE trunkscope_hep_%[1]s_total counter\ntrunkscope_hep_%[1]s_total %[2]d\n", c.Name, c.Value)
		}
		sample(w, "trunkscope_hep_not_sip_total", "counter", n)
		mu.Lock()
		sample(w, "trunkscope_hep_rtcp_total", "counter", rtcpN)
		mu.Unlock()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ctx); err != nil && ctx.Err() == nil {
			errc <- fmt.Errorf("HEP listener: %w", err)
		}
		st := srv.Stats()
		mu.Lock()
		ps := p.Stats()
		mu.Unlock()
		e.log.Info("HEP stopped", "component", "probe", "received", st.Received.Load(), "accepted", st.Accepted.Load(),
			"sip", ps.SIPMessages, "not_sip", other, "dropped", ps.Dropped())
	}()
	return nil
}
