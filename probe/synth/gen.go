// Package synth generates a synthetic SIP trunk capture together with the
// ground truth a correct CDR pipeline must reproduce from it.
package synth

import (
	"bufio"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
)

// generator is the state of one Generate run; nothing outlives it.
type generator struct {
	o          Options
	rng        *rand.Rand // arrivals, outcomes, trunks and per-call seeds
	pw         *packetWriter
	truth      *Truth
	platform   *host
	trunkHosts []*host
	// ourPrefixes are the numbers outbound calls present as caller.
	ourPrefixes []string
	// Forced leading assignments guarantee coverage in small captures.
	outcomeOrder []outcome
	trunkOrder   []int
	ports        portPool
	tones        [2][]byte
	sip          sipWriter
	rtpBuf       []byte
	nextUS       int64
	planned      int
	irng         *rand.Rand // incident draws, only with incidents
}

// Generate writes a capture of o.Calls calls to pcapOut and returns its
// ground truth. Output is a pure function of o.
func Generate(pcapOut io.Writer, o Options) (*Truth, error) {
	if pcapOut == nil {
		return nil, errors.New("synth: generate: nil writer")
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(pcapOut, 256<<10)
	g, err := newGenerator(bw, o)
	if err != nil {
		return nil, err
	}
	if err := g.run(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("synth: flush pcap: %w", err)
	}
	return g.truth, nil
}

func newGenerator(w io.Writer, o Options) (*generator, error) {
	pw, err := newPacketWriter(w)
	if err != nil {
		return nil, err
	}
	g := &generator{
		o:      o,
		rng:    rand.New(rand.NewPCG(uint64(o.Seed), 0x7472756e6b73636f)),
		pw:     pw,
		truth:  &Truth{Seed: o.Seed, Start: o.Start, Calls: make([]CallTruth, 0, o.Calls)},
		ports:  portPool{},
		tones:  [2][]byte{toneTable(400), toneTable(1000)},
		rtpBuf: make([]byte, rtpHeaderLen, rtpHeaderLen+rtpSamples),
		nextUS: o.Start.UnixMicro(),
	}
	// One host per IP so trunks sharing an address share MAC and IP IDs.
	hosts := map[netip.Addr]*host{}
	hostFor := func(a netip.Addr, ttl uint8) *host {
		if h, ok := hosts[a]; ok {
			return h
		}
		h := newHost(a, ttl)
		hosts[a] = h
		return h
	}
	// The capture is taken on the platform, so remote packets arrive with a
	// TTL already decremented by a few routers.
	g.platform = hostFor(o.Platform.Addr(), 64)
	for _, t := range o.Trunks {
		g.trunkHosts = append(g.trunkHosts, hostFor(t.Addr.Addr(), 57))
		if t.Direction == dirInbound {
			g.ourPrefixes = append(g.ourPrefixes, t.Prefixes...)
		}
	}
	if len(g.ourPrefixes) == 0 {
		g.ourPrefixes = []string{"3120555"}
	}
	if o.Calls >= int(numOutcomes) {
		for _, i := range g.rng.Perm(int(numOutcomes)) {
			g.outcomeOrder = append(g.outcomeOrder, outcome(i))
		}
	}
	if o.Calls >= len(o.Trunks) {
		g.trunkOrder = g.rng.Perm(len(o.Trunks))
	}
	return g, nil
}

// run merges the packet streams of all overlapping calls in timestamp order.
// Calls are planned only when their INVITE is due, so memory is bounded by
// the number of concurrent calls, not the size of the capture.
func (g *generator) run() error {
	h := &mergeHeap{}
	for {
		if g.planned < g.o.Calls && (h.Len() == 0 || g.nextUS <= (*h)[0].at) {
			if err := g.startCall(h); err != nil {
				return err
			}
			continue
		}
		if h.Len() == 0 {
			return nil
		}
		top := &(*h)[0]
		more, err := top.src.emit(g)
		if err != nil {
			return err
		}
		if more {
			top.at = top.src.at()
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
}

func (g *generator) startCall(h *mergeHeap) error {
	idx := g.planned
	out := randomOutcome(g.rng)
	if idx < len(g.outcomeOrder) {
		out = g.outcomeOrder[idx]
	}
	ti := g.rng.IntN(len(g.o.Trunks))
	if idx < len(g.trunkOrder) {
		ti = g.trunkOrder[idx]
	}
	out, loss := g.applyIncidents(out, ti, g.nextUS)
	c, ct, err := g.planCall(g.nextUS, out, ti, g.rng.Uint64())
	if err != nil {
		return fmt.Errorf("synth: plan call %d: %w", idx, err)
	}
	g.truth.Calls = append(g.truth.Calls, ct)
	g.planned++
	g.nextUS += int64(g.rng.ExpFloat64() * float64(sec) / g.o.CPS)

	heap.Push(h, entry{at: c.events[0].at, call: idx, rank: 0, src: &sipSource{c: c}})
	if out == outAnswered && !g.o.NoRTP {
		streams := [2]*rtpStream{
			newRTPStream(c.seed, 1, c.a, c.b, c.aMedia, c.bMedia, c.answerUS, c.byeUS, g.tones[0]),
			newRTPStream(c.seed, 2, c.b, c.a, c.bMedia, c.aMedia, c.answerUS, c.byeUS, g.tones[1]),
		}
		for i, s := range streams {
			s.setLoss(loss, c.seed, uint64(i))
			if s.n > 0 {
				heap.Push(h, entry{at: s.at(), call: idx, rank: i + 1, src: s})
			}
		}
	}
	return nil
}

// source is one time-ordered packet stream feeding the merge.
type source interface {
	at() int64
	// emit writes the pending packet and reports whether another follows.
	emit(g *generator) (bool, error)
}

type sipSource struct {
	c *call
	i int
}

func (s *sipSource) at() int64 { return s.c.events[s.i].at }

func (s *sipSource) emit(g *generator) (bool, error) {
	ev := s.c.events[s.i]
	src, dst, sport, dport := s.c.sender(ev.kind)
	if err := g.pw.write(ev.at, src, dst, sport, dport, g.sip.render(s.c, ev.kind)); err != nil {
		return false, err
	}
	g.truth.Packets++
	g.truth.SIPPackets++
	s.i++
	return s.i < len(s.c.events), nil
}

// entry ties equal timestamps by call then stream so output is deterministic.
type entry struct {
	at   int64
	call int
	rank int
	src  source
}

type mergeHeap []entry

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	a, b := &h[i], &h[j]
	if a.at != b.at {
		return a.at < b.at
	}
	if a.call != b.call {
		return a.call < b.call
	}
	return a.rank < b.rank
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(entry)) }
func (h *mergeHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = entry{} // drop the finished call for the GC
	*h = old[:len(old)-1]
	return e
}
