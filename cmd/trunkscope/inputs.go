package main

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/trunkscope/trunkscope/bus"
	"github.com/trunkscope/trunkscope/probe"
	"github.com/trunkscope/trunkscope/probe/live"
)

// inputs are the live sources a probe reads.
type inputs struct {
	iface, bpf string
}

func (in *inputs) register(fs *flag.FlagSet) {
	fs.StringVar(&in.iface, "iface", "", "capture SIP live on this interface (AF_PACKET; needs root or CAP_NET_RAW)")
	fs.StringVar(&in.bpf, "bpf", "", `capture filter, tcpdump syntax (e.g. "udp port 5060 or tcp port 5060"); compiled with tcpdump`)
}

func (in *inputs) any() bool { return in.iface != "" }

// startInputs opens every configured input and feeds it to one producer;
// each input has its own probe (a probe is single-threaded). The returned
// wait function ends when ctx is cancelled and every input stopped; the
// first input error cancels the rest through errc.
func startInputs(ctx context.Context, e *env, probeID string, in inputs, prod *bus.Producer) (wait func() error, err error) {
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	if in.iface != "" {
		src, err := live.Open(in.iface, live.Options{BPF: in.bpf})
		if err != nil {
			return nil, err
		}
		p, err := probe.New(probe.ProbeID(probeID))
		if err != nil {
			src.Close()
			return nil, err
		}
		e.log.Info("capturing", "component", "probe", "iface", in.iface, "filter", in.bpf)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer src.Close()
			if err := src.Run(ctx, p, prod); err != nil {
				errc <- fmt.Errorf("capture on %s: %w", in.iface, err)
			}
			st := src.Stats()
			ps := p.Stats()
			e.log.Info("capture stopped", "component", "probe", "iface", in.iface, "packets", st.Packets,
				"kernel_drops", st.KernelDrops, "sip", ps.SIPMessages, "dropped", ps.Dropped())
		}()
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
